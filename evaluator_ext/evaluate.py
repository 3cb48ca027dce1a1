"""Standalone evaluation of an exported yt8m-tfx model on labelled shards, like the starter code's eval.py.

  python -m evaluator_ext.evaluate --train_dir=tfx_output \
      --eval_data_pattern='/data/yt8m/validate*.tfrecord' [--output_json=metrics.json]

Prints hit@1, PERR, MAP and GAP computed by yt8m_tfx.metrics_math — the same code as the pipeline's
Evaluator, so the numbers agree with it on the same videos. Memory stays bounded: per batch only the top-k
(score, is positive) pairs are kept (GAP and MAP switch to score bins past ~10M pairs, reporting the bound).
--train_dir is a pipeline root (the newest model trained or pushed under it is used); --model_dir names one
model instead: a SavedModel or a Pusher destination with numbered versions (the newest is used).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS before tensorflow loads)
from yt8m_tfx import command_line

if __name__ == "__main__":  # before the imports below load TensorFlow
    command_line.import_tensorflow_quietly(command_line.wants_verbose(None))

import numpy as np

from yt8m_tfx import metrics_math
from trainer.signatures import SERVING_SIGNATURE, TRANSFORM_FEATURES_SIGNATURE
from yt8m_tfx import features, record_batches
from inference.predict import (add_model_flags, add_seed_model_flags, check_seed_model_flags, matching_files,
                               model_dir_from_flags)


class StreamingMetrics:
    """hit@1, PERR, MAP and GAP over batches of (probabilities [B, C], multi-hot labels [B, C])."""

    def __init__(self, top_k: int = features.TOP_K):
        self.top_k = top_k
        self.videos = 0
        self.hit_at_one_sum = 0.0
        self.perr_sum = 0.0
        self.gap = metrics_math.GapState()
        self.map = metrics_math.MapState()

    def add(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
        self.videos += len(labels)
        self.hit_at_one_sum += float(metrics_math.hit_at_one_per_video(probabilities, labels).sum())
        self.perr_sum += float(metrics_math.perr_per_video(probabilities, labels).sum())
        self.gap.add_videos(probabilities, labels, self.top_k)
        self.map.add_videos(probabilities, labels, self.top_k)

    def result(self) -> dict:
        videos = max(self.videos, 1)
        return {"example_count": self.videos, "hit_at_one": self.hit_at_one_sum / videos,
                "perr": self.perr_sum / videos, "map": self.map.result(), "gap": self.gap.result(),
                "gap_error_bound": self.gap.error_bound()}


def evaluate(model_dir: str, eval_data_pattern: str, batch_size: int = 512, top_k: int = features.TOP_K) -> dict:
    """Scores and labels both come from the model's own signatures — the ones the Evaluator uses — so the
    records are parsed exactly as there, video- or frame-level alike."""
    from inference.predict import load_signatures, matching_files, scored_batches
    files = matching_files(eval_data_pattern, "eval_data_pattern")
    serve, transform_features = load_signatures(model_dir, SERVING_SIGNATURE, TRANSFORM_FEATURES_SIGNATURE)
    metrics = StreamingMetrics(top_k)
    started = time.time()
    for _, probabilities, labels in scored_batches(serve, transform_features, files, batch_size):
        if not labels.any() and not metrics.videos:
            raise command_line.UserError(
                f"--eval_data_pattern={eval_data_pattern}: the first videos ({files[0]}) have no labels; evaluation "
                "needs labelled shards (for label-less test shards use inference.predict)")
        metrics.add(probabilities, labels)
    result = metrics.result()
    result["seconds"] = time.time() - started
    result["videos_per_second"] = result["example_count"] / max(result["seconds"], 1e-9)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_flags(p)
    p.add_argument("--eval_data_pattern", required=True)
    p.add_argument("--batch_size", type=int, default=512,
                   help="videos per model call at most; fewer for big (frame-level) records: "
                        f"{record_batches.BATCH_BYTES // 2**20} MiB of records a batch")
    p.add_argument("--top_k", type=int, default=features.TOP_K)
    p.add_argument("--output_json", default="", help="also write the metrics here")
    add_seed_model_flags(p)
    command_line.add_verbose_flag(p)
    args = p.parse_args(argv)
    check_seed_model_flags(args, matching_files(args.eval_data_pattern, "eval_data_pattern"))
    result = evaluate(model_dir_from_flags(args), args.eval_data_pattern, args.batch_size, args.top_k)
    print(f"{result['example_count']} videos: hit@1 {result['hit_at_one']:.4f}  PERR {result['perr']:.4f}  "
          f"MAP {result['map']:.4f}  GAP {result['gap']:.4f}  ({result['videos_per_second']:.0f} videos/s)")
    if args.output_json:
        import tensorflow as tf
        with tf.io.gfile.GFile(args.output_json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(command_line.run_tool(main))
