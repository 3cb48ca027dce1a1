"""Benchmark (not a test): the scoring stages' marginal speed — Evaluator, BulkInferrer, PredictionsCsvExporter.

Per recipe, two pipeline runs that differ only in how many videos they score (the first `--sizes` genuine
shards as the eval split); each stage's marginal speed is 1,000 / (seconds per 1,000 more scored videos)
between them, so its start-up (TensorFlow import, model load, Beam set-up) cancels out. Training is cut to
`--train_steps` steps on 8 shards: what a video costs to score depends on the model's shape, not on how
well it was trained, so those runs carry no quality. Also the model alone: the serving signature over the
larger eval set in one process, batches already in memory: the floor of the two stages that run the model.

  .venv/bin/python -m bench.scoring                              # best and fast recipes (~15 min)
  .venv/bin/python -m bench.scoring --recipes video_level_best --precisions float32 mixed_bfloat16

Writes bench/results/scoring.json (rows merged by "<recipe> <precision>").
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common

RESULT_FILE = "scoring.json"
RECIPES = ("video_level_best", "video_level_fast")
SCORING_STAGES = ("Evaluator", "BulkInferrer", "PredictionsCsvExporter")
TRAIN_SHARDS = range(0, 8)
# Flags that set the training length; the benchmark replaces them with --train_steps.
LENGTH_FLAGS = ("--num_epochs", "--min_train_steps")


def recipe_flags(name: str):
    """The recipe's flags without its training length."""
    from bench.video_models import recipe_path
    with open(recipe_path(name)) as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line and not line.startswith("#") and not line.startswith(LENGTH_FLAGS)]


def marginal_videos_per_second(small: dict, large: dict) -> dict:
    """{stage: videos/s} from the stage seconds of two runs that scored small["scored_videos"] and
    large["scored_videos"]; a stage either run lacks is left out, None where its time did not grow."""
    extra = large["scored_videos"] - small["scored_videos"]
    speeds = {}
    for stage in SCORING_STAGES:
        if small["stage_seconds"].get(stage) is not None and large["stage_seconds"].get(stage) is not None:
            delta = large["stage_seconds"][stage] - small["stage_seconds"][stage]
            speeds[stage] = round(extra / delta, 0) if delta > 0 else None
    return speeds


def model_alone_videos_per_second(pipeline_root: str, eval_glob: str, batch_size: int = 512) -> float:
    """Videos/s of the serving signature alone (parsing and the model) over the eval records, in memory."""
    from inference.predict import load_signatures
    from trainer.signatures import SERVING_SIGNATURE
    from yt8m_tfx import record_batches
    model_dir, = glob.glob(os.path.join(pipeline_root, "Trainer", "model", "*", "Format-Serving"))
    serve, = load_signatures(model_dir, SERVING_SIGNATURE)
    files = sorted(glob.glob(eval_glob))
    batches = list(record_batches.record_batches(files, batch_size, record_batches.compression_of(files)))
    serve(examples=batches[0])  # the first call traces
    started = time.time()
    for batch in batches:
        serve(examples=batch)
    return round(sum(len(batch) for batch in batches) / (time.time() - started), 0)


def measure(recipe: str, precision: str, sizes, train_steps: int, bench_root: str) -> dict:
    runs = []
    for size in sizes:
        root = common.fresh_dir(os.path.join(bench_root, "scoring", f"{recipe}_{precision}_{size}"))
        globs = common.stage_split(common.SAMPLE_DIR, root, train=TRAIN_SHARDS, eval_=range(size))
        args = [*recipe_flags(recipe), "--precision", precision, "--train_steps", str(train_steps),
                "--gap_threshold", "0",
                "--train_data_pattern", globs["train"], "--eval_data_pattern", globs["eval"]]
        print(f"== {recipe}, {size} eval shards: local_runner.py {' '.join(args)}", flush=True)
        run = common.run_timed(common.runner_argv(os.path.join(root, "pipeline"), args),
                               os.path.join(root, "runner.log"))
        seconds = common.stage_seconds(os.path.join(root, "pipeline"))
        runs.append({"eval_shards": size, "scored_videos": common.count_records(glob.glob(globs["eval"])),
                     "wall_seconds": run["wall_seconds"], "peak_tree_rss_mib": run["peak_tree_rss_mib"],
                     "mean_load_1min": run["mean_load_1min"],
                     "stage_seconds": {stage: seconds.get(stage) for stage in SCORING_STAGES},
                     "pipeline_root": os.path.join(root, "pipeline"), "eval_glob": globs["eval"]})
    largest = runs[-1]
    row = {"recipe": recipe, "precision": precision,
           "command": "local_runner.py @recipes/{}.flags --precision {} (training length replaced by "
                      "--train_steps {})".format(recipe, precision, train_steps),
           "runs": [{k: v for k, v in run.items() if k not in ("pipeline_root", "eval_glob")} for run in runs],
           "marginal_videos_per_second": marginal_videos_per_second(runs[0], largest),
           "model_alone_videos_per_second": model_alone_videos_per_second(largest["pipeline_root"],
                                                                          largest["eval_glob"]),
           "date": common.now(), "machine": common.machine()}
    print(f"== {recipe} {precision}: marginal videos/s {row['marginal_videos_per_second']}, model alone "
          f"{row['model_alone_videos_per_second']}", flush=True)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    p.add_argument("--precisions", nargs="+", default=["float32"],
                   help="--precision of each row (the model runs in its compute dtype when it scores)")
    p.add_argument("--sizes", nargs=2, type=int, default=[20, 80], help="eval shards of the two runs")
    p.add_argument("--train_steps", type=int, default=10)
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    args = p.parse_args(argv)
    if not common.sample_available():
        return 0
    result = common.read_result(RESULT_FILE, "scoring")
    for recipe in args.recipes:
        for precision in args.precisions:
            result["runs"][f"{recipe} {precision}"] = measure(recipe, precision, sorted(args.sizes),
                                                              args.train_steps, args.bench_root)
            common.write_result(RESULT_FILE, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
