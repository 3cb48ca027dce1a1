"""Training progress as log lines a console can show (pipeline/console.py turns them into the live line).

Keras' own progress output is one line per epoch, and the Trainer runs one long "epoch"; this callback logs
step / total, loss, videos per second, the time left and the latest validation GAP every few seconds.
"""
from __future__ import annotations

import time
from typing import Optional

import tf_keras as keras
from absl import logging

PREFIX = "Training progress:"


def progress_message(step: int, total: int, loss: float, videos_per_second: float, seconds_left: float,
                     validation_gap: Optional[float] = None) -> str:
    minutes, seconds = divmod(int(round(max(seconds_left, 0))), 60)
    gap = f"  validation GAP {validation_gap:.4f}" if validation_gap is not None else ""
    return (f"{PREFIX} step {step}/{total}  loss {loss:.3f}  {videos_per_second:,.0f} videos/s  "
            f"{minutes}:{seconds:02d} left{gap}")


class TrainingProgress(keras.callbacks.Callback):
    """Logs progress_message every `every_seconds` and at the last step; keep_best (if given) supplies the
    latest validation GAP."""

    def __init__(self, total_steps: int, initial_step: int, batch_size: int, keep_best=None,
                 every_seconds: float = 10.0):
        super().__init__()
        self.total_steps, self.initial_step, self.batch_size = total_steps, initial_step, batch_size
        self.keep_best, self.every_seconds = keep_best, every_seconds
        self._first_batch_end = self._last = self._last_batch_end = None
        self._batches = 0

    def steady_videos_per_second(self) -> Optional[float]:
        """videos/s from the end of the first batch (graph tracing, filling the shuffle buffer) to the last."""
        if self._batches < 2 or self._last_batch_end <= self._first_batch_end:
            return None
        return round((self._batches - 1) * self.batch_size / (self._last_batch_end - self._first_batch_end), 1)

    def on_train_batch_end(self, batch, logs=None):
        step, now = self.initial_step + batch + 1, time.monotonic()
        self._batches, self._last_batch_end = batch + 1, now
        if self._first_batch_end is None:  # the first batch includes tracing the graph: not a rate to report
            self._first_batch_end = self._last = now
            return
        if now - self._last < self.every_seconds and step < self.total_steps:
            return
        self._last = now
        rate = batch / max(now - self._first_batch_end, 1e-9)
        history = self.keep_best.state.history if self.keep_best is not None else []
        logging.info("%s", progress_message(step, self.total_steps, float((logs or {}).get("loss", float("nan"))),
                                            rate * self.batch_size, (self.total_steps - step) / rate,
                                            history[-1]["gap"] if history else None))
