"""Prediction-time score calibration of the exported model: a per-class prior correction
(`class_prior_strength`, 0 = off) and then a per-video normalisation, each video's probabilities divided by
its top probability raised to `top_score_exponent` (0 = off).

GAP (and MAP) rank the (video, class) pairs of all videos together, so a video whose best class scores 0.3
competes with one whose best scores 0.99. On real YouTube-8M the models are under-confident on the hard
videos: lifting a video's scores by top^-0.25 raised GAP on the held-out shards for every model measured
(bench/results/video_models.json: ensemble 0.7071 -> 0.7100, MlpModel 0.6998 -> 0.7030, MoeModel
0.6958 -> 0.6972, LogisticModel 0.6805 -> 0.6812; MAP 0.3342 -> 0.3371). The order of classes within a video,
and so hit@1, PERR and the CSV's classes, do not change; scores stay in [0, 1] (the top one becomes top^0.75).
Training is untouched: the loss sees the model's own probabilities.

The class prior correction: a model learns each class's base rate from the training videos, and in a small
sample those counts are noisy (a class with 2 videos out of 23k may have 0.05 % or 0.005 % of the dataset's
videos). The release publishes every class's count in its full 3.9M-video training set (the vocabulary's
TrainVideoCount), so each class's log-odds are moved by strength x log(expected / seen) with add-one
smoothing: towards the published frequency. On real data (10-fold out-of-fold predictions) strength 0.5
raised the 1024-unit MlpModel's GAP on every fold (+0.0012 to +0.0027) and video_level_best's on every fold
(+0.0006 to +0.0024; pooled 0.7184 -> 0.7202); 1.0 (the full Bayes swap of priors) was no better than 0.75.

The class frequency scale (`class_frequency_exponent`, applied before that shift): each class's log-odds are
multiplied by (its published count / a typical label's)^exponent. On real data the pooled ranking improves
when rare classes' log-odds are flattened towards 0 (which lifts their mostly negative log-odds) and frequent
classes' stretched: at 0.03 (a class 100x rarer than a typical label: x0.87) video_level_fast's 10-fold
out-of-fold GAP rose on all 10 folds (+0.0005 to +0.0017, pooled 0.7106 -> 0.7116; chosen on folds 0-4,
+0.0010 on folds 5-9) and video_level_best's too (+0.0005 to +0.0020, pooled 0.7202 -> 0.7213); one global
temperature instead gained at most +0.0003. Both corrections assume a trained model: on a barely trained one
(a few dozen steps) they lower GAP, which is why the recipes also set --min_train_steps.
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
    """(shift or None, scale or None) for shift_log_odds, as the exported model and the cross-validation
    apply them: the class prior shift when strength > 0 (needs train_label_counts), the class frequency
    scale when exponent > 0."""
    shift = class_prior_shift(train_label_counts, release_class_counts, strength) if strength else None
    scale = class_log_odds_scale(release_class_counts, exponent) if exponent else None
    return shift, scale


def shift_log_odds(probabilities, shift: Optional[np.ndarray], scale: Optional[np.ndarray] = None):
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
