"""Model registry: the starter code's `--model` names mapped to everything about each model.

A builder takes (input_sizes: {transformed feature name: per-step size}, num_classes, hparams) and
returns an uncompiled tf_keras.Model whose inputs are those features and whose output is per-class
probabilities in [0, 1] from a sigmoid over log-odds (video_level.logistic_head / moe_head).
A new model is one file plus one line here.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Mapping, Optional, Union

from trainer import keras_tracing
from trainer.models import ensemble, frame_level, mlp, video_level, vlad

keras_tracing.leave_tf_keras_unconverted()  # every model is built here, before anything traces it


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    builder: Callable
    frame_level: bool
    # Adam learning rate that trains the model well at the default batch size on l2-normalised (or
    # scaled z-score) inputs; --base_learning_rate overrides it. Video-level values were measured on real
    # data (bench/results/video_models.json); frame-level ones are the starter code's. A callable gets the
    # model's hparams (EnsembleModel: its slowest member's rate).
    learning_rate: Union[float, Callable[[Mapping], float]]


MODELS: Dict[str, ModelSpec] = {
    "LogisticModel": ModelSpec(video_level.logistic_model, frame_level=False, learning_rate=0.1),
    "MoeModel": ModelSpec(video_level.moe_model, frame_level=False, learning_rate=0.05),
    "MlpModel": ModelSpec(mlp.mlp_model, frame_level=False, learning_rate=0.003),
    "EnsembleModel": ModelSpec(ensemble.ensemble_model, frame_level=False,
                               learning_rate=ensemble.default_learning_rate),
    "FrameLevelLogisticModel": ModelSpec(frame_level.frame_level_logistic_model, frame_level=True,
                                         learning_rate=0.01),
    "DbofModel": ModelSpec(frame_level.dbof_model, frame_level=True, learning_rate=0.01),
    "LstmModel": ModelSpec(frame_level.lstm_model, frame_level=True, learning_rate=0.01),
    "NetVLADModel": ModelSpec(vlad.netvlad_model, frame_level=True, learning_rate=0.01),
    "NeXtVLADModel": ModelSpec(vlad.nextvlad_model, frame_level=True, learning_rate=0.01),
}


def get_model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown --model={name!r}; choose one of {sorted(MODELS)}") from None


def get_model_builder(name: str) -> Callable:
    return get_model_spec(name).builder


def default_learning_rate(name: str, hparams: Optional[Mapping] = None) -> float:
    rate = get_model_spec(name).learning_rate
    return rate(hparams or {}) if callable(rate) else rate


def is_frame_level(name: str) -> bool:
    """Frame-level models take [max_frames, size] per feature plus num_frames (trainer/models/frame_level.py)."""
    return get_model_spec(name).frame_level


def model_names(frame_level: bool):
    return sorted(name for name, spec in MODELS.items() if spec.frame_level == frame_level)


def check_model_matches_data(model: str, frame_features: bool):
    if is_frame_level(model) != frame_features:
        level = "frame-level (--frame_features)" if frame_features else "video-level"
        raise ValueError(f"--model={model} does not take {level} input; for it choose one of "
                         f"{model_names(frame_features)} (frame-level models need --frame_features, "
                         f"video-level models must not have it)")
