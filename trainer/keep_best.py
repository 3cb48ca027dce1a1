"""Keep-best training: evaluate GAP on the validation split every N steps, keep the best weights, stop early.

The validation split is carved from the training data by a hash of the video id (trainer/data_split.py),
never the eval split: the Evaluator reports and blesses on the eval split, so selecting on it would make
every reported number optimistic.

State that must survive a killed Trainer (resume by default) lives next to the training checkpoints:
`<checkpoint_dir>/best/weights.npz` holds the best weights (model.get_weights() order) and `keep_best.json`
the best step, its GAP, the evaluations so far and whether training already stopped early.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf
import tf_keras as keras
from absl import logging

from trainer import eval_summaries
from trainer.step_callbacks import EveryNSteps

KEEP_BEST_STATE_FILE = "keep_best.json"
# Keep-best picks the step with the best GAP on the validation videos; on fewer than this many that pick is
# noise, and the held-out videos are better trained on (the genuine 116-video frame-level sample: a 9-video
# split stopped training at step 12 of 33).
MIN_VALIDATION_VIDEOS = 50
BEST_DIR = "best"


def validation_too_small(train_videos: int, validation_percent: float) -> bool:
    """Whether holding out validation_percent of train_videos leaves fewer than MIN_VALIDATION_VIDEOS to
    select a step on (then the Trainer trains without keep-best)."""
    return validation_percent > 0 and train_videos * validation_percent / 100 < MIN_VALIDATION_VIDEOS


@dataclasses.dataclass
class KeepBestState:
    best_step: int = -1
    best_gap: float = -1.0
    evaluations_without_improvement: int = 0
    stopped_early: bool = False
    history: List[Dict] = dataclasses.field(default_factory=list)  # [{"step", "gap", "hit_at_one", "perr"}]

    def record(self, step: int, metrics: Dict[str, float], min_delta: float) -> bool:
        """Adds one evaluation; True when it is the new best (by more than min_delta GAP)."""
        self.history.append({"step": step, **{k: round(float(v), 6) for k, v in metrics.items()}})
        if metrics["gap"] > self.best_gap + min_delta:
            self.best_step, self.best_gap = step, float(metrics["gap"])
            self.evaluations_without_improvement = 0
            return True
        self.evaluations_without_improvement += 1
        return False


def evaluation_interval(steps_per_epoch: int, total_steps: int, max_interval: int = 1000) -> int:
    """Once an epoch on small data, at most every max_interval steps on big data, and at least ~10 times."""
    return max(1, min(steps_per_epoch, max_interval, max(1, total_steps // 10)))


class KeepBest(EveryNSteps):
    """Evaluates every `every` steps; keeps the best weights in memory and (with a directory) on disk.

    `restore_best()` puts the best weights back into the model (call it before exporting).
    """

    def __init__(self, validation_dataset: tf.data.Dataset, validation_steps: int, every: int, patience: int,
                 top_k: int, directory: Optional[str] = None, log_dir: Optional[str] = None,
                 min_delta: float = 0.0, top_score_exponent: float = 0.0, read_only: bool = False):
        """read_only: load an interrupted run's state from `directory` but never write there (a non-chief
        worker: every worker evaluates the same weights on the same videos and decides alike)."""
        super().__init__(every)
        self.read_only = read_only
        self.dataset, self.steps, self.patience, self.top_k = validation_dataset, validation_steps, patience, top_k
        self.directory, self.min_delta, self.top_score_exponent = directory, min_delta, top_score_exponent
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else None
        self.state = KeepBestState()
        self._best_weights = None

    # -- persistence (resume) --
    def _state_path(self):
        return os.path.join(self.directory, KEEP_BEST_STATE_FILE)

    def _best_path(self):
        return os.path.join(self.directory, BEST_DIR, "weights.npz")

    def load(self, model: keras.Model):
        """Restores the state and best weights of an interrupted run of the same training, if any."""
        self.set_model(model)
        if not self.directory or not tf.io.gfile.exists(self._state_path()):
            return
        with tf.io.gfile.GFile(self._state_path()) as f:
            self.state = KeepBestState(**json.load(f))
        if tf.io.gfile.exists(self._best_path()):
            with tf.io.gfile.GFile(self._best_path(), "rb") as f:
                arrays = np.load(io.BytesIO(f.read()))
            self._best_weights = [arrays[f"w{i}"] for i in range(len(arrays.files))]

    def _save(self, improved: bool):
        """Writes the state, and the best weights when this evaluation produced them."""
        if not self.directory or self.read_only:
            return
        if improved:
            tf.io.gfile.makedirs(os.path.dirname(self._best_path()))
            buffer = io.BytesIO()  # gs:// files are not seekable: write the archive in one go
            np.savez(buffer, **{f"w{i}": w for i, w in enumerate(self._best_weights)})
            with tf.io.gfile.GFile(self._best_path(), "wb") as f:
                f.write(buffer.getvalue())
        with tf.io.gfile.GFile(self._state_path(), "w") as f:
            json.dump(dataclasses.asdict(self.state), f, indent=1)

    # -- training --
    def at_step(self, step: int):
        if self.state.history and step <= self.state.history[-1]["step"]:
            return  # already evaluated before this run resumed from an older checkpoint
        metrics = eval_summaries.eval_metrics(self.model, self.dataset, self.steps, self.top_k,
                                              self.top_score_exponent)
        improved = self.state.record(step, metrics, self.min_delta)
        if improved:
            self._best_weights = self.model.get_weights()
        logging.info("step %d: validation GAP %.4f (best %.4f at step %d)", step, metrics["gap"],
                     self.state.best_gap, self.state.best_step)
        if self.writer:
            with self.writer.as_default():
                for name, value in metrics.items():
                    tf.summary.scalar(f"validation/{name}", value, step=step)
            self.writer.flush()
        if self.patience and self.state.evaluations_without_improvement >= self.patience:
            self.state.stopped_early = True
            self.model.stop_training = True
            logging.info("No better validation GAP in %d evaluations: stopping at step %d, keeping step %d.",
                         self.patience, step, self.state.best_step)
        self._save(improved)

    def restore_best(self):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)
