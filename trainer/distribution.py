"""tf.distribute strategy selection for the Trainer (`distribution_strategy` in TrainerConfig).

auto          MultiWorkerMirrored when TF_CONFIG names more than one worker, Mirrored on 2+ GPUs,
              otherwise the default (single-device) strategy
mirrored      MirroredStrategy over all local GPUs (or the CPU when there are none)
multi_worker  MultiWorkerMirroredStrategy; workers and their index come from TF_CONFIG
none          the default strategy
"""
from __future__ import annotations

import json
import os
from typing import Mapping, Optional

STRATEGIES = ("auto", "mirrored", "multi_worker", "none")


def choose_strategy(name: str, tf_config: Optional[str], num_gpus: int) -> str:
    """Resolves "auto" to a concrete strategy name (pure: environment passed in)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown distribution_strategy={name!r}; choose one of {STRATEGIES}")
    if name != "auto":
        return name
    cluster: Mapping = json.loads(tf_config).get("cluster", {}) if tf_config else {}
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    if workers > 1:
        return "multi_worker"
    return "mirrored" if num_gpus > 1 else "none"


def make_strategy(name: str):
    import tensorflow as tf
    resolved = choose_strategy(name, os.environ.get("TF_CONFIG"), len(tf.config.list_physical_devices("GPU")))
    if resolved == "mirrored":
        return tf.distribute.MirroredStrategy()
    if resolved == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()
