"""Benchmark (not a test): the full TFX pipeline on the 80 real YT8M shards in ../shared/yt8m_sample.

Split (issue #9): validate0000-0063 train, validate0064-0079 eval, staged as symlinks in
<bench_root>/real_<model>/input/{train,eval}/. Runs `local_runner.py` as a child under /usr/bin/time -v in a
fresh pipeline root and writes bench/results/real_data_pipeline_<model>.json: GAP / hit@1 / PERR / MAP,
wall time, peak RSS, and per-component seconds and examples/s from the run's MLMD store.

  .venv/bin/python -m bench.real_data_pipeline --model=LogisticModel --train_steps=300
"""
import argparse
import os
import sys

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="LogisticModel")
    p.add_argument("--train_steps", type=int, default=300)
    p.add_argument("--batch_size", type=int, default=1024)
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    p.add_argument("--train_shards", type=int, default=len(common.TRAIN_SHARDS),
                   help="use validate0000..N-1 for training (eval stays 0064-0079)")
    p.add_argument("--output", help="result file name under bench/results (default by model)")
    args = p.parse_args(argv)
    if not common.sample_available(args.sample_dir):
        return 0
    machine = common.machine()
    root = common.fresh_dir(os.path.join(args.bench_root, f"real_{args.model}"))
    train_shards = range(args.train_shards)
    globs = common.stage_split(args.sample_dir, root, train=train_shards)
    train_examples = common.count_records(common.shard_paths(args.sample_dir, train_shards))
    eval_examples = common.count_records(common.shard_paths(args.sample_dir, common.EVAL_SHARDS))
    runner_args = ["--train_data_pattern", globs["train"], "--eval_data_pattern", globs["eval"],
                   "--model", args.model, "--train_steps", str(args.train_steps),
                   "--batch_size", str(args.batch_size), "--disable_cache"]
    print(f"real data: {args.model}, {train_examples} train / {eval_examples} eval videos, root {root}")
    run = common.run_pipeline(root, runner_args, train_examples, eval_examples, args.train_steps,
                              args.batch_size)
    result = {
        "benchmark": "real_data_pipeline", "date": common.now(), "machine": machine,
        "model": args.model, "train_steps": args.train_steps, "batch_size": args.batch_size,
        "train_shards": f"validate0000-{args.train_shards - 1:04d}", "eval_shards": "validate0064-0079",
        "train_examples": train_examples, "eval_examples": eval_examples,
        "command": "local_runner.py " + " ".join(runner_args),
        **run,
    }
    common.write_result(args.output or f"real_data_pipeline_{args.model}.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
