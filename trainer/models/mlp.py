"""MlpModel: a video-level hidden layer with batch norm, dropout and optional context gating, then a
logistic or mixture-of-experts head.

Small real data (tens of thousands of videos for 3,862 classes) is where a linear model overfits within
a few epochs; the shared hidden layer lets rare classes borrow from frequent ones, and dropout on both
the inputs and the hidden units keeps it from memorising. Context gating re-weights each hidden unit by a
sigmoid of the whole hidden vector (Miech et al. 2017, "Learnable pooling with Context Gating").
Measured choices are in bench/results/video_models.json.

hparams: mlp_hidden_size (2048), input_dropout (0.3), mlp_dropout (0.7), mlp_context_gating (False),
mlp_head ("logistic" or "moe", with moe_num_mixtures), l2_penalty.
"""
from __future__ import annotations

from typing import Mapping

import tf_keras as keras

from trainer.models.video_level import (DEFAULT_L2_PENALTY, input_dropout, logistic_head, moe_head,
                                        moe_num_mixtures, video_inputs)

HEADS = ("logistic", "moe")


def context_gating(x, l2_penalty: float, name: str):
    gates = keras.layers.Dense(x.shape[-1], activation="sigmoid", name=f"{name}_gates",
                               kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)
    return keras.layers.Multiply(name=name)([x, gates])


def mlp_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    hidden_size = int(hparams.get("mlp_hidden_size", 2048))
    # Heavy dropout measured best on 18.7k real videos (cosine, 20 epochs): 0.3 / 0.7 gave 0.6998 GAP,
    # 0.2 / 0.5 0.6964, 0.2 / 0.65 0.6985; wider (4096) or narrower (1024, 512) layers did not beat 2048.
    dropout = float(hparams.get("mlp_dropout", 0.7))
    gating = bool(hparams.get("mlp_context_gating", False))
    head = str(hparams.get("mlp_head", "logistic"))
    l2_penalty = float(hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    if head not in HEADS:
        raise ValueError(f"Unknown mlp_head={head!r}; choose one of {list(HEADS)}")

    inputs, x = video_inputs(input_sizes)
    x = input_dropout(x, hparams)
    x = keras.layers.Dense(hidden_size, name="hidden", kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)
    x = keras.layers.BatchNormalization(name="hidden_bn")(x)
    x = keras.layers.ReLU(name="hidden_relu")(x)
    if gating:
        x = context_gating(x, l2_penalty, name="context_gating")
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="hidden_dropout")(x)
    if head == "moe":
        outputs = moe_head(x, num_classes, moe_num_mixtures(hparams), l2_penalty)
    else:
        outputs = logistic_head(x, num_classes, l2_penalty)
    return keras.Model(inputs=inputs, outputs=outputs, name="MlpModel")
