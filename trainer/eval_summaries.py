"""TensorBoard summaries of the starter code's eval metrics (GAP, hit@1, PERR) during training.

Keras logs loss/val_loss; this callback adds the YouTube-8M metrics on `eval_steps` batches of the
eval split, computed by evaluator_ext.metrics_math (the same code the Evaluator's plugin uses).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from evaluator_ext import metrics_math
from trainer.step_callbacks import EveryNSteps


def eval_metrics(model: keras.Model, dataset: tf.data.Dataset, steps: int, top_k: int):
    """Streams batches: only each video's top-k pairs are kept, never [videos, 3862] arrays."""
    gap = metrics_math.GapState()
    hits, perrs = [], []
    for inputs, batch_labels in dataset.take(steps):
        predictions, labels = model(inputs, training=False).numpy(), batch_labels.numpy()
        gap.add_videos(predictions, labels, top_k)
        hits.append(metrics_math.hit_at_one_per_video(predictions, labels))
        perrs.append(metrics_math.perr_per_video(predictions, labels))
    return {"gap": gap.result(), "hit_at_one": float(np.concatenate(hits).mean()),
            "perr": float(np.concatenate(perrs).mean())}


class EvalMetricsSummary(EveryNSteps):
    """Writes eval/gap, eval/hit_at_one, eval/perr every `every` steps and at the end of training."""

    def __init__(self, dataset: tf.data.Dataset, steps: int, log_dir: str, every: int, top_k: int = 20):
        super().__init__(every)
        self.dataset, self.steps, self.top_k = dataset, max(1, steps), top_k
        self.writer = tf.summary.create_file_writer(log_dir)
        self.last = {}

    def at_step(self, step: int):
        self.last = eval_metrics(self.model, self.dataset, self.steps, self.top_k)
        with self.writer.as_default():
            for name, value in self.last.items():
                tf.summary.scalar(f"eval/{name}", value, step=step)
        self.writer.flush()
