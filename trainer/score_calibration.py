"""Per-video score normalisation at prediction time: each video's probabilities are divided by its top
probability raised to `top_score_exponent` (0 = off).

GAP (and MAP) rank the (video, class) pairs of all videos together, so a video whose best class scores 0.3
competes with one whose best scores 0.99. On real YouTube-8M the models are under-confident on the hard
videos: lifting a video's scores by top^-0.25 raised GAP on the held-out shards for every model measured
(bench/results/video_models.json: ensemble 0.7071 -> 0.7100, MlpModel 0.6998 -> 0.7030, MoeModel
0.6958 -> 0.6972, LogisticModel 0.6805 -> 0.6812; MAP 0.3342 -> 0.3371). The order of classes within a video,
and so hit@1, PERR and the CSV's classes, do not change; scores stay in [0, 1] (the top one becomes top^0.75).
Training is untouched: the loss sees the model's own probabilities.
"""
from __future__ import annotations

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
