"""Model registry: the starter code's `--model` names mapped to tf_keras model builders.

A builder takes (input_sizes: {transformed feature name: per-step size}, num_classes, hparams) and
returns an uncompiled tf_keras.Model whose inputs are those features and whose output is
per-class probabilities in [0, 1]. A new model is one file plus one line here.
"""
from __future__ import annotations

from typing import Callable, Dict

from trainer.models import frame_level, video_level, vlad

MODELS: Dict[str, Callable] = {
    "LogisticModel": video_level.logistic_model,
    "MoeModel": video_level.moe_model,
    "FrameLevelLogisticModel": frame_level.frame_level_logistic_model,
    "DbofModel": frame_level.dbof_model,
    "LstmModel": frame_level.lstm_model,
    "NetVLADModel": vlad.netvlad_model,
    "NeXtVLADModel": vlad.nextvlad_model,
}
# Models whose inputs are [max_frames, size] per feature plus num_frames (trainer/models/frame_level.py).
FRAME_LEVEL_MODELS = frozenset({"FrameLevelLogisticModel", "DbofModel", "LstmModel", "NetVLADModel", "NeXtVLADModel"})


def get_model_builder(name: str) -> Callable:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown --model={name!r}; choose one of {sorted(MODELS)}") from None


def is_frame_level(name: str) -> bool:
    get_model_builder(name)
    return name in FRAME_LEVEL_MODELS
