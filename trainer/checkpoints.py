"""Resume from the last checkpoint by default, like the starter code's train.py.

A Trainer execution that was killed (or re-run with more --train_steps) continues from the last saved
step instead of starting over; `--start_new_model` starts from fresh weights. Checkpoints live outside
the execution's own output (each TFX execution gets a new model_run dir) under
`<checkpoint_dir>/<key>`, where the key hashes everything that defines the training problem: the
trainer settings and code fingerprint, the Transform graph and the training files. New data or
different settings therefore start a new model; only a repeat of the same training resumes.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Mapping, Sequence

import tensorflow as tf
import tf_keras as keras

from trainer.step_callbacks import EveryNSteps

# Settings that change how training runs or how long, not what is trained: raising --num_epochs resumes.
_NOT_PART_OF_KEY = ("start_new_model", "distribution_strategy", "checkpoint_dir", "checkpoint_steps",
                    "num_epochs", "patience", "eval_every_steps", "validation_batches")
TRAINING_STATE_FILE = "training_state.json"


def checkpoint_key(custom_config: Mapping[str, Any], transform_graph_uri: str, train_files: Sequence[str]) -> str:
    identity = {k: v for k, v in custom_config.items() if k not in _NOT_PART_OF_KEY}
    identity.update(transform_graph=transform_graph_uri, train_files=sorted(train_files))
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


class TrainingCheckpoints:
    """Saves and restores model weights + optimizer state (its step counter drives the LR decay)."""

    def __init__(self, model: keras.Model, directory: str, max_to_keep: int = 1, save_directory: str = None):
        """save_directory: where save() writes, if not `directory` (a non-chief worker restores the chief's
        checkpoints and saves its own copies to scratch space, see trainer/distribution.py)."""
        self.model = model
        self.directory = directory
        self.save_directory = save_directory or directory
        self.max_to_keep = max_to_keep
        self._checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        self._manager = self._new_manager()

    def _new_manager(self) -> tf.train.CheckpointManager:
        return tf.train.CheckpointManager(self._checkpoint, self.save_directory, max_to_keep=self.max_to_keep)

    @property
    def step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def restore_or_start(self, start_new_model: bool) -> int:
        """Returns the step training continues from (0 for a new model)."""
        if start_new_model:
            if self.save_directory == self.directory and tf.io.gfile.exists(self.directory):
                tf.io.gfile.rmtree(self.directory)
                self._manager = self._new_manager()  # forget the deleted checkpoints
            return 0
        latest = tf.train.latest_checkpoint(self.directory)
        if latest:
            # Optimizer slots must exist before restoring into them.
            self.model.optimizer.build(self.model.trainable_variables)
            self._checkpoint.restore(latest).assert_existing_objects_matched()
        return self.step

    def save(self) -> str:
        return self._manager.save(checkpoint_number=self.step)


class SaveEverySteps(EveryNSteps):
    """Checkpoints every `every` optimizer steps and when training ends."""

    def __init__(self, checkpoints: TrainingCheckpoints, every: int):
        super().__init__(every)
        self.checkpoints = checkpoints

    def at_step(self, step: int):
        self.checkpoints.save()


def write_training_state(model_run_dir: str, **state):
    """A small record of where this execution started and ended (users, tests, notebooks read it)."""
    tf.io.gfile.makedirs(model_run_dir)
    with tf.io.gfile.GFile(os.path.join(model_run_dir, TRAINING_STATE_FILE), "w") as f:
        json.dump(state, f, indent=2)
