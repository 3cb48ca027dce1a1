"""Video-level models of the starter code: LogisticModel and MoeModel, and the heads every model ends in.

Each head ends in `keras.layers.Activation("sigmoid", name=...)` applied to per-class log-odds. tf_keras keeps
those log-odds on the sigmoid's output (`_keras_logits`), so trainer/losses.py computes the cross entropy
from them: exact, and with a gradient that does not vanish when a sigmoid saturates.
"""
from __future__ import annotations

import functools
from typing import Dict, Mapping

import tensorflow as tf
import tf_keras as keras

DEFAULT_L2_PENALTY = 1e-8
# The starter code has no dropout in its video-level models; --hparam input_dropout=0 restores that.
DEFAULT_INPUT_DROPOUT = 0.3
# The starter code's --moe_num_mixtures; 4 mixtures measured no better on real data, 1.6x slower.
DEFAULT_MOE_NUM_MIXTURES = 2
# The package name the project's Keras layers are registered under (SavedModels load them by it).
KERAS_PACKAGE = "yt8m_tfx"
# The dtype of every head's last layers under any --precision (trainer/precision.py): the loss, the metrics and
# the signatures read float32 log-odds and probabilities, whatever the layers before them computed in.
HEAD_DTYPE = "float32"


def video_inputs(input_sizes: Mapping[str, int]):
    inputs: Dict[str, keras.Input] = {
        name: keras.Input(shape=(size,), name=name, dtype="float32") for name, size in input_sizes.items()
    }
    tensors = [inputs[name] for name in sorted(inputs)]
    x = tensors[0] if len(tensors) == 1 else keras.layers.Concatenate(axis=1)(tensors)
    return inputs, x


def logistic_head(x, num_classes: int, l2_penalty: float = DEFAULT_L2_PENALTY, name: str = "predictions"):
    logits = keras.layers.Dense(num_classes, name=f"{name}_logits",
                                kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)
    return keras.layers.Activation("sigmoid", name=name, dtype=HEAD_DTYPE)(logits)


@keras.utils.register_keras_serializable(package=KERAS_PACKAGE)
class MixtureOfExpertsLogits(keras.layers.Layer):
    """[gate logits [B, C, M+1], expert logits [B, C, M]] -> log-odds [B, C] of the per-class mixture
    p = sum_m softmax(gates)_m * sigmoid(expert_m), where the last gate belongs to an 'off' expert that always
    says 0 (the starter code's MoE).

    Computed in log space: log p and log(1 - p) are log-sum-exps of log-gate + log-sigmoid terms. The seed's
    probability-space version loses the gradient once a class's gate saturates on the 'off' expert (every
    positive then scores exactly 0 and log(0 + 1e-5) is flat); here the gradient to a real expert's gate
    stays about 1 - gate, so such a class recovers.

    The softmax's normaliser is in both log p and log(1 - p) and cancels, so the raw gate logits serve. Each
    term is a [B, C] slab (mixture axis first) combined elementwise: reductions and slices along a last axis
    of 2-3 items took a fifth of the best ensemble's training step (the profile in bench/results/precision.json).
    """

    def call(self, inputs):
        gate_logits, expert_logits = inputs
        gates = tf.unstack(tf.transpose(gate_logits, [2, 0, 1]))      # M + 1 of [B, C]; the last is 'off'
        experts = tf.unstack(tf.transpose(expert_logits, [2, 0, 1]))  # M of [B, C]
        on = [gate + tf.math.log_sigmoid(expert) for gate, expert in zip(gates, experts)]
        # log sigmoid(-x) = log sigmoid(x) - x
        off = [term - expert for term, expert in zip(on, experts)] + [gates[-1]]
        return functools.reduce(log_add_exp, on) - functools.reduce(log_add_exp, off)


def log_add_exp(a, b):
    """log(exp(a) + exp(b)) elementwise: softplus is stable for any difference, and unlike a max-based form
    its gradient stays exact where a == b (sigmoid(a - b) to a, the rest to b)."""
    return a + tf.math.softplus(b - a)


def moe_head(x, num_classes: int, num_mixtures: int = DEFAULT_MOE_NUM_MIXTURES, l2_penalty: float = DEFAULT_L2_PENALTY,
             name: str = "predictions"):
    """Mixture of experts per class: softmax gates over M experts plus a dummy 'off' expert.

    Unlike the starter code the gates have a bias: without it MoeModel scored GAP 0.6843 instead of 0.6964 on
    real data (bench/results/video_models.json), the bias being each class's prior on the 'off' expert."""
    gates = keras.layers.Dense(num_classes * (num_mixtures + 1), name=f"{name}_gates",
                               kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)
    experts = keras.layers.Dense(num_classes * num_mixtures, name=f"{name}_experts",
                                 kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)
    gates = keras.layers.Reshape((num_classes, num_mixtures + 1))(gates)
    experts = keras.layers.Reshape((num_classes, num_mixtures))(experts)
    # The log-sum-exps in float32: bfloat16's 8-bit mantissa would round small gate differences away.
    logits = MixtureOfExpertsLogits(name=f"{name}_logits", dtype=HEAD_DTYPE)([gates, experts])
    return keras.layers.Activation("sigmoid", name=name, dtype=HEAD_DTYPE)(logits)


def moe_num_mixtures(hparams: Mapping) -> int:
    return int(hparams.get("moe_num_mixtures", DEFAULT_MOE_NUM_MIXTURES))


def input_dropout(x, hparams: Mapping, default: float = DEFAULT_INPUT_DROPOUT):
    """Dropout on the (normalised) input features: the regulariser that lets a linear model on ~20k videos
    train longer before it memorises them (measured: bench/results/video_models.json)."""
    rate = float(hparams.get("input_dropout", default))
    return keras.layers.Dropout(rate, name="input_dropout")(x) if rate > 0 else x


def logistic_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    inputs, x = video_inputs(input_sizes)
    x = input_dropout(x, hparams)
    outputs = logistic_head(x, num_classes, hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="LogisticModel")


def moe_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    inputs, x = video_inputs(input_sizes)
    x = input_dropout(x, hparams)
    outputs = moe_head(x, num_classes, moe_num_mixtures(hparams),
                       hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="MoeModel")
