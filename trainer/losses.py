"""The starter code's label losses (`--label_loss`), as Keras-compatible callables.

Each takes multi-hot labels [B, C] and model outputs [B, C] and returns a scalar.
"""
from __future__ import annotations

import tensorflow as tf


def cross_entropy_loss(labels, predictions, epsilon: float = 1e-5):
    """Per-class binary cross entropy summed over classes, averaged over the batch."""
    labels = tf.cast(labels, tf.float32)
    per_class = labels * tf.math.log(predictions + epsilon) + (1.0 - labels) * tf.math.log(
        1.0 - predictions + epsilon)
    return tf.reduce_mean(tf.reduce_sum(-per_class, axis=1))


def hinge_loss(labels, predictions, b: float = 1.0):
    """max(0, b - sign(label) * prediction), summed over classes."""
    sign_labels = 2.0 * tf.cast(labels, tf.float32) - 1.0
    return tf.reduce_mean(tf.reduce_sum(tf.maximum(0.0, b - sign_labels * predictions), axis=1))


def softmax_loss(labels, predictions, epsilon: float = 1e-7):
    """Cross entropy of softmax(predictions) against labels normalised to sum to one."""
    labels = tf.cast(labels, tf.float32)
    label_sum = tf.maximum(tf.reduce_sum(labels, axis=1, keepdims=True), epsilon)
    log_softmax = tf.nn.log_softmax(predictions)
    return tf.reduce_mean(-tf.reduce_sum(labels / label_sum * log_softmax, axis=1))


LOSSES = {
    "CrossEntropyLoss": cross_entropy_loss,
    "HingeLoss": hinge_loss,
    "SoftmaxLoss": softmax_loss,
}


def get_loss(name: str):
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"Unknown --label_loss={name!r}; choose one of {sorted(LOSSES)}") from None
