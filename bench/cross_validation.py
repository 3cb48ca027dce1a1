"""Benchmark (not a test): what a training setup scores on held-out videos when it learns from nearly all
the shared sample — K-fold cross-validation over the 80 genuine validate shards (23,091 videos).

The issue's product owner trains on all 80 shards and scores other real videos. One 64/16 split trains on
81 % of that and scores 4,437 videos, so its GAP is both pessimistic (fewer videos to learn from; quality
grows by about 0.057 GAP per e-fold of training videos) and noisy. Here each of K folds holds out 80/K whole
shards, trains on the rest (90 % of the videos at K = 10), and predicts the held-out ones; the out-of-fold
predictions of all 23,091 videos are then scored together once (pooled GAP, hit@1, PERR, MAP) — every
video is held out exactly once, and no number is chosen on the videos it is reported on.

The model, its loss, optimizer, learning-rate schedule, input normalisation and prediction-time score
normalisation come from the same flags as local_runner.py (a recipe file and/or flags) and the project's own
trainer code (trainer.run_fn.build_compiled_model), trained in memory for --num_epochs on every training
video of the fold. Keep-best is not emulated, so the setup must hold nothing out (--validation_percent=0,
as the video_level_* recipes do).

  .venv/bin/python -m bench.cross_validation --recipe video_level_best            # ~70 min on 2 cores
  # Nearer still (97.5 % of the videos a fold), on a subset of the folds, compared video for video with the
  # 10-fold row (its folds 0 and 5 are exactly these 40-fold folds' held-out shards):
  .venv/bin/python -m bench.cross_validation --recipe video_level_best --folds 40 --run_folds 0-3,20-23
  .venv/bin/python -m bench.cross_validation --name mlp_2048 --flags --model=MlpModel \\
      --input_normalization=l2 --learning_rate_schedule=cosine --num_epochs=20 --validation_percent=0

Writes bench/results/cross_validation.json (rows merged by name).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

import numpy as np

from bench import common

RESULT_FILE = "cross_validation.json"
ALL_SHARDS = range(0, 80)
REFERENCE_FOLDS = 10  # the full run that runs with other fold counts are compared with, video for video


def fold_shards(folds: int, shards=ALL_SHARDS):
    """K lists of held-out shard indices: consecutive, whole shards, every shard in exactly one fold."""
    shards = list(shards)
    if not 2 <= folds <= len(shards) or len(shards) % folds:
        raise ValueError(f"--folds must divide the {len(shards)} shards evenly, got {folds}")
    per_fold = len(shards) // folds
    return [shards[k * per_fold:(k + 1) * per_fold] for k in range(folds)]


def parse_fold_list(spec: str, folds: int):
    """'0-3,20-23' -> [0, 1, 2, 3, 20, 21, 22, 23]; every index must be a fold of the K."""
    chosen = []
    try:
        for part in spec.split(","):
            first, _, last = part.strip().partition("-")
            chosen += range(int(first), int(last or first) + 1)
    except ValueError:
        chosen = []
    if not chosen or len(set(chosen)) != len(chosen) or not all(0 <= k < folds for k in chosen):
        raise ValueError(f"--run_folds must name distinct folds 0..{folds - 1}, got {spec!r}")
    return sorted(chosen)


def run_name(recipe, name, folds: int, run_folds) -> str:
    """The result row: recipe:NAME for a full 10-fold run of a recipe; other fold setups are named apart so
    they never replace it."""
    base = f"recipe:{recipe}" if recipe else name
    if folds != REFERENCE_FOLDS:
        base += f" ({folds}-fold" + (f", folds {run_folds}" if run_folds else "") + ")"
    elif run_folds:
        base += f" (folds {run_folds})"
    return base


def training_setup(flag_args):
    """(TrainerConfig, input normalisation) from local_runner.py flags, e.g. ['@recipes/x.flags']."""
    import local_runner
    from pipeline import cli
    args = local_runner.parse_args(flag_args)
    config = cli.trainer_config_from_flags(args)
    if config.frame_features:
        raise SystemExit("error: cross-validation reads the video-level sample; frame-level setups need the pipeline")
    if config.validation_percent > 0:
        raise SystemExit("error: keep-best is not emulated here: give --validation_percent=0 (the recipes do), "
                         "the in-memory run then trains the full --num_epochs like the pipeline would")
    if not config.num_epochs:
        raise SystemExit("error: give --num_epochs (the step count follows each fold's size)")
    return config, args.input_normalization


def load_sample(sample_dir: str, normalization: str):
    """Per-video model inputs (both features normalised per video), multi-hot labels and the shard index."""
    from bench.video_models import load_split
    from transform.normalization import numpy_reference
    if normalization not in ("l2", "none"):  # zscore needs each fold's training statistics: not worth it here
        raise SystemExit(f"error: --input_normalization={normalization} is not supported here (l2, none)")
    rgb, audio, labels, shard = [], [], [], []
    for index in ALL_SHARDS:
        r, a, y = load_split(common.shard_paths(sample_dir, [index]))
        rgb.append(numpy_reference(r, normalization).astype(np.float32))
        audio.append(numpy_reference(a, normalization).astype(np.float32))
        labels.append(y.astype(np.uint8))
        shard.append(np.full(len(y), index))
    return np.concatenate(rgb), np.concatenate(audio), np.concatenate(labels), np.concatenate(shard)


def train_and_predict(config, train_inputs, train_labels, test_inputs, seed: int):
    """The project's compiled model trained in memory for config.num_epochs; scores as the pipeline exports
    them (after the prediction-time class prior correction and top-score normalisation)."""
    import tensorflow as tf
    import tf_keras as keras
    from trainer.run_fn import build_compiled_model
    from trainer.score_calibration import class_corrections, normalize_by_top_score, correct_class_log_odds
    from trainer.data_split import steps_for_epochs
    from yt8m_tfx import class_names
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    steps = max(steps_for_epochs(len(train_labels), config.num_epochs, config.batch_size),  # as run_fn counts
                config.min_train_steps)
    model = build_compiled_model(config, steps)
    dataset = (tf.data.Dataset.from_tensor_slices((train_inputs, train_labels.astype(np.float32)))
               .shuffle(len(train_labels), seed=seed).repeat().batch(config.batch_size).prefetch(2))
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    raw = model.predict(test_inputs, batch_size=2048, verbose=0)
    shift = scale = None  # as run_fn exports them: from the fold's training labels and the published counts
    published = class_names.release_class_counts(config.dataset)
    if published is not None:  # run_fn likewise skips the correction when no counts are shipped (2017)
        shift, scale = class_corrections(published, config.class_prior_strength, config.class_frequency_exponent,
                                         train_labels.sum(0))
    return normalize_by_top_score(correct_class_log_odds(raw, shift, scale), config.top_score_exponent).numpy()


def cross_validate(config, normalization: str, sample_dir: str, folds: int, run_folds=None, say=print) -> dict:
    """Trains and predicts each fold (or only the folds in run_folds); pooled metrics over the videos that
    were held out."""
    from yt8m_tfx import metrics_math
    from trainer.run_fn import model_input_sizes
    from yt8m_tfx import features
    rgb, audio, labels, shard = load_sample(sample_dir, normalization)
    arrays = {features.transformed_name("mean_rgb"): rgb, features.transformed_name("mean_audio"): audio}
    inputs = lambda rows: {name: arrays[name][rows] for name in model_input_sizes(config)}  # noqa: E731  (--feature_names)
    out_of_fold = np.zeros(labels.shape, np.float32)
    scored = np.zeros(len(labels), bool)
    rows = []
    for k, held_out in enumerate(fold_shards(folds)):
        if run_folds is not None and k not in run_folds:
            continue
        started = time.time()
        test = np.isin(shard, held_out)
        train = ~test
        out_of_fold[test] = train_and_predict(config, inputs(train), labels[train], inputs(test),
                                              seed=config.seed + k)
        scored |= test
        fold = {"fold": k, "held_out_shards": shard_range(held_out),
                "train_videos": int(train.sum()), "held_out_videos": int(test.sum()),
                "gap": metrics_math.gap(out_of_fold[test], labels[test], config.top_k),
                "seconds": round(time.time() - started, 1)}
        rows.append(fold)
        say(json.dumps(fold), flush=True)
    fold_gaps = np.array([r["gap"] for r in rows])
    run = {"videos": int(scored.sum()), "folds": folds,
           "train_videos_per_fold": int(np.mean([r["train_videos"] for r in rows])),
           "pooled": common.quality_metrics(out_of_fold[scored], labels[scored], config.top_k),
           "fold_gap_mean": float(fold_gaps.mean()),
           "fold_gap_std": float(fold_gaps.std(ddof=1)) if len(rows) > 1 else 0.0,  # one fold: no spread
           "seconds": round(sum(r["seconds"] for r in rows), 1), "fold_runs": rows}
    if folds != REFERENCE_FOLDS:
        run["gap_by_reference_fold"] = gap_by_reference_fold(out_of_fold, labels, shard, scored, config.top_k)
    return run


def shard_range(shards) -> str:
    return f"validate{shards[0]:04d}-{shards[-1]:04d}"


def gap_by_reference_fold(out_of_fold, labels, shard, scored, top_k) -> dict:
    """GAP on the held-out shards of each 10-fold fold that this run scored in full, so a run with other
    folds (more training videos each) is compared with the 10-fold run on exactly the same videos."""
    from yt8m_tfx import metrics_math
    gaps = {}
    for held_out in fold_shards(REFERENCE_FOLDS):
        rows = np.isin(shard, held_out)
        if scored[rows].all():
            gaps[shard_range(held_out)] = metrics_math.gap(out_of_fold[rows], labels[rows], top_k)
    return gaps


def paired_gain(run: dict, reference: dict) -> dict:
    """This run's GAP minus the reference (10-fold) run's on the same held-out videos, fold by fold."""
    reference_gaps = {fold["held_out_shards"]: fold["gap"] for fold in reference["fold_runs"]}
    pairs = [{"held_out_shards": shards, "gap": gap, "reference_gap": reference_gaps[shards],
              "gain": gap - reference_gaps[shards]}
             for shards, gap in sorted(run.get("gap_by_reference_fold", {}).items()) if shards in reference_gaps]
    if not pairs:
        return {}
    return {"reference_train_videos_per_fold": reference["train_videos_per_fold"], "folds": pairs,
            "mean_gain": float(np.mean([p["gain"] for p in pairs]))}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", help="recipes/NAME.flags to cross-validate (the row is named recipe:NAME)")
    p.add_argument("--name", help="row name for --flags without a recipe")
    p.add_argument("--folds", type=int, default=REFERENCE_FOLDS)
    p.add_argument("--run_folds", help="train and score only these folds, e.g. 0-3,20-23 (default: all)")
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    p.add_argument("--flags", nargs=argparse.REMAINDER, default=[],
                   help="local_runner.py flags (after the recipe's, so they override it)")
    args = p.parse_args(argv)
    if not args.recipe and not args.name:
        p.error("give --recipe NAME or --name NAME --flags ...")
    if not common.sample_available(args.sample_dir):
        return 0
    from bench.video_models import recipe_path
    flag_args = (["@" + recipe_path(args.recipe)] if args.recipe else []) + args.flags
    config, normalization = training_setup(flag_args)
    run_folds = parse_fold_list(args.run_folds, args.folds) if args.run_folds else None
    name = run_name(args.recipe, args.name, args.folds, args.run_folds)
    print(f"== {name}: {args.folds}-fold over validate0000-0079 ({' '.join(common.portable_flags(flag_args))})",
          flush=True)
    run = cross_validate(config, normalization, args.sample_dir, args.folds, run_folds)
    run.update(flags=common.portable_flags(flag_args), date=common.now(), machine=common.machine())
    result = common.read_result(RESULT_FILE, "cross_validation")
    reference = result["runs"].get(run_name(args.recipe, args.name, REFERENCE_FOLDS, None))
    paired = paired_gain(run, reference) if reference and reference.get("flags") == run["flags"] else {}
    if paired:
        run["paired"] = paired
        print(f"on the same videos: {paired['mean_gain']:+.4f} GAP over the {REFERENCE_FOLDS}-fold run "
              f"({reference['train_videos_per_fold']:,} → {run['train_videos_per_fold']:,} training videos)")
    result["runs"][name] = run
    common.write_result(RESULT_FILE, result)
    print(f"{name}: pooled GAP {run['pooled']['gap']:.4f} over {run['videos']:,} held-out videos "
          f"(folds {run['fold_gap_mean']:.4f} ± {run['fold_gap_std']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
