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

With --big_data every size runs twice, as the pipeline is by default and with the big-data options
(--ingest=import: the shards are linked, not re-written; --stats_sample_rate): one run of the bench, same
machine, both sets of numbers (bench/results/scaling_big_data.json by default then).
"""
import argparse
import os
import sys

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common

DATA_STAGES = ("ImportExampleGen", "ShardImporter", "StatisticsGen", "Transform")


def data_stage_seconds(run) -> float:
    """Seconds of the stages before training (either ingest component, statistics, Transform) in one run."""
    return sum(run["stage_seconds"].get(stage, 0.0) for stage in DATA_STAGES)


def marginal_seconds(runs):
    """Seconds per 1,000 extra training videos between the smallest and the largest run, per stage, for the
    data stages together ("data_stages") and the whole run ("total")."""
    if len(runs) < 2:
        return {}
    first, last = runs[0], runs[-1]
    extra_thousands = (last["train_examples"] - first["train_examples"]) / 1000.0
    marginal = {}
    for stage in (*DATA_STAGES, "Trainer", "Evaluator", "BulkInferrer"):
        if stage in first["stage_seconds"] and stage in last["stage_seconds"]:
            marginal[stage] = round((last["stage_seconds"][stage] - first["stage_seconds"][stage]) / extra_thousands, 2)
    marginal["data_stages"] = round((data_stage_seconds(last) - data_stage_seconds(first)) / extra_thousands, 2)
    marginal["total"] = round((last["wall_seconds"] - first["wall_seconds"]) / extra_thousands, 2)
    return marginal


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shards", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    p.add_argument("--model", default="LogisticModel")
    p.add_argument("--train_steps", type=int, default=100)
    p.add_argument("--batch_size", type=int, default=1024)
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    p.add_argument("--output", default="")
    p.add_argument("--big_data", action="store_true",
                   help="also run every size with --ingest=import --stats_sample_rate=<--big_data_sample_rate>")
    p.add_argument("--big_data_sample_rate", type=float, default=0.1)
    args = p.parse_args(argv)
    args.output = args.output or ("scaling_big_data.json" if args.big_data else "scaling.json")
    configs = {"default": []}
    if args.big_data:
        configs["big_data"] = ["--ingest", "import", "--stats_sample_rate", str(args.big_data_sample_rate)]
    if not common.sample_available(args.sample_dir):
        return 0
    machine = common.machine()
    eval_examples = common.count_records(common.shard_paths(args.sample_dir, common.EVAL_SHARDS))
    runs = {name: [] for name in configs}
    for shards in args.shards:
        for name, flags in configs.items():
            train_shards = common.repeated_train_shards(shards)
            root = common.fresh_dir(os.path.join(args.bench_root, f"scaling_{name}_{shards}"))
            globs = common.stage_split(args.sample_dir, root, train=train_shards)
            train_examples = common.count_records(common.shard_paths(args.sample_dir, train_shards))
            print(f"scaling ({name}): {shards} train shards ({train_examples} videos), root {root}", flush=True)
            run = common.run_pipeline(
                root, ["--train_data_pattern", globs["train"], "--eval_data_pattern", globs["eval"],
                       "--model", args.model, "--train_steps", str(args.train_steps),
                       "--batch_size", str(args.batch_size), "--disable_cache", *flags],
                train_examples, eval_examples, args.train_steps, args.batch_size)
            runs[name].append({"train_shards": shards, "data_multiple": shards / args.shards[0],
                               "repeated_shards": shards > len(common.TRAIN_SHARDS),
                               "train_examples": train_examples, **run})
            print(f"  {run['wall_seconds']} s, stages {run['stage_seconds']}", flush=True)
    result = {
        "benchmark": "scaling", "date": common.now(), "machine": machine,
        "model": args.model, "train_steps": args.train_steps, "batch_size": args.batch_size,
        "steps_policy": "fixed train_steps at every data size (Trainer time ~constant)",
        "eval_shards": "validate0064-0079", "eval_examples": eval_examples,
        "runs": runs["default"],
        "marginal_seconds_per_1k_train_videos": marginal_seconds(runs["default"]),
    }
    if args.big_data:
        result.update(big_data_flags=configs["big_data"], big_data_runs=runs["big_data"],
                      big_data_marginal_seconds_per_1k_train_videos=marginal_seconds(runs["big_data"]))
    common.write_result(args.output, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
