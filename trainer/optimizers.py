"""Learning-rate schedules, and Adam with per-variable learning-rate multipliers (EnsembleModel's members
train at their own rates).

Adam's step per weight is about the learning rate whatever the gradient's scale, so neither loss weights
nor gradient scaling can give one part of a model a faster rate; scaling the step itself does.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import tensorflow as tf
import tf_keras as keras

from trainer.config import LEARNING_RATE_SCHEDULES


def learning_rate_schedule(name: str, base_learning_rate: float, total_steps: int, batch_size: int,
                           decay: float = 0.95, decay_examples: int = 4_000_000):
    """"exponential": the starter code's staircase decay (x decay every decay_examples videos; on a small
    data set the rate barely moves). "cosine": from the base rate down to 0 at total_steps — the end of
    training lands in a low-rate phase whatever the data size (MlpModel: +0.009 GAP on real data)."""
    if name == "cosine":
        if total_steps <= 0:
            raise ValueError("the cosine learning-rate schedule needs the training length (total steps)")
        return keras.optimizers.schedules.CosineDecay(base_learning_rate, total_steps)
    if name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            base_learning_rate, max(1, decay_examples // batch_size), decay, staircase=True)
    raise ValueError(f"unknown learning-rate schedule {name!r}; choose from {LEARNING_RATE_SCHEDULES}")


class MultiRateAdam(keras.optimizers.Adam):
    """keras Adam; the variables of each (variables, m) in `rate_multipliers` move m times as far.

    A dense update is TensorFlow's fused Adam kernel at the learning rate x m: one pass over the weight and its
    two moments, the same arithmetic as keras Adam's eight tensor ops (with clipping, the optimizer took an
    eighth of the best ensemble's step: the profile in bench/results/precision.json). Variables are told apart
    by the optimizer's own variable key (members of an ensemble may reuse names)."""

    def __init__(self, *args, rate_multipliers: Sequence[Tuple[Sequence[tf.Variable], float]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._multiplier_by_key = {self._var_key(v): float(m)
                                   for variables, m in rate_multipliers for v in variables}

    def update_step(self, gradient, variable):
        multiplier = self._multiplier_by_key.get(self._var_key(variable), 1.0)
        if isinstance(gradient, tf.IndexedSlices) or self.amsgrad or self.adaptive_epsilon:
            return self._scaled_keras_update(gradient, variable, multiplier)
        index = self._index_dict[self._var_key(variable)]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle, v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(self.learning_rate, dtype) * multiplier, beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=gradient)

    def _scaled_keras_update(self, gradient, variable, multiplier: float):
        """Keras's own update (sparse gradients, amsgrad, adaptive epsilon), its step scaled afterwards."""
        if multiplier == 1.0:
            return super().update_step(gradient, variable)
        before = tf.identity(variable)
        super().update_step(gradient, variable)
        variable.assign(before + multiplier * (variable - before))
