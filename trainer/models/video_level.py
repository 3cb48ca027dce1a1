"""Video-level models of the starter code: LogisticModel and MoeModel."""
from __future__ import annotations

from typing import Dict, Mapping

import tf_keras as keras

DEFAULT_L2_PENALTY = 1e-8


def _video_inputs(input_sizes: Mapping[str, int]):
    inputs: Dict[str, keras.Input] = {
        name: keras.Input(shape=(size,), name=name, dtype="float32") for name, size in input_sizes.items()
    }
    tensors = [inputs[name] for name in sorted(inputs)]
    x = tensors[0] if len(tensors) == 1 else keras.layers.Concatenate(axis=1)(tensors)
    return inputs, x


def logistic_head(x, num_classes: int, l2_penalty: float = DEFAULT_L2_PENALTY, name: str = "predictions"):
    return keras.layers.Dense(num_classes, activation="sigmoid", name=name,
                              kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)


def moe_head(x, num_classes: int, num_mixtures: int = 2, l2_penalty: float = DEFAULT_L2_PENALTY,
             name: str = "predictions"):
    """Mixture of experts per class: softmax gates over M experts plus a dummy 'off' expert."""
    gates = keras.layers.Dense(num_classes * (num_mixtures + 1), name=f"{name}_gates",
                               kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)
    experts = keras.layers.Dense(num_classes * num_mixtures, name=f"{name}_experts",
                                 kernel_regularizer=keras.regularizers.l2(l2_penalty))(x)
    gates = keras.layers.Softmax(axis=-1)(keras.layers.Reshape((num_classes, num_mixtures + 1))(gates))
    experts = keras.layers.Activation("sigmoid")(keras.layers.Reshape((num_classes, num_mixtures))(experts))
    # The dummy expert always predicts 0, so it is simply left out of the weighted sum.
    mixed = keras.layers.Lambda(lambda ge: keras.backend.sum(ge[0][:, :, :-1] * ge[1], axis=-1),
                                name=name)([gates, experts])
    return mixed


def logistic_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    inputs, x = _video_inputs(input_sizes)
    outputs = logistic_head(x, num_classes, hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="LogisticModel")


def moe_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    inputs, x = _video_inputs(input_sizes)
    outputs = moe_head(x, num_classes, int(hparams.get("moe_num_mixtures", 2)),
                       hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="MoeModel")
