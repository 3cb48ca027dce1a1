"""EnsembleModel: several video-level models trained side by side in one Keras model; serving averages
their probabilities.

Each member keeps its own loss (the cross entropy of its own log-odds, summed over members), so members
learn as they would alone and stay different; averaging different models is what pays (measured:
bench/results/video_models.json). One optimizer (trainer/optimizers.MultiRateAdam) trains them all, each
member at its own default learning rate relative to the ensemble's (`rate_multipliers`).

hparams: ensemble_members ("MoeModel,MlpModel"; a model named twice is a second copy with other random
weights), plus any member's own hparams (shared by name).
"""
from __future__ import annotations

from typing import List, Mapping, Tuple

import tensorflow as tf
import tf_keras as keras

from trainer.models.video_level import HEAD_DTYPE, KERAS_PACKAGE

DEFAULT_MEMBERS = "MoeModel,MlpModel"
MEMBER_LOGITS_ATTRIBUTE = "_yt8m_member_logits"
MEMBER_SUFFIX = "_member"
MEMBER_MODEL_ATTRIBUTE = "_yt8m_member_model"  # on each member's sub-model: the --model name it was built as


@keras.utils.register_keras_serializable(package=KERAS_PACKAGE)
class MeanOfSigmoids(keras.layers.Layer):
    """[member log-odds [B, C], ...] -> mean member probability [B, C].

    The output carries the stacked member log-odds [B, members, C] (like tf_keras's sigmoid keeps
    `_keras_logits`), so trainer/losses.py gives every member its own exact cross entropy."""

    def call(self, member_logits):
        member_logits = tf.stack(member_logits, axis=1)
        probabilities = tf.reduce_mean(tf.sigmoid(member_logits), axis=1)
        setattr(probabilities, MEMBER_LOGITS_ATTRIBUTE, member_logits)
        return probabilities


def ensemble_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    from trainer.models import get_model_spec  # the registry imports this module
    hparams = dict(hparams or {})
    names = member_names(hparams)
    specs = {name: get_model_spec(name) for name in names}
    if len(names) < 2 or any(spec.frame_level for spec in specs.values()):
        raise ValueError(f"ensemble_members must name two or more video-level models, got {names}")
    inputs = {name: keras.Input(shape=(size,), name=name, dtype="float32") for name, size in input_sizes.items()}
    member_logits = []
    for index, name in enumerate(names):
        member = specs[name].builder(input_sizes, num_classes, hparams)  # a repeated name: new random weights
        # The same layers, stopped at the log-odds under the member's final sigmoid.
        repeat = names[:index].count(name)
        logits_model = keras.Model(member.inputs, member.get_layer("predictions").input,
                                   name=name + (f"_{repeat + 1}" if repeat else "") + MEMBER_SUFFIX)
        setattr(logits_model, MEMBER_MODEL_ATTRIBUTE, name)
        member_logits.append(logits_model(inputs))
    outputs = MeanOfSigmoids(name="predictions", dtype=HEAD_DTYPE)(member_logits)
    return keras.Model(inputs=inputs, outputs=outputs, name="EnsembleModel")


def rate_multipliers(model: keras.Model, learning_rate: float) -> List[Tuple[list, float]]:
    """[(a member's variables, its own default rate / learning_rate)] for an ensemble; [] for other models."""
    from trainer.models import default_learning_rate as member_rate
    return [(layer.trainable_variables, member_rate(getattr(layer, MEMBER_MODEL_ATTRIBUTE)) / learning_rate)
            for layer in model.layers if getattr(layer, MEMBER_MODEL_ATTRIBUTE, None)]


def member_names(hparams: Mapping):
    return [n.strip() for n in str(hparams.get("ensemble_members", DEFAULT_MEMBERS)).split(",") if n.strip()]


def default_learning_rate(hparams: Mapping) -> float:
    """The slowest member's rate: faster (linear) members are sped up by input scaling."""
    from trainer.models import default_learning_rate as member_rate
    return min(member_rate(name, hparams) for name in member_names(hparams))
