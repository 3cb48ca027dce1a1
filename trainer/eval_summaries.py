"""The starter code's eval metrics (GAP, hit@1, PERR) of a Keras model during training.

Keep-best (trainer/keep_best.py) scores the validation split with them and writes them to TensorBoard;
the numbers come from yt8m_tfx.metrics_math, the same code the Evaluator's plugin uses.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from yt8m_tfx import metrics_math
from trainer.score_calibration import normalize_by_top_score


def eval_metrics(model: keras.Model, dataset: tf.data.Dataset, steps: int, top_k: int,
                 top_score_exponent: float = 0.0):
    """Streams batches: only each video's top-k pairs are kept, never [videos, 3862] arrays. Scores are
    normalised as the exported model's signatures do (trainer/score_calibration.py)."""
    gap = metrics_math.GapState()
    hits, perrs = [], []
    for inputs, batch_labels in dataset.take(steps):
        predictions = normalize_by_top_score(model(inputs, training=False), top_score_exponent).numpy()
        labels = batch_labels.numpy()
        gap.add_videos(predictions, labels, top_k)
        hits.append(metrics_math.hit_at_one_per_video(predictions, labels))
        perrs.append(metrics_math.perr_per_video(predictions, labels))
    return {"gap": gap.result(), "hit_at_one": float(np.concatenate(hits).mean()),
            "perr": float(np.concatenate(perrs).mean())}
