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


class LossCurve(EveryNSteps):
    """Writes the training loss to TensorBoard (`train_loss`, at the optimizer step) every N steps: the mean
    over those N steps, recovered from Keras's running mean since the start of the fit (one fit = one
    "epoch" here, so the epoch summary alone would be a single point)."""

    def __init__(self, log_dir: str, every: int):
        super().__init__(every)
        import tensorflow as tf
        self.writer = tf.summary.create_file_writer(log_dir)
        self._batches = 0          # batches of this fit so far
        self._loss_sum = 0.0       # running mean x batches: the sum of batch losses of this fit
        self._written = (0, 0.0)   # (batches, loss sum) at the last point written

    def on_train_batch_end(self, batch, logs=None):
        if logs and "loss" in logs:
            self._batches = batch + 1
            self._loss_sum = float(logs["loss"]) * self._batches
        super().on_train_batch_end(batch, logs)

    def at_step(self, step: int):
        import tensorflow as tf
        batches, loss_sum = self._batches - self._written[0], self._loss_sum - self._written[1]
        if batches > 0:
            with self.writer.as_default():
                tf.summary.scalar("train_loss", loss_sum / batches, step=step)
            self.writer.flush()
            self._written = (self._batches, self._loss_sum)
