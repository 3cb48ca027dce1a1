"""A Keras callback base for work done every N optimizer steps and once more when training ends."""
from __future__ import annotations

import tf_keras as keras


class EveryNSteps(keras.callbacks.Callback):
    """Calls `at_step(step)` when the optimizer step is a multiple of `every`, and at the end of
    training, at most once per step (the end often coincides with a periodic step)."""

    def __init__(self, every: int):
        super().__init__()
        self.every = max(1, every)
        self._last_step = None

    def at_step(self, step: int):
        raise NotImplementedError

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def _fire(self):
        step = self._step()
        if step != self._last_step:
            self._last_step = step
            self.at_step(step)

    def on_train_batch_end(self, batch, logs=None):
        if self._step() % self.every == 0:
            self._fire()

    def on_train_end(self, logs=None):
        self._fire()
