"""The starter code's eval metrics (GAP, hit@1, PERR) of a Keras model during training.

Keep-best (trainer/keep_best.py) scores the validation split with them and writes them to TensorBoard;
the numbers come from evaluator_ext.metrics_math, the same code the Evaluator's plugin uses.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from evaluator_ext import metrics_math


def eval_metrics(model: keras.Model, dataset: tf.data.Dataset, steps: int, top_k: int):
    """Streams batches: only each video's top-k pairs are kept, never [videos, 3862] arrays."""
    gap = metrics_math.GapState()
    hits, perrs = [], []
    for inputs, batch_labels in dataset.take(steps):
        predictions, labels = model(inputs, training=False).numpy(), batch_labels.numpy()
        gap.add_videos(predictions, labels, top_k)
        hits.append(metrics_math.hit_at_one_per_video(predictions, labels))
        perrs.append(metrics_math.perr_per_video(predictions, labels))
    return {"gap": gap.result(), "hit_at_one": float(np.concatenate(hits).mean()),
            "perr": float(np.concatenate(perrs).mean())}
