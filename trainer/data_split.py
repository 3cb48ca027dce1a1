"""The validation split: a stable hash of the video id carves a slice off the training data.

Keep-best selection and the Tuner score models on it, so the eval split stays untouched until the
Evaluator reports on it. The hash (FarmHash64 of the id bytes) is the same on every machine and run.
"""
from __future__ import annotations

import math

import tensorflow as tf

HASH_BUCKETS = 1000


def validation_mask(video_ids: tf.Tensor, validation_percent: float) -> tf.Tensor:
    """bool [B]: True for the videos that belong to the validation split."""
    buckets = tf.strings.to_hash_bucket_fast(tf.reshape(video_ids, [-1]), HASH_BUCKETS)
    return buckets < int(round(validation_percent * HASH_BUCKETS / 100))


def steps_for_epochs(num_examples: int, num_epochs: float, batch_size: int, validation_percent: float = 0) -> int:
    """Optimizer steps for num_epochs passes over the training part (the examples not held out)."""
    training_examples = num_examples * (1 - validation_percent / 100)
    return max(1, math.ceil(num_epochs * training_examples / batch_size))
