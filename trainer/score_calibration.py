"""Prediction-time score calibration of the exported model (training is untouched: the loss sees the model's
own probabilities).

- Per-video normalisation (`top_score_exponent`, 0 = off): each video's probabilities are divided by its top
  probability to this power. GAP and MAP rank the (video, class) pairs of all videos together, and the models
  are under-confident on hard videos, so lifting those videos' scores helps the pooled ranking; the order of
  classes within a video (hit@1, PERR, the CSV's classes) does not change and scores stay in [0, 1].
- Class prior correction (`class_prior_strength`, 0 = off): a model learns each class's base rate from the
  training videos, noisy for rare classes; the release publishes every class's count in its full training set
  (the vocabulary's TrainVideoCount), so each class's log-odds move by strength x log(expected / seen), with
  add-one smoothing, towards the published frequency.
- Class frequency scale (`class_frequency_exponent`, 0 = off, applied before the shift): each class's log-odds
  are multiplied by (its published count / a typical label's)^exponent, flattening rare classes' log-odds.

Both class corrections assume a trained model (on a barely trained one they lower GAP; hence the recipes'
--min_train_steps). What each gains on real data is measured in bench/results (video_models.json,
cross_validation.json) and shown in the README's results tables.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

DEFAULT_TOP_SCORE_EXPONENT = 0.25


def check_top_score_exponent(exponent: float) -> None:
    if not 0 <= exponent < 1:
        raise ValueError(f"--top_score_exponent must be in [0, 1), got {exponent}")


def normalize_by_top_score(probabilities, exponent: float):
    """[B, C] probabilities (tensor or array) -> each row times max(row)^-exponent, as a tensor."""
    import tensorflow as tf
    probabilities = tf.convert_to_tensor(probabilities)
    if not exponent:
        return probabilities
    top = tf.reduce_max(probabilities, axis=-1, keepdims=True)
    return probabilities * tf.pow(tf.maximum(top, 1e-12), -exponent)


def check_class_prior_strength(strength: float) -> None:
    if not 0 <= strength <= 1:
        raise ValueError(f"--class_prior_strength must be in [0, 1], got {strength}")


def class_prior_shift(train_label_counts: Sequence[float], release_class_counts: Sequence[float],
                      strength: float) -> np.ndarray:
    """[C] log-odds shift: strength x log((expected + 1) / (seen + 1)), where seen is each class's label count
    in the training videos and expected its share of the release's published counts scaled to the same
    number of labels. Classes seen more often than the release's frequency predicts move down, rarer ones up."""
    seen = np.asarray(train_label_counts, np.float64)
    published = np.asarray(release_class_counts, np.float64)
    if seen.shape != published.shape:
        raise ValueError(f"class counts do not match: {seen.shape} trained vs {published.shape} published")
    if published.sum() <= 0:
        raise ValueError("the release's published class counts are all zero: no prior to correct towards")
    expected = published / published.sum() * seen.sum()
    return (strength * np.log((expected + 1) / (seen + 1))).astype(np.float32)


def check_class_frequency_exponent(exponent: float) -> None:
    if not 0 <= exponent <= 0.2:
        raise ValueError(f"--class_frequency_exponent must be in [0, 0.2], got {exponent}")


def class_log_odds_scale(release_class_counts: Sequence[float], exponent: float) -> np.ndarray:
    """[C] log-odds factors (published count + 1)^exponent, divided by their geometric mean over the
    release's labels (so a typical label's class keeps about 1): frequent classes' log-odds are stretched,
    rare classes' flattened towards 0 (which lifts their mostly negative log-odds)."""
    published = np.asarray(release_class_counts, np.float64)
    if published.sum() <= 0:
        raise ValueError("the release's published class counts are all zero: no frequencies to scale by")
    log_count = np.log(published + 1)
    return np.exp(exponent * (log_count - np.average(log_count, weights=published))).astype(np.float32)


def class_corrections(release_class_counts: Sequence[float], strength: float, exponent: float,
                      train_label_counts: Optional[Sequence[float]] = None):
    """(shift or None, scale or None) for correct_class_log_odds, as the exported model and the cross-validation
    apply them: the class prior shift when strength > 0 (needs train_label_counts), the class frequency
    scale when exponent > 0."""
    shift = class_prior_shift(train_label_counts, release_class_counts, strength) if strength else None
    scale = class_log_odds_scale(release_class_counts, exponent) if exponent else None
    return shift, scale


def correct_class_log_odds(probabilities, shift: Optional[np.ndarray], scale: Optional[np.ndarray] = None):
    """[B, C] probabilities -> sigmoid(scale[C] x log-odds + shift[C]), as a tensor; None = 1 / 0."""
    import tensorflow as tf
    probabilities = tf.convert_to_tensor(probabilities)
    if shift is None and scale is None:
        return probabilities
    p = tf.clip_by_value(probabilities, 1e-7, 1 - 1e-7)
    log_odds = tf.math.log(p) - tf.math.log1p(-p)
    if scale is not None:
        log_odds *= tf.constant(scale, probabilities.dtype)
    if shift is not None:
        log_odds += tf.constant(shift, probabilities.dtype)
    return tf.sigmoid(log_odds)
