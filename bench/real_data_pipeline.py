"""Benchmark (not a test): the full pipeline on the 80 real YT8M shards in ../shared/yt8m_sample.

Split: validate0000-0059 train (≈16.9k videos), validate0060-0079 eval (≈5.6k videos).
Writes bench/results/real_data_pipeline_<model>.json with GAP / hit@1 / PERR and wall time.

  .venv/bin/python -m bench.real_data_pipeline --model=LogisticModel --train_steps=300
"""
import argparse
import json
import os
import resource
import sys
import time

import yt8m_tfx  # noqa: F401

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_DIR = os.path.join(os.path.dirname(PROJECT_ROOT), "shared", "yt8m_sample", "video_level")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="LogisticModel")
    p.add_argument("--train_steps", type=int, default=300)
    p.add_argument("--batch_size", type=int, default=1024)
    p.add_argument("--pipeline_root", default="/tmp/yt8m_bench_real")
    p.add_argument("--sample_dir", default=SAMPLE_DIR)
    args = p.parse_args(argv)
    if not os.path.isdir(args.sample_dir):
        print(f"skipped: {args.sample_dir} not found")
        return 0
    import local_runner
    from pipeline import outputs
    root = os.path.join(args.pipeline_root, args.model)
    started = time.time()
    local_runner.main([
        "--train_data_pattern", os.path.join(args.sample_dir, "validate00[0-5][0-9].tfrecord"),
        "--eval_data_pattern", os.path.join(args.sample_dir, "validate00[67][0-9].tfrecord"),
        "--pipeline_root", root, "--model", args.model, "--train_steps", str(args.train_steps),
        "--batch_size", str(args.batch_size), "--eval_steps", "5", "--disable_cache"])
    result = {
        "model": args.model, "train_steps": args.train_steps, "batch_size": args.batch_size,
        "wall_seconds": round(time.time() - started, 1),
        "peak_rss_mib_main_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        **outputs.overall_metrics(outputs.latest_artifact_uri(root, "ModelEvaluation")),
    }
    out_dir = os.path.join(PROJECT_ROOT, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"real_data_pipeline_{args.model}.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
