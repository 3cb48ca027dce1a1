"""Benchmark (not a test): how pipeline time grows with data — 1x, 2x, 4x, 8x, 16x training shards.

Training split validate0000..N-1 for N = 16, 32, 64 (≈4.7k, 9.5k, 18.7k videos); the eval split stays
validate0064-0079. Past the 64 train shards (N = 128, 256) the same 64 are linked again under other names,
so the pipeline reads 2x / 4x as many records (duplicates: fine for timing, meaningless for quality). At
the sample's own size the fixed start-up of each component dominates; the repeated sizes show the
per-video cost. LogisticModel with a FIXED number of train steps (default 100 × 1,024), so Trainer time
stays about constant and the data-proportional stages (ImportExampleGen, StatisticsGen, Transform) show the
growth; Evaluator and BulkInferrer see the same eval split every time. Each run is a fresh pipeline root,
timed with /usr/bin/time -v; per-component seconds come from MLMD. Writes bench/results/scaling.json,
including each stage's marginal cost (seconds per 1,000 extra training videos between the smallest and
largest size).

  .venv/bin/python -m bench.scaling --shards 16 32 64 128 256 --train_steps 100
"""
import argparse
import os
import sys

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common

DATA_STAGES = ("ImportExampleGen", "StatisticsGen", "Transform")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shards", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    p.add_argument("--model", default="LogisticModel")
    p.add_argument("--train_steps", type=int, default=100)
    p.add_argument("--batch_size", type=int, default=1024)
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    p.add_argument("--output", default="scaling.json")
    args = p.parse_args(argv)
    if not common.sample_available(args.sample_dir):
        return 0
    machine = common.machine()
    eval_examples = common.count_records(common.shard_paths(args.sample_dir, common.EVAL_SHARDS))
    runs = []
    for shards in args.shards:
        train_shards = common.repeated_train_shards(shards)
        root = common.fresh_dir(os.path.join(args.bench_root, f"scaling_{shards}"))
        globs = common.stage_split(args.sample_dir, root, train=train_shards)
        train_examples = common.count_records(common.shard_paths(args.sample_dir, train_shards))
        print(f"scaling: {shards} train shards ({train_examples} videos), root {root}", flush=True)
        run = common.run_pipeline(
            root, ["--train_data_pattern", globs["train"], "--eval_data_pattern", globs["eval"],
                   "--model", args.model, "--train_steps", str(args.train_steps), "--eval_steps", "5",
                   "--batch_size", str(args.batch_size), "--disable_cache"],
            train_examples, eval_examples, args.train_steps, args.batch_size)
        runs.append({"train_shards": shards, "data_multiple": shards / args.shards[0],
                     "repeated_shards": shards > len(common.TRAIN_SHARDS),
                     "train_examples": train_examples, **run})
        print(f"  {run['wall_seconds']} s, stages {run['stage_seconds']}", flush=True)
    marginal = {}
    if len(runs) > 1:
        first, last = runs[0], runs[-1]
        extra_thousands = (last["train_examples"] - first["train_examples"]) / 1000.0
        for stage in (*DATA_STAGES, "Trainer", "Evaluator", "BulkInferrer", "total"):
            get = (lambda r: r["wall_seconds"]) if stage == "total" else (  # noqa: E731
                lambda r, s=stage: r["stage_seconds"].get(s, 0.0))
            marginal[stage] = round((get(last) - get(first)) / extra_thousands, 2)
    result = {
        "benchmark": "scaling", "date": common.now(), "machine": machine,
        "model": args.model, "train_steps": args.train_steps, "batch_size": args.batch_size,
        "steps_policy": "fixed train_steps at every data size (Trainer time ~constant)",
        "eval_shards": "validate0064-0079", "eval_examples": eval_examples,
        "runs": runs,
        "marginal_seconds_per_1k_train_videos": marginal,
    }
    common.write_result(args.output, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
