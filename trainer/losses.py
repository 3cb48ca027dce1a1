"""The starter code's label losses (`--label_loss`), as Keras-compatible callables.

Each takes multi-hot labels [B, C] and model outputs [B, C] and returns a scalar.
"""
from __future__ import annotations

import tensorflow as tf


def logits_of(predictions):
    """The log-odds behind sigmoid probabilities, when the tensor still knows them, else None.

    tf_keras's sigmoid activation keeps its input on the output tensor (`_keras_logits`), and in a graph the
    Sigmoid op's input is the same thing; every model head here ends in such an activation.
    """
    logits = getattr(predictions, "_keras_logits", None)
    if logits is not None:
        return logits
    op = getattr(predictions, "op", None)
    if not tf.executing_eagerly() and op is not None and op.type == "Sigmoid":
        return op.inputs[0]
    return None


def member_logits_of(predictions):
    """[B, members, C] log-odds of an EnsembleModel's members (trainer/models/ensemble.py), else None."""
    from trainer.models.ensemble import MEMBER_LOGITS_ATTRIBUTE
    logits = getattr(predictions, MEMBER_LOGITS_ATTRIBUTE, None)
    if logits is not None:
        return logits
    op = getattr(predictions, "op", None)  # graph: Mean(Sigmoid(member log-odds), axis=1)
    if (not tf.executing_eagerly() and op is not None and op.type == "Mean"
            and op.inputs[0].op.type == "Sigmoid"):
        return op.inputs[0].op.inputs[0]
    return None


def cross_entropy_loss(labels, predictions, epsilon: float = 1e-5):
    """Per-class binary cross entropy summed over classes, averaged over the batch.

    From the log-odds when they are known (training a model of this project): exact, and the gradient of a
    confidently wrong class stays ~1 instead of vanishing in a saturated sigmoid; for an ensemble, the sum
    of its members' own losses. Otherwise the starter code's formula on probabilities, log(p + epsilon).
    """
    labels = tf.cast(labels, tf.float32)
    member_logits = member_logits_of(predictions)
    if member_logits is not None:  # every member of an ensemble learns from its own log-odds
        per_member = tf.nn.sigmoid_cross_entropy_with_logits(
            tf.broadcast_to(tf.expand_dims(labels, 1), tf.shape(member_logits)), member_logits)
        return tf.reduce_mean(tf.reduce_sum(per_member, axis=[1, 2]))
    logits = logits_of(predictions)
    if logits is not None:
        return tf.reduce_mean(tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits), axis=1))
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
