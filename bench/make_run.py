"""Benchmark (not a test): what `make run` costs on a fresh pipeline root.

Runs the `make run` command itself — `local_runner.py --pipeline_root=<fresh dir>` (default epochs) on the
default synthetic data (2,000 train / 500 eval videos, generated first, included in the time) — under
/usr/bin/time -v, with the venv already built. Records wall time, peak RSS, per-component seconds from MLMD
and the evaluation metrics in bench/results/make_run.json. Needs no real data.

  .venv/bin/python -m bench.make_run
"""
import argparse
import os
import sys

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train_steps", type=int, default=None, help="default: what `make run` does (--num_epochs)")
    p.add_argument("--synthetic_videos", type=int, default=2000, help="local_runner's default")
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    args = p.parse_args(argv)
    machine = common.machine()
    root = common.fresh_dir(os.path.join(args.bench_root, "make_run"))
    runner_args = ["--synthetic_videos", str(args.synthetic_videos)]
    if args.train_steps is not None:
        runner_args += ["--train_steps", str(args.train_steps)]
    train_examples, eval_examples = args.synthetic_videos, max(1, args.synthetic_videos // 4)
    batch_size = 1024  # pipeline/configs.py BATCH_SIZE, what `make run` uses
    print(f"make run: fresh root {root}", flush=True)
    run = common.run_pipeline(root, runner_args, train_examples, eval_examples, args.train_steps, batch_size)
    result = {
        "benchmark": "make_run", "date": common.now(), "machine": machine,
        "command": "local_runner.py --pipeline_root=<fresh> " + " ".join(runner_args),
        "model": "LogisticModel", "batch_size": batch_size,
        "train_examples": train_examples, "eval_examples": eval_examples,
        **run,
    }
    common.write_result("make_run.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
