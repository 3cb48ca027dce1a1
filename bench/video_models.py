"""Benchmark (not a test): model quality on real data — every video-level model at its defaults, every
recipe, and plain-Keras baselines — on the shared split (validate0000-0063 train, 0064-0079 eval).

Pipeline runs: `local_runner.py` in a fresh pipeline root per run (wall time is the whole pipeline),
metrics from the Evaluator (TFMA + evaluator_ext), Trainer seconds from MLMD, the kept step from the
Trainer's training_state.json. Plain-Keras baselines (no TFX) read the same shards into memory:
  plain_logistic_l2  the issue's best plain script: per-feature L2, logistic, Adam 0.1, batch 1024, 30 epochs
  plain_mlp_zscore   the issue's MLP: z-score, dropout 0.2, Dense 2048 relu, BN, dropout 0.5, Adam 1e-3, 10 epochs
                     (Keras' default batch of 32: the issue gives none; at 1024 it reaches only GAP 0.50)
Both train on all 64 train shards and score the eval split once, with yt8m_tfx.metrics_math.

Writes bench/results/video_models.json (rows are merged by name, so runs can be redone one at a time):
  .venv/bin/python -m bench.video_models                      # everything (~1 h on 2 cores)
  .venv/bin/python -m bench.video_models --only MoeModel recipe:video_level_fast

--issue_size times the recipes at the size the issue's product owner runs them: all 80 shards train
(23,091 videos) and 29,322 videos are scored (the 80 shards plus validate0000-0020 linked again). Those
eval videos were trained on, so the run is for time only: its rows (`issue_size_timing`) carry no GAP.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

import numpy as np

from bench import common

RESULT_FILE = "video_models.json"
MODELS = ("LogisticModel", "MoeModel", "MlpModel", "EnsembleModel")
RECIPES = ("video_level_fast", "video_level_best", "starter_code")
PLAIN = ("plain_logistic_l2", "plain_mlp_zscore")


def recipe_path(name: str) -> str:
    return os.path.join(common.PROJECT_ROOT, "recipes", f"{name}.flags")


def saturated_scores(pipeline_root: str) -> dict:
    """How many CSV scores print as exactly 1 (ties that lose the ranking) out of all printed scores."""
    from pipeline import outputs
    uri = outputs.latest_artifact_uri(pipeline_root, "yt8m.PredictionsCsv")
    files = glob.glob(os.path.join(uri or "", "predictions.csv"))
    if not files:
        return {}
    ones = total = 0
    with open(files[0]) as f:
        next(f)
        for line in f:
            scores = line.rstrip("\n").split(",", 1)[1].split()[1::2]
            total += len(scores)
            ones += sum(1 for s in scores if float(s) >= 1.0)
    return {"csv_scores": total, "csv_scores_equal_to_1": ones}


# --issue_size: train on every shard, score as many videos as the issue's 29,183 (trained-on, so time only).
ISSUE_SIZE_TRAIN = range(0, 80)
ISSUE_SIZE_EVAL = [*range(0, 80), *range(0, 21)]


def pipeline_run(name: str, runner_args, globs, bench_root: str) -> dict:
    root = common.fresh_dir(os.path.join(bench_root, "video_models", name.replace(":", "_")))
    args = [*runner_args, "--train_data_pattern", globs["train"], "--eval_data_pattern", globs["eval"],
            "--disable_cache"]
    print(f"== {name}: local_runner.py {' '.join(args)}", flush=True)
    run = common.run_timed(common.runner_argv(root, args), os.path.join(root, "runner.log"))
    run.pop("_rss_samples")
    seconds = common.stage_seconds(root)
    return {"kind": "pipeline", "command": "local_runner.py " + " ".join(common.portable_flags(runner_args)),
            "wall_seconds": run["wall_seconds"], "trainer_seconds": seconds.get("Trainer"),
            "tuner_seconds": seconds.get("Tuner"), "peak_tree_rss_mib": run["peak_tree_rss_mib"],
            "mean_load_1min": run["mean_load_1min"], "metrics": common.evaluation_metrics(root),
            "training": common.training_state(root), "stage_seconds": seconds, **saturated_scores(root)}


def issue_size_timing(names, sample_dir: str, bench_root: str, result: dict):
    """Pipeline wall time of each recipe with 23,091 training and 29,322 scored videos (no quality)."""
    globs = common.stage_split(sample_dir, common.fresh_dir(os.path.join(bench_root, "issue_size_input")),
                               ISSUE_SIZE_TRAIN, ISSUE_SIZE_EVAL)
    train_paths = common.shard_paths(sample_dir, ISSUE_SIZE_TRAIN)
    for name in names:
        run = pipeline_run(name, ["@" + recipe_path(name.split(":", 1)[1])], globs, bench_root)
        timing = {key: run[key] for key in ("command", "wall_seconds", "trainer_seconds", "stage_seconds",
                                            "peak_tree_rss_mib", "mean_load_1min")}
        result.setdefault("issue_size_timing", {})[name] = {
            **timing, "train_videos": common.count_records(train_paths),
            "scored_videos": common.count_records(common.shard_paths(sample_dir, ISSUE_SIZE_EVAL)),
            "date": common.now(), "machine": common.machine()}
        common.write_result(RESULT_FILE, result)


# -- plain Keras baselines ------------------------------------------------------------------------------
def load_split(paths):
    """(mean_rgb, mean_audio, multi-hot labels) of every video in the shards, as numpy arrays."""
    import tensorflow as tf
    from bench.plain_keras import parsed_dataset
    from transform.preprocessing import labels_to_multi_hot
    from yt8m_tfx import features
    rgb, audio, labels = [], [], []
    for batch in parsed_dataset(tf, paths, 4096):
        rgb.append(batch["mean_rgb"].numpy())
        audio.append(batch["mean_audio"].numpy())
        labels.append(labels_to_multi_hot(batch["labels"], features.NUM_CLASSES).numpy())  # the 2018 sample
    return np.concatenate(rgb), np.concatenate(audio), np.concatenate(labels)


def plain_run(name: str, sample_dir: str) -> dict:
    import tensorflow as tf
    import tf_keras as keras
    from transform.normalization import numpy_reference
    train = load_split(common.shard_paths(sample_dir, common.TRAIN_SHARDS))
    test = load_split(common.shard_paths(sample_dir, common.EVAL_SHARDS))
    kind = "l2" if name == "plain_logistic_l2" else "zscore"

    def inputs(split):
        parts = []
        for values, reference in ((split[0], train[0]), (split[1], train[1])):
            if kind == "l2":
                parts.append(numpy_reference(values, "l2"))
            else:  # plain per-dimension z-score, as the issue's script did (no 1/sqrt(size))
                parts.append((values - reference.mean(0)) / np.where(reference.std(0) > 0, reference.std(0), 1))
        return np.concatenate(parts, axis=1).astype(np.float32)

    x_train, x_test = inputs(train), inputs(test)
    keras.utils.set_random_seed(0)
    x = keras.Input((x_train.shape[1],))
    if name == "plain_logistic_l2":
        outputs, learning_rate, epochs, batch_size = (keras.layers.Dense(train[2].shape[1], activation="sigmoid")(x),
                                                      0.1, 30, 1024)
    else:
        h = keras.layers.Dropout(0.2)(x)
        h = keras.layers.Dense(2048, activation="relu")(h)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Dropout(0.5)(h)
        outputs, learning_rate, epochs, batch_size = (keras.layers.Dense(train[2].shape[1], activation="sigmoid")(h),
                                                      1e-3, 10, 32)
    model = keras.Model(x, outputs)
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy")
    started = time.time()
    model.fit(x_train, train[2], batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    fit_seconds = time.time() - started
    predictions = model.predict(x_test, batch_size=4096, verbose=0)
    labels = test[2]
    tf.keras.backend.clear_session()
    return {"kind": "plain_keras", "epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size,
            "trainer_seconds":
            round(fit_seconds, 1), "metrics": common.quality_metrics(predictions, labels, 20)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", help="run names: model names, recipe:NAME, plain_logistic_l2, plain_mlp_zscore")
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    p.add_argument("--issue_size", action="store_true",
                   help="time the recipes (or --only recipe:NAME ...) on 23,091 train / 29,322 scored videos")
    args = p.parse_args(argv)
    if not common.sample_available(args.sample_dir):
        return 0
    result = common.read_result(RESULT_FILE, "video_models")
    if args.issue_size:
        names = args.only or [f"recipe:{r}" for r in RECIPES if r != "starter_code"]
        if any(not name.startswith("recipe:") for name in names):
            p.error("--issue_size times recipes: give --only recipe:NAME ...")
        issue_size_timing(names, args.sample_dir, args.bench_root, result)
        return 0
    names = args.only or [*MODELS, *(f"recipe:{r}" for r in RECIPES), *PLAIN]
    globs = common.stage_split(args.sample_dir, common.fresh_dir(os.path.join(args.bench_root, "video_models_input")))
    for name in names:
        if name in PLAIN:
            run = plain_run(name, args.sample_dir)
        elif name.startswith("recipe:"):
            run = pipeline_run(name, ["@" + recipe_path(name.split(":", 1)[1])], globs, args.bench_root)
        else:
            run = pipeline_run(name, ["--model", name], globs, args.bench_root)
        run.update(date=common.now(), machine=common.machine())
        result["runs"][name] = run
        result.update(train_shards="validate0000-0063", eval_shards="validate0064-0079",
                      train_examples=common.count_records(common.shard_paths(args.sample_dir, common.TRAIN_SHARDS)),
                      eval_examples=common.count_records(common.shard_paths(args.sample_dir, common.EVAL_SHARDS)))
        common.write_result(RESULT_FILE, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
