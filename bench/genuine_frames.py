"""Benchmark (not a test): every frame-level model trained on genuine YouTube-8M frames, cross-validated by file.

The shared sample (../shared/yt8m_sample/frame_level_2018_animals: 116 genuine 2018 videos in 32 files, label
lists cut by their publisher to 5 animal classes, Cat ≈60 %) is split into 4 folds by file (sorted names, file i
in fold i % 4). Each fold's pipeline (local_runner.py, DirectRunner) trains on the other three folds' files and
scores its own, so every video is scored out of fold once, and the out-of-fold scores are pooled: hit@1 (the top
of all 3,862 classes is one of the video's labels), each of the 5 classes' average precision over the 116 videos
and their mean. The video-level rows train the video-level pipeline on the same files converted by
`python -m yt8m_tfx.data.frames_to_video` (the mean-pooled dequantized frames).

Two settings a model: `defaults` (only --frame_features and --model, what a new user runs) and `small_data`
(narrower layers and sampled frames, for about a hundred training videos; SMALL_DATA below). 116 videos of 5
classes cannot rank architectures meant for 3,862 classes: this checks that each model learns from real frames
and what it costs, not which is best.

  .venv/bin/python -m bench.genuine_frames                  # ~90 min on 2 cores
  .venv/bin/python -m bench.genuine_frames --models LstmModel --settings defaults --full_defaults  # ~1 h more
  .venv/bin/python -m bench.genuine_frames --models DbofModel --settings small_data --folds 3
  .venv/bin/python -m bench.genuine_frames --models LstmModel --settings defaults --full_defaults --folds 0
      # one fold (~35 min): a row keeps each fold's scores, so the folds of one setting can be run apart;
      # its out-of-fold quality is pooled once all 4 are in

Writes bench/results/genuine_frames.json (rows merged by model and setting); `python -m bench.report` puts the
table in the README.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

import numpy as np

from bench import common

RESULT_FILE = "genuine_frames.json"
SAMPLE_DIR = os.path.join(os.path.dirname(common.SAMPLE_DIR), "frame_level_2018_animals")
FOLDS = 4
CLASSES = {170: "Cat", 709: "Bear", 1057: "Sheep", 1308: "Tiger", 1454: "Dog agility"}
FRAME_MODELS = ["FrameLevelLogisticModel", "DbofModel", "LstmModel", "NetVLADModel", "NeXtVLADModel"]
VIDEO_MODELS = ["LogisticModel", "MoeModel"]  # on the mean-pooled frames
# A setting for ~90 training videos: a tenth of the default widths (fewer weights to fit from so few
# examples) and 60 sampled frames a video (a new random subset every step, and 5x less input work).
SMALL_DATA = {
    "FrameLevelLogisticModel": ["--sample_frames=60"],
    "DbofModel": ["--sample_frames=60", "--hparam=dbof_cluster_size=512", "--hparam=dbof_hidden_size=128"],
    "LstmModel": ["--sample_frames=60", "--hparam=lstm_cells=128", "--hparam=lstm_layers=1"],
    "NetVLADModel": ["--sample_frames=60", "--hparam=netvlad_cluster_size=16", "--hparam=netvlad_hidden_size=128"],
    "NeXtVLADModel": ["--sample_frames=60", "--hparam=nextvlad_cluster_size=16",
                      "--hparam=nextvlad_hidden_size=256"],
    "LogisticModel": ["--input_normalization=l2"],
    "MoeModel": ["--hparam=moe_num_mixtures=2"],
}
SETTINGS = ("defaults", "small_data")
# Defaults too slow for a routine run: LstmModel's 2 layers of 1,024 cells over 300 frames train about a
# hundredth as fast as FrameLevelLogisticModel here, so its defaults (100 epochs) take most of an hour for the
# folds. Unless --full_defaults, that row trains SPEED_ONLY_STEPS steps on one fold for speed and memory only
# and estimates the full time from them.
SPEED_ONLY_DEFAULTS = ("LstmModel",)
SPEED_ONLY_STEPS = 3


def fold_files(files, folds: int = FOLDS):
    """[held-out files of fold k] for k in range(folds): file i (sorted) is in fold i % folds."""
    files = sorted(files)
    return [files[k::folds] for k in range(folds)]


def fold_video_counts(source: str):
    """Training videos of each fold (the other folds' files)."""
    held_out = fold_files(glob.glob(os.path.join(source, "*.tfrecord")))
    return [common.count_records([f for i, files in enumerate(held_out) if i != k for f in files])
            for k in range(len(held_out))]


def stage(files, directory: str) -> str:
    """Symlinks the files into a fresh directory; returns its *.tfrecord pattern."""
    common.fresh_dir(directory)
    for path in files:
        os.symlink(os.path.abspath(path), os.path.join(directory, os.path.basename(path)))
    return os.path.join(directory, "*.tfrecord")


def read_records(pattern: str, frame_level: bool):
    """(serialized records, ids, label lists) of the files, in file order."""
    import tensorflow as tf
    records, ids, labels = [], [], []
    for path in sorted(glob.glob(pattern)):
        for record in tf.data.TFRecordDataset([path]).as_numpy_iterator():
            context = (tf.train.SequenceExample.FromString(record).context.feature if frame_level
                       else tf.train.Example.FromString(record).features.feature)
            records.append(record)
            ids.append(context["id"].bytes_list.value[0].decode())
            labels.append(list(context["labels"].int64_list.value))
    return records, ids, labels


def model_probabilities(pipeline_root: str, records, batch: int = 32) -> np.ndarray:
    """The trained model's serving probabilities [videos, 3862] for the raw records."""
    import tensorflow as tf
    from pipeline import outputs
    model = tf.saved_model.load(os.path.join(outputs.latest_artifact_uri(pipeline_root, "Model"), "Format-Serving"))
    serve = model.signatures["serving_default"]
    return np.concatenate([serve(examples=tf.constant(records[i:i + batch]))["probabilities"].numpy()
                           for i in range(0, len(records), batch)])


def average_precision(scores: np.ndarray, positive: np.ndarray):
    """One class's non-interpolated AP over all videos (the project's metrics_math); None without a positive."""
    from yt8m_tfx import metrics_math
    positives = int(np.count_nonzero(positive))
    return metrics_math.average_precision(scores, positive, positives) if positives else None


def fold_scores(probabilities: np.ndarray, ids, labels) -> dict:
    """What the pooled quality needs of one fold's videos, small enough for the results JSON: the top class
    of all 3,862 (hit@1) and the 5 sample classes' scores (their AP), at 7 significant digits."""
    return {"ids": list(ids), "labels": [[int(c) for c in video] for video in labels],
            "top_class": [int(c) for c in probabilities.argmax(axis=1)],
            "class_scores": {name: [float(f"{p:.7g}") for p in probabilities[:, c]] for c, name in CLASSES.items()}}


def scores_quality(scores: dict) -> dict:
    """hit@1 over every class, and per-class AP over the sample's 5 classes, from fold_scores."""
    labels = scores["labels"]
    hit = float(np.mean([t in video for t, video in zip(scores["top_class"], labels)]))
    per_class = {name: average_precision(np.array(scores["class_scores"][name]), np.array([c in v for v in labels]))
                 for c, name in CLASSES.items()}
    scored = [ap for ap in per_class.values() if ap is not None]
    majority = max(CLASSES, key=lambda c: sum(c in v for v in labels))
    return {"videos": len(labels), "hit_at_one": round(hit, 4),
            "majority_class_hit_at_one": round(float(np.mean([majority in v for v in labels])), 4),
            "class_ap": {name: None if ap is None else round(ap, 4) for name, ap in per_class.items()},
            "mean_class_ap": round(float(np.mean(scored)), 4) if len(scored) == len(per_class) else None}


def pooled_scores(fold_rows) -> dict:
    """The fold_scores of several folds as one."""
    return {"ids": [i for row in fold_rows for i in row["scores"]["ids"]],
            "labels": [v for row in fold_rows for v in row["scores"]["labels"]],
            "top_class": [c for row in fold_rows for c in row["scores"]["top_class"]],
            "class_scores": {name: [p for row in fold_rows for p in row["scores"]["class_scores"][name]]
                             for name in CLASSES.values()}}


def pooled_quality(probabilities: np.ndarray, labels) -> dict:
    """scores_quality of one set of [videos, 3862] probabilities."""
    return scores_quality(fold_scores(probabilities, [""] * len(labels), labels))


def steady_rates(fold_rows) -> list:
    """Each fold's training videos/s after the first step, where the Trainer measured one."""
    return [r["videos_per_second_after_first_step"] for r in fold_rows if r["videos_per_second_after_first_step"]]


def setting_flags(model: str, setting: str) -> list:
    frame_level = model in FRAME_MODELS
    return (["--frame_features"] * frame_level + [f"--model={model}"]
            + (SMALL_DATA[model] if setting == "small_data" else []))


def kept_folds(previous_row, flags, running) -> dict:
    """{fold: its row} of an earlier run of the same flags that kept its scores, for the folds not run now:
    a setting too slow for one sitting (LstmModel's defaults, ~35 min a fold) is measured a few folds at a
    time."""
    if not previous_row or previous_row.get("flags") != flags:
        return {}
    return {row["fold"]: row for row in previous_row.get("fold_runs", [])
            if row.get("scores") and row["fold"] not in running}


def run_setting(model: str, setting: str, folds, frame_dir: str, video_dir: str, bench_root: str, say=print,
                full_defaults: bool = False, previous_row: dict = None) -> dict:
    """The row of one model and setting: each fold's pipeline trains on the other folds' files and scores its
    own; the folds of previous_row (same flags) that are not run now are kept, and the out-of-fold quality is
    pooled once every fold is in."""
    frame_level = model in FRAME_MODELS
    source = frame_dir if frame_level else video_dir
    speed_only = setting == "defaults" and model in SPEED_ONLY_DEFAULTS and not full_defaults
    if speed_only:
        folds = list(folds)[-1:]
    fold_rows = []
    held_out = fold_files(glob.glob(os.path.join(source, "*.tfrecord")))
    for k in folds:
        train = [f for i, files in enumerate(held_out) if i != k for f in files]
        train_videos = common.count_records(train)
        work = os.path.join(bench_root, "genuine_frames", f"{model}_{setting}_fold{k}")
        patterns = {"train": stage(train, os.path.join(work, "train")),
                    "eval": stage(held_out[k], os.path.join(work, "eval"))}
        records, ids, labels = read_records(patterns["eval"], frame_level)
        flags = ["--train_data_pattern", patterns["train"], "--eval_data_pattern", patterns["eval"],
                 "--model", model] + (["--frame_features"] if frame_level else [])
        if setting == "small_data":
            flags += SMALL_DATA[model]
        if speed_only:
            flags += [f"--train_steps={SPEED_ONLY_STEPS}"]
        say(f"genuine_frames {model} {setting} fold {k}: {len(train)} train files, {len(held_out[k])} held out")
        root = common.fresh_dir(os.path.join(work, "root"))
        # Throughput comes from the Trainer's own steady videos/s, so run_pipeline's batch size is not used.
        run = common.run_pipeline(root, flags, train_videos, len(records), None, batch_size=1)
        state = run["training"]
        probabilities = None if speed_only else model_probabilities(root, records)
        # Each fold's root holds its models and checkpoints (up to GBs for the VLAD models): 56 of them filled
        # 62 GB of /tmp, so only the numbers are kept.
        shutil.rmtree(work, ignore_errors=True)
        fold_rows.append({
            "fold": k, "scores": None if speed_only else fold_scores(probabilities, ids, labels),
            "eval_videos": len(records), "wall_seconds": run["wall_seconds"],
            "train_videos": train_videos, "train_steps": state.get("final_step"),
            "best_step": state.get("best_step"),
            "trainer_fit_seconds": run["trainer_fit_seconds"],
            "videos_per_second_after_first_step": state.get("videos_per_second_after_first_step"),
            "stage_seconds": run["stage_seconds"], "stage_peak_tree_rss_mib": run["stage_peak_tree_rss_mib"],
            "peak_tree_rss_mib": run["peak_tree_rss_mib"], "mean_load_1min": run.get("mean_load_1min"),
            "fold_quality": None if speed_only else pooled_quality(probabilities, labels)})
        say(f"  {fold_rows[-1]['fold_quality']} ({run['wall_seconds']} s)")
    if speed_only:  # what the defaults would train: NUM_EPOCHS over each fold's training videos
        from pipeline import configs
        from yt8m_tfx import features
        videos = sum(configs.NUM_EPOCHS * count for count in fold_video_counts(source))
        rates = steady_rates(fold_rows)
        return {"model": model, "setting": setting, "input": "frames", "speed_only": True,
                "flags": ["--frame_features", f"--model={model}", f"--train_steps={SPEED_ONLY_STEPS}"],
                "folds": list(folds), "out_of_fold": None, "videos_scored": 0,
                "training_videos_per_second": rates[0] if rates else None,
                "estimated_hours_for_all_folds": round(videos / rates[0] / 3600, 1) if rates else None,
                "batch_size": features.FRAME_LEVEL_BATCH_SIZE,
                "peak_tree_rss_mib_by_stage": fold_rows[0]["stage_peak_tree_rss_mib"],
                "wall_seconds": fold_rows[0]["wall_seconds"], "fold_runs": fold_rows}
    flags = setting_flags(model, setting)
    fold_rows = sorted([*kept_folds(previous_row, flags, folds).values(), *fold_rows], key=lambda row: row["fold"])
    stage_peaks = {}
    for row in fold_rows:
        for stage_name, mib in row["stage_peak_tree_rss_mib"].items():
            stage_peaks[stage_name] = max(stage_peaks.get(stage_name, 0), mib)
    rates = steady_rates(fold_rows)
    missing = sorted(set(range(FOLDS)) - {row["fold"] for row in fold_rows})
    scores = pooled_scores(fold_rows)
    return {
        "model": model, "setting": setting, "input": "frames" if frame_level else "mean-pooled frames",
        "flags": flags, "folds": [row["fold"] for row in fold_rows], "folds_missing": missing,
        "out_of_fold": None if missing else scores_quality(scores),
        "videos_scored": len(set(scores["ids"])),
        "training_videos_per_second": round(float(np.median(rates)), 1) if rates else None,
        "peak_tree_rss_mib_by_stage": stage_peaks,
        "wall_seconds": round(sum(r["wall_seconds"] for r in fold_rows), 1), "fold_runs": fold_rows}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=FRAME_MODELS + VIDEO_MODELS,
                   choices=FRAME_MODELS + VIDEO_MODELS)
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    p.add_argument("--folds", type=int, nargs="+", default=list(range(FOLDS)))
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--output", default=RESULT_FILE)
    p.add_argument("--full_defaults", action="store_true",
                   help=f"train {', '.join(SPEED_ONLY_DEFAULTS)} with their whole defaults too (about an hour more)")
    args = p.parse_args(argv)
    if not glob.glob(os.path.join(SAMPLE_DIR, "*.tfrecord")):
        print(f"skipped: the genuine frame-level sample is not here ({SAMPLE_DIR})")
        return 0
    from yt8m_tfx.data import frames_to_video
    video_dir = os.path.join(args.bench_root, "genuine_frames", "video_level")
    frames_to_video.convert([os.path.join(SAMPLE_DIR, "*.tfrecord")], video_dir)
    result = common.read_result(args.output, "genuine_frames")
    result.update({"date": common.now(), "machine": common.machine(), "sample": SAMPLE_DIR, "folds": FOLDS,
                   "classes": {str(c): name for c, name in CLASSES.items()}, "beam": "DirectRunner (defaults)"})
    for model in args.models:
        for setting in args.settings:
            name = f"{model}:{setting}"
            row = run_setting(model, setting, args.folds, SAMPLE_DIR, video_dir, args.bench_root,
                              full_defaults=args.full_defaults, previous_row=result["runs"].get(name))
            print(f"{model} {setting}: {row['out_of_fold'] or row['training_videos_per_second']}", flush=True)
            result["runs"][name] = row
            common.write_result(args.output, result)  # after every row: a long run keeps what it measured
    return 0


if __name__ == "__main__":
    sys.exit(main())
