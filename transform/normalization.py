"""Video-level input normalisation (`--input_normalization`), as pure functions of tensors.

Why it matters: Adam moves every weight by about the learning rate per step, so one step moves a logit by
about lr x sum|x_i|. The seed L2-normalises each feature (||mean_rgb|| = ||mean_audio|| = 1, sum|x_i| ~ 25
over 1152 inputs). Plain per-dimension z-scores have norm ~34 and sum|x_i| ~ 900: the same learning rate
then moves logits ~35x further per step, sigmoids saturate within a few steps and, in MoeModel, the gate
softmax locks onto its "off" expert. So `zscore` here also divides by sqrt(size): every dimension keeps
unit variance relative to the others and each feature's expected norm is 1, like `l2`.

  l2      x / ||x|| per feature (the starter code's default; needs no statistics)
  zscore  (x - mean) / std / sqrt(size) per dimension, with mean/std from the train split (tf.Transform)
  none    the features as stored
"""
from __future__ import annotations

import math

import numpy as np

INPUT_NORMALIZATIONS = ("l2", "zscore", "none")
DEFAULT_INPUT_NORMALIZATION = "l2"


def check_input_normalization(name: str) -> str:
    if name not in INPUT_NORMALIZATIONS:
        raise ValueError(f"Unknown --input_normalization={name!r}; choose one of {list(INPUT_NORMALIZATIONS)}")
    return name


def l2_normalize(x: tf.Tensor, epsilon: float = 1e-12) -> tf.Tensor:
    """Each row to unit L2 norm (an all-zero row stays zero), like the seed's tf.nn.l2_normalize."""
    import tensorflow as tf  # here, not at import: the runners' flag parsing reads this module's names
    return tf.math.l2_normalize(x, axis=-1, epsilon=epsilon)


def scaled_z_score(x: tf.Tensor, mean: tf.Tensor, std: tf.Tensor) -> tf.Tensor:
    """(x - mean) / std / sqrt(size); a zero-variance dimension is only centred."""
    import tensorflow as tf
    size = x.shape[-1]
    std = tf.where(std > 0, std, tf.ones_like(std))
    return (x - mean) / std / math.sqrt(size)


def numpy_reference(x: np.ndarray, kind: str, mean=None, std=None) -> np.ndarray:
    """The same maths in numpy (float64), for tests and the plain-Keras benchmark."""
    x = np.asarray(x, np.float64)
    if kind == "l2":
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    if kind == "zscore":
        std = np.where(std > 0, std, 1.0)
        return (x - mean) / std / math.sqrt(x.shape[-1])
    return x
