"""tf.distribute strategy selection for the Trainer (`distribution_strategy` in TrainerConfig).

auto          MultiWorkerMirrored when TF_CONFIG names more than one worker, Mirrored on 2+ GPUs,
              otherwise the default (single-device) strategy
mirrored      MirroredStrategy over all local GPUs (or the CPU when there are none)
multi_worker  MultiWorkerMirroredStrategy; workers and their index come from TF_CONFIG
none          the default strategy

With several workers every worker runs the whole of run_fn (TF_CONFIG says which one it is; Vertex AI's
worker pools set it for each replica). All of them take part in saving, because saving reads mirrored
variables collectively, but only the chief writes where others look: checkpoints, TensorBoard, the exported
model. The others write to a temporary directory that is removed at the end (`WorkerRole`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from typing import Mapping, Optional, Tuple

STRATEGIES = ("auto", "mirrored", "multi_worker", "none")


def choose_strategy(name: str, tf_config: Optional[str], num_gpus: int) -> str:
    """Resolves "auto" to a concrete strategy name (pure: environment passed in)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown distribution_strategy={name!r}; choose one of {STRATEGIES}")
    if name != "auto":
        return name
    cluster: Mapping = _parsed(tf_config).get("cluster", {})
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


def _parsed(tf_config: Optional[str]) -> Mapping:
    return json.loads(tf_config) if tf_config else {}


def task_of(tf_config: Optional[str]) -> Tuple[str, int]:
    """(task type, index) from TF_CONFIG; ("chief", 0) when there is none (a single process)."""
    task = _parsed(tf_config).get("task", {})
    return task.get("type") or "chief", int(task.get("index", 0))


def is_chief(tf_config: Optional[str]) -> bool:
    """The chief writes the outputs: task "chief", or worker 0 when the cluster has no chief (TF's rule)."""
    task_type, index = task_of(tf_config)
    cluster: Mapping = _parsed(tf_config).get("cluster", {})
    return task_type == "chief" or (task_type == "worker" and index == 0 and not cluster.get("chief"))


@dataclasses.dataclass
class WorkerRole:
    """Where this process writes: the real output paths on the chief, a private temp dir elsewhere."""
    chief: bool
    name: str          # e.g. "worker-1", for log lines
    scratch: Optional[str] = None  # non-chief: the temporary directory to remove at the end

    @classmethod
    def from_environment(cls) -> "WorkerRole":
        tf_config = os.environ.get("TF_CONFIG")
        task_type, index = task_of(tf_config)
        chief = is_chief(tf_config)
        scratch = None if chief else tempfile.mkdtemp(prefix=f"yt8m-{task_type}-{index}-")
        return cls(chief=chief, name=f"{task_type}-{index}", scratch=scratch)

    def output_path(self, path: str, label: str) -> str:
        """path on the chief; on another worker a directory under its scratch space."""
        return path if self.chief else os.path.join(self.scratch, label)

    def clean_up(self):
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
