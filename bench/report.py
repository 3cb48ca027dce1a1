"""Builds the generated parts of the docs and bench/results/summary.csv from bench/results/*.json.

Rewrites only the text between markers: `<!-- bench:begin -->` ... `<!-- bench:end -->` in docs/results.md,
the Flink cost table in docs/scale-out.md, and in README.md the genuine frame-level table and the flag table
(from the runner's flags, not from results) and the --precision table. A benchmark whose JSON is missing is left out of the tables.
`make bench-report` runs just this.

  .venv/bin/python -m bench.report [--print]
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
from typing import Dict, List, Optional

from bench import common
from bench.common import PROJECT_ROOT, RESULTS_DIR

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
# The scale-out section's cost table (docs/scale-out.md, "Scaling out").
FLINK_BEGIN = "<!-- bench:flink:begin -->"
FLINK_END = "<!-- bench:flink:end -->"
# The genuine frame-level table in README.md ("Frame-level data").
FRAMES_BEGIN = "<!-- bench:frames:begin -->"
FRAMES_END = "<!-- bench:frames:end -->"
# The precision table in README.md ("Speed: --precision").
PRECISION_BEGIN = "<!-- bench:precision:begin -->"
PRECISION_END = "<!-- bench:precision:end -->"
FLINK_ENGINES = (("direct", "DirectRunner (2 worker processes)"),
                 ("flink_2_taskmanagers", "Flink, 2 TaskManagers"),
                 ("flink_1_taskmanager", "Flink, 1 TaskManager"))
MODELS = ("LogisticModel", "MoeModel")
STAGES = [("ImportExampleGen", "ExampleGen"), ("StatisticsGen", "StatisticsGen"), ("Transform", "Transform"),
          ("Trainer", "Trainer"), ("Evaluator", "Evaluator"), ("BulkInferrer", "BulkInferrer"),
          ("PredictionsCsvExporter", "CSV export")]


def load_results(results_dir: str = RESULTS_DIR) -> Dict[str, object]:
    results = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path) as f:
            results[os.path.splitext(os.path.basename(path))[0]] = json.load(f)
    return results


# -- formatting ---------------------------------------------------------------------------------------
def duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def number(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def rate(value) -> str:
    """examples/s with the digits a slow model needs (0.098, 6.7, 1,630)."""
    if value is None:
        return "–"
    return number(value, 2 if value < 1 else 1 if value < 100 else 0)


def metric(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def mib(value) -> str:
    return "–" if not value else f"{value / 1024:.1f} GiB"


def table(header: List[str], rows: List[List[str]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def stage_cell(run: dict, stage: str) -> str:
    seconds = run.get("stage_seconds", {}).get(stage)
    if seconds is None:
        return "–"
    rate = run.get("stage_examples_per_s", {}).get(stage)
    return f"{seconds:.0f} s" + (f" ({number(rate)}/s)" if rate else "")


# -- sections -----------------------------------------------------------------------------------------
def extra_seeds(results, model):
    """{seed: result} of plain_keras_<model>_seed<N>.json (plain Keras reruns with another seed)."""
    prefix = f"plain_keras_{model}_seed"
    return {int(name[len(prefix):]): run for name, run in sorted(results.items())
            if name.startswith(prefix) and name[len(prefix):].isdigit()}


def quality_section(results) -> List[str]:
    rows, deltas, seed_deltas = [], {}, {}
    for model in MODELS:
        tfx_run, plain = results.get(f"real_data_pipeline_{model}"), results.get(f"plain_keras_{model}")
        plain_label = f"plain Keras loop (seed {plain.get('seed', 0)})" if plain else ""
        runs = [("TFX pipeline", tfx_run), (plain_label, plain)]
        runs += [(f"plain Keras loop (seed {seed})", run) for seed, run in extra_seeds(results, model).items()]
        for label, run in runs:
            if not run:
                continue
            m = run["metrics"]
            delta = ""
            if plain and run is not plain:
                delta = f"{m['gap'] - plain['metrics']['gap']:+.4f}"
                (deltas if run is tfx_run else seed_deltas).setdefault(model, []).append(
                    m["gap"] - plain["metrics"]["gap"])
            train_rate = run.get("trainer_fit_examples_per_s" if run is tfx_run else "train_examples_per_s")
            load = run.get("mean_load_1min")
            if load is None and run.get("load_1min_at_end") is not None:
                load = (run["machine"]["load_1min_at_start"] + run["load_1min_at_end"]) / 2
            rows.append([model, label, f"{run['train_steps']} × {run['batch_size']:,}", metric(m.get("gap")),
                         delta, metric(m.get("hit_at_one")), metric(m.get("perr")), metric(m.get("map")),
                         number(m.get("example_count")), number(train_rate),
                         "–" if load is None else f"{load:.1f}"])
    if not rows:
        return []
    agreement = []
    if deltas:
        listed = ", ".join(f"{d[0]:+.4f} ({model})" for model, d in deltas.items())
        if all(abs(d[0]) <= 0.01 for d in deltas.values()):
            verdict = ("within 0.01 and not lower: the TFX path (Transform, the Trainer's DataAccessor input, "
                       "the TFMA metric plugin) loses nothing against plain Keras" if all(
                           d[0] >= -0.002 for d in deltas.values()) else "within 0.01")
        else:
            verdict = "more than 0.01 for some model: look into it before trusting the pipeline numbers"
        noise = ""
        if seed_deltas:
            noise = ("; for scale, plain Keras with another seed moves GAP by "
                     + ", ".join(f"{d:+.4f}" for values in seed_deltas.values() for d in values)
                     + " (" + ", ".join(seed_deltas) + ")")
        agreement = ["", f"TFX minus plain Keras GAP (seed 0 both): {listed}, {verdict}{noise}."]
    gaps = {(model, path): results[f"{path}_{model}"]["metrics"]["gap"] for model in MODELS
            for path in ("real_data_pipeline", "plain_keras") if f"{path}_{model}" in results}
    if len(gaps) == 4 and all(gaps[("MoeModel", p)] < gaps[("LogisticModel", p)]
                              for p in ("real_data_pipeline", "plain_keras")):
        steps = results["real_data_pipeline_MoeModel"]["train_steps"]
        agreement.append(f"MoeModel scores below LogisticModel after {steps} steps in both paths alike: a "
                         "property of the model at this training budget, not of the pipeline.")
    any_run = results.get("real_data_pipeline_LogisticModel") or results.get("plain_keras_LogisticModel") or {}
    return [
        "### TFX against plain Keras at a fixed 300 steps (historical: commit 25abffc, before the current defaults)",
        "",
        "(Raw per-dimension z-score inputs, Adam 0.01, no keep-best; "
        f"{any_run.get('train_shards', 'validate0000-0063')} train, "
        f"{number(any_run.get('train_examples'))} videos; {any_run.get('eval_shards', 'validate0064-0079')} "
        f"eval, {number(any_run.get('eval_examples'))} videos.) The pipeline matches plain Keras on the same "
        "model code; the table above has today's defaults.",
        "",
        "`python -m bench.real_data_pipeline --model=M` (the whole pipeline; metrics from the Evaluator's TFMA "
        "output) and `python -m bench.plain_keras --model=M` (no TFX: tf.data + numpy z-score + the same "
        "`build_compiled_model`, seed, steps and batch size; metrics from `yt8m_tfx.metrics_math`). "
        "ΔGAP is against the plain Keras run with seed 0 (the pipeline's seed). "
        "Train examples/s: the `model.fit` loop alone in both paths "
        "(for TFX as Keras logs it inside the Trainer, with its 5 validation steps; the whole component is in "
        "the speed table below). Load: the 1-minute load average on the 2 cores during the run.",
        "",
        *table(["model", "path", "steps × batch", "GAP", "ΔGAP", "hit@1", "PERR", "MAP", "eval videos",
                "train examples/s", "load"], rows),
        *agreement,
        "",
    ]


def speed_section(results) -> List[str]:
    rows = []
    runs = [(f"real data, {m}", results.get(f"real_data_pipeline_{m}")) for m in MODELS]
    make_run = results.get("make_run")
    if make_run:
        runs.append((f"`make run` (synthetic {make_run['train_examples']:,} / {make_run['eval_examples']:,} videos, "
                     "fresh root, data generation included)", make_run))
    for label, run in runs:
        if not run:
            continue
        steps = f"{run['train_steps']} × {run['batch_size']:,}"
        load = run.get("mean_load_1min")
        rows.append([label, steps, duration(run["wall_seconds"]), mib(run.get("peak_rss_mib")),
                     mib(run.get("peak_tree_rss_mib")), "–" if load is None else f"{load:.1f}",
                     *[stage_cell(run, s) for s, _ in STAGES]])
    if not rows:
        return []
    return [
        "### Pipeline speed on 2 cores (whole run, and per component from MLMD)",
        "",
        "Each run is `local_runner.py` in a fresh pipeline root, as a child of `/usr/bin/time -v`. Component "
        "seconds are MLMD's execution create → last update times: the executor's whole run including its "
        "start-up (imports, Beam set-up), which dominates on a few thousand videos. Examples/s counts train + "
        "eval videos for ExampleGen, StatisticsGen and Transform (it analyzes train, transforms both), "
        "steps × batch for the Trainer, eval videos for Evaluator, BulkInferrer and the CSV export. "
        "At this size the fixed start-up dominates; the scaling table below gives the per-video cost. "
        "Peak RSS: the largest single process (GNU time); all processes: the sampled sum over the runner and "
        "its Beam worker processes. Mean load: the 1-minute load average during the run (2 cores; above 2 "
        "the benchmark shared the CPUs with other work and its times are inflated).",
        "",
        *table(["run", "steps × batch", "wall time", "peak RSS", "peak RSS, all processes", "mean load",
                *[name for _, name in STAGES]], rows),
        "",
        *memory_rows(runs),
    ]


def memory_rows(runs) -> List[str]:
    """Per-component peak of the summed RSS (runner + Beam workers), for runs that recorded it."""
    rows = [[label, *[mib(run["stage_peak_tree_rss_mib"].get(stage)) for stage, _ in STAGES]]
            for label, run in runs if run and run.get("stage_peak_tree_rss_mib")]
    if not rows:
        return []
    exact = all(run.get("rss_sampling") for _, run in runs if run and run.get("stage_peak_tree_rss_mib"))
    return [f"Peak RSS of all processes while each component ran "
            f"({f'high-water marks, every {common.SAMPLE_SECONDS} s' if exact else 'sampled every second'}):", "",
            *table(["run", *[name for _, name in STAGES]], rows), ""]


def scaling_section(results) -> List[str]:
    scaling = results.get("scaling")
    if not scaling:
        return []
    shown = [s for s in STAGES if s[0] != "PredictionsCsvExporter"]
    def seconds(run, stage):
        value = run["stage_seconds"].get(stage)
        return "– (not blessed)" if value is None and stage == "BulkInferrer" else (
            "–" if value is None else f"{value:.0f} s")

    rows = []
    for run in scaling["runs"]:
        shards = f"{run['train_shards']} shards" + (", 64 linked again" if run.get("repeated_shards") else "")
        rows.append([f"{run['data_multiple']:g}x ({shards})", number(run["train_examples"]),
                     duration(run["wall_seconds"]), mib(run.get("peak_rss_mib")),
                     "–" if run.get("mean_load_1min") is None else f"{run['mean_load_1min']:.1f}",
                     *[seconds(run, s) for s, _ in shown]])
    marginal = scaling.get("marginal_seconds_per_1k_train_videos") or {}
    if marginal and len(scaling["runs"]) > 1:
        first, last = scaling["runs"][0], scaling["runs"][-1]

        def slope(stage):
            if stage != "total" and not all(stage in r["stage_seconds"] for r in (first, last)):
                return "–"
            return f"{marginal.get(stage, 0):+.1f} s"
        rows.append([f"extra seconds per 1,000 more train videos ({first['data_multiple']:g}x → "
                     f"{last['data_multiple']:g}x)", "", slope("total"), "", "", *[slope(s) for s, _ in shown]])
    return [
        f"### Scaling with data ({scaling['model']}, {scaling['train_steps']} × {scaling['batch_size']:,} "
        f"steps at every size; eval split fixed at {number(scaling['eval_examples'])} videos)",
        "",
        "`python -m bench.scaling`: training shards validate0000..N-1 for N = "
        + ", ".join(str(r["train_shards"]) for r in scaling["runs"])
        + (" (past 64, the 64 train shards are linked again under other names: duplicate videos, real I/O "
           "and compute)" if any(r.get("repeated_shards") for r in scaling["runs"]) else "")
        + ". The number of train "
        "steps is fixed, so the Trainer's time should stay flat and the data stages show the growth; "
        "Evaluator and BulkInferrer always see the same eval split. The last row is the slope between the "
        "smallest and the largest run: what each component costs per video once its fixed start-up is paid.",
        "",
        *table(["train data", "train videos", "wall time", "peak RSS", "mean load", *[name for _, name in shown]],
               rows),
        "",
    ]


FULL_2018_TRAIN_VIDEOS = 3_888_919  # the 2018 release's video-level train split


def scaling_big_data_section(results) -> List[str]:
    """`bench.scaling --big_data`: the data stages as copied and as linked (+ sampled statistics), same run."""
    big = results.get("scaling_big_data")
    if not big or not big.get("big_data_runs"):
        return []
    configs = [("default (ImportExampleGen)", big["runs"], big["marginal_seconds_per_1k_train_videos"]),
               (" ".join(big["big_data_flags"]), big["big_data_runs"],
                big["big_data_marginal_seconds_per_1k_train_videos"])]

    from bench.scaling import data_stage_seconds as data_seconds
    rows = []
    for name, runs, marginal in configs:
        for run in runs:
            ingest = run["stage_seconds"].get("ImportExampleGen", run["stage_seconds"].get("ShardImporter"))
            rows.append([name, f"{run['data_multiple']:g}x", number(run["train_examples"]),
                         duration(run["wall_seconds"]), f"{ingest:.0f} s",
                         f"{run['stage_seconds'].get('StatisticsGen', 0):.0f} s",
                         f"{run['stage_seconds'].get('Transform', 0):.0f} s", f"{data_seconds(run):.0f} s"])
        last = runs[-1]
        extra_thousands = (FULL_2018_TRAIN_VIDEOS - last["train_examples"]) / 1000
        to_first_step = data_seconds(last) + marginal["data_stages"] * extra_thousands
        rows.append([name, "per 1,000 more videos", "", f"{marginal['total']:+.2f} s", "", "", "",
                     f"{marginal['data_stages']:+.2f} s (full 2018 train split: ≈ {duration(to_first_step)} "
                     "before training)"])
    ratio = configs[0][2]["data_stages"] / max(configs[1][2]["data_stages"], 1e-9)
    return [
        "### Data stages at scale: copied vs linked shards (`bench.scaling --big_data`)", "",
        f"Same machine, one run: every size with the default ingest and with `{configs[1][0]}` "
        f"(pipeline/ingest.py links the shards instead of re-writing them; statistics on a sample). The data "
        f"stages' cost per extra 1,000 training videos falls {ratio:.1f}x. The extrapolation to the full 2018 "
        f"video-level train split ({number(FULL_2018_TRAIN_VIDEOS)} videos) assumes this DirectRunner on 2 cores; "
        "Dataflow spreads the same work over workers.", "",
        *table(["ingest", "train data", "train videos", "wall time", "ExampleGen / ShardImporter", "StatisticsGen",
                "Transform", "data stages"], rows),
        "",
    ]


def multi_worker_section(results) -> List[str]:
    """`bench.multi_worker`: training examples/s with 1 and 2 local worker processes."""
    mw = results.get("multi_worker")
    if not mw:
        return []
    single = {run["model"]: run for run in mw["runs"] if run["workers"] == 1}
    rows = [[run["model"], str(run["workers"]), number(run["examples_per_s"]),
             f"{run['examples_per_s'] / single[run['model']]['examples_per_s']:.2f}x",
             duration(run["fit_seconds"]), metric(run["gap"])] for run in mw["runs"]]
    steps, batch = mw["runs"][0]["train_steps"], mw["runs"][0]["global_batch_size"]
    return [
        "### Training on 1 and 2 worker processes (`bench.multi_worker`)", "",
        f"`pipeline.launch_training` on a pipeline root's Transform output ({mw['data']}), {steps} steps of a global batch "
        f"of {batch}, `MultiWorkerMirroredStrategy` over localhost for 2 workers. examples/s = steps x batch / "
        f"model.fit seconds. {mw['note'][0].upper() + mw['note'][1:]}.", "",
        *table(["model", "workers", "examples/s", "vs 1 worker", "model.fit", "eval GAP"], rows), "",
    ]


def frame_level_section(results) -> List[str]:
    """`bench.frame_level`: per-stage peak memory and Trainer throughput on realistic frame-level videos."""
    fl = results.get("frame_level")
    if not fl:
        return []
    stages = STAGES + [(common.AFTER_PIPELINE, "after the pipeline (summary, run report)")]
    def peak(run, stage):
        tree, process = run["stage_peak_tree_rss_mib"].get(stage), run["stage_peak_process_rss_mib"].get(stage)
        return f"{mib(tree)} ({mib(process)})" if tree else "–"

    memory_rows = [[f"{run['data_multiple']}x ({number(run['train_videos'])} + {number(run['eval_videos'])} videos, "
                    f"{number(run['data_mib'])} MiB)", run["ingest"]] + [peak(run, stage) for stage, _ in stages]
                   for run in fl["runs"] if not run["data_stages_cached"]]
    speed_rows = [[f"{run['data_multiple']}x", run["ingest"], run["model"], str(run["sample_frames"] or "all"),
                   f"{run['train_steps']} x {run['batch_size']}", rate(run["trainer_videos_per_s"]),
                   rate(run.get("trainer_steady_videos_per_s")), metric(run["gap"]),
                   mib(run["stage_peak_tree_rss_mib"].get("Trainer")),
                   mib(run["stage_peak_tree_rss_mib"].get("Evaluator"))] for run in fl["runs"]]
    return [
        "### Frame-level at realistic size (`bench.frame_level`)", "",
        f"Synthetic SequenceExamples of {fl['frames_per_video'][0]}-{fl['frames_per_video'][1]} frames a video "
        f"(like the real release); {fl['beam']}; FrameLevelLogisticModel. Peak summed RSS of the runner and its "
        "Beam workers while each stage ran, and in brackets the largest single process (the runner: "
        "LocalDagRunner runs every executor in it, with TensorFlow, TFX, TFMA and TFDV loaded)"
        + (f"; RSS is {fl['rss_sampling']}:" if fl.get("rss_sampling") else ", sampled every second:"), "",
        *table(["data", "--ingest"] + [label for _, label in stages], memory_rows), "",
        *growth_with_videos(results, stages),
        *worker_mode_comparison(results, stages),
        "Trainer videos/s with all frames and with `--sample_frames`: over the whole model.fit, and after its "
        "first step (graph tracing, filling the shuffle buffer); the eval GAP; and the peak memory of the "
        "Trainer and the Evaluator with that model:", "",
        *table(["data", "--ingest", "model", "frames", "steps x batch", "videos/s (whole fit)",
                "videos/s (after step 1)", "eval GAP", "Trainer peak", "Evaluator peak"], speed_rows), "",
    ]


def genuine_frames_rows(gf, brief: bool):
    """(header, rows): a row per run, or with brief a row per model, each cell "defaults / small data"."""
    classes = list(gf["classes"].values())

    def cells(run, per_class):
        quality = run["out_of_fold"] or {"hit_at_one": None, "mean_class_ap": None, "class_ap": {}}
        peaks = run["peak_tree_rss_mib_by_stage"]
        return ([metric(quality["hit_at_one"]), metric(quality["mean_class_ap"])]
                + [metric(quality["class_ap"].get(name)) for name in classes if per_class]
                + [rate(run["training_videos_per_second"]), mib(peaks.get("Trainer"))])

    def model_name(run):
        return f"`{run['model']}`" + (" (mean-pooled frames)" if run["input"] != "frames" else "")

    if brief:
        by_model = {}
        for run in gf["runs"].values():
            by_model.setdefault(model_name(run), {})[run["setting"]] = cells(run, per_class=False)
        missing = ["–"] * 4
        rows = [[model, *[f"{d} / {s}" for d, s in zip(settings.get("defaults", missing),
                                                          settings.get("small_data", missing))]]
                for model, settings in by_model.items()]
        return ["model", "hit@1", "mean AP", "train videos/s", "Trainer peak"], rows
    rows = [[model_name(run), run["setting"].replace("_", " "), *cells(run, per_class=True),
             mib(max(run["peak_tree_rss_mib_by_stage"].values(), default=None)), duration(run["wall_seconds"])]
            for run in gf["runs"].values()]
    return (["model", "setting", "hit@1", "mean AP", *classes, "train videos/s", "Trainer peak",
             "largest stage peak", "time"], rows)


def genuine_frames_section(results, brief: bool = False) -> List[str]:
    """`bench.genuine_frames`: every frame-level model (and video-level ones on the mean-pooled frames) trained
    on the genuine sample, 4-fold by file, scored out of fold. brief: README.md's table (docs/results.md has
    each class's AP, the largest stage's memory and the time)."""
    gf = results.get("genuine_frames")
    if not gf or not gf.get("runs"):
        return []
    runs = list(gf["runs"].values())
    scored = [run for run in runs if run["out_of_fold"]]
    speed_only = [run for run in runs if run.get("speed_only")]
    majority = scored[0]["out_of_fold"]["majority_class_hit_at_one"]
    partial = [f"`{run['model']}` {run['setting']}" for run in scored if len(run["folds"]) < gf["folds"]]
    header, rows = genuine_frames_rows(gf, brief)
    notes = [f"`{run['model']}` defaults: speed and memory only ({run['flags'][-1]}, one fold); at "
             f"{rate(run['training_videos_per_second'])} videos/s its defaults (batch {run['batch_size']}, 100 "
             f"epochs) would train about {run['estimated_hours_for_all_folds']} h for the 4 folds."
             for run in speed_only]
    notes += [f"`{run['model']}` {run['setting'].replace('_', ' ')}: {len(run['folds'])} of the {gf['folds']} folds "
              f"measured so far (the rest: `--folds {' '.join(map(str, run['folds_missing']))}`), hit@1 "
              + ", ".join(f"{row['fold_quality']['hit_at_one']:.4f} on fold {row['fold']}'s "
                          f"{row['fold_quality']['videos']} videos (their most common class alone: "
                          f"{row['fold_quality']['majority_class_hit_at_one']:.4f})" for row in run["fold_runs"]) + "."
              for run in runs if run.get("folds_missing") and not run.get("speed_only")]
    notes += [f"`{run['model']}` {run['setting'].replace('_', ' ')} ranks `{only}` first for every video, so its "
              f"hit@1 is that class's share of the videos."
              for run in scored for only in [one_top_class(run, gf.get("classes", {}))] if only]
    intro = (f"Out of fold on the {scored[0]['out_of_fold']['videos']} genuine 2018 videos of `../shared` (5 "
             f"classes, {gf['folds']} folds by file" + (f"; not every fold: {', '.join(partial)}" if partial else "")
             + f"): hit@1 over all 3,862 classes (the most common class alone: {metric(majority)}) and the mean "
             "of the 5 classes' average precision. `small data`: narrower layers and 60 sampled frames "
             "(`bench/genuine_frames.py`). Training videos/s after the first step, peak summed RSS. 116 videos of "
             "5 classes cannot rank models built for 3,862 classes: this shows that each learns from genuine frames.")
    if brief:
        return [intro + " Each cell: defaults / small data; per class and per stage: "
                "[docs/results.md](docs/results.md).", "",
                *table(header, rows), "", *[" ".join(notes)] * bool(notes), *([""] if notes else [])]
    return ["### Frame-level models on genuine frames (`bench.genuine_frames`)", "", intro + " Time: all folds' "
            "pipelines; largest stage: the highest peak of any stage.", "", *table(header, rows), "",
            *[" ".join(notes)] * bool(notes), *([""] if notes else [])]


def one_top_class(run, class_names: Dict[str, str]) -> Optional[str]:
    """The name of the class a run's model ranks first for every scored video; None when it varies (or the
    run kept no per-video scores)."""
    top = {c for fold in run.get("fold_runs", []) for c in fold.get("scores", {}).get("top_class", [])}
    return class_names.get(str(top.pop()), "?") if len(top) == 1 else None


def render_genuine_frames(results) -> str:
    return "\n".join([FRAMES_BEGIN, *genuine_frames_section(results, brief=True), FRAMES_END])


def _linked_first_runs(results, name) -> dict:
    """{data multiple: run} of a frame-level result file's runs with linked shards that measured every stage
    (not the runs that reused the cached data stages)."""
    return {r["data_multiple"]: r for r in (results.get(name) or {}).get("runs", [])
            if r["ingest"] == "import" and not r["data_stages_cached"]}


def growth_with_videos(results, stages) -> List[str]:
    """Peak memory at 4x the videos against 1x with the defaults (linked shards, threads), for the main run
    (frame_level.json) and every repeat (frame_level_repeat*.json), and the mean ratio: one pair varies by
    several per cent from run to run."""
    names = ["frame_level"] + sorted(name for name in results if name.startswith("frame_level_repeat"))
    columns = [(name, _linked_first_runs(results, name)) for name in names]
    columns = [(name, runs) for name, runs in columns if 1 in runs and 4 in runs]
    if not columns:
        return []
    def pair(runs, stage):
        return tuple(runs[m]["stage_peak_tree_rss_mib"].get(stage) for m in (1, 4))
    def growth(runs, stage):
        small, big = pair(runs, stage)
        return f"{mib(small)} -> {mib(big)} ({round((big / small - 1) * 100):+d} %)" if small and big else "–"
    def mean_growth(stage):
        ratios = [big / small for small, big in (pair(runs, stage) for _, runs in columns) if small and big]
        return f"{round((sum(ratios) / len(ratios) - 1) * 100):+d} %" if ratios else "–"
    rows = [[label] + [growth(runs, stage) for _, runs in columns] + [mean_growth(stage)] for stage, label in stages
            if any(stage in runs[1]["stage_peak_tree_rss_mib"] for _, runs in columns)]
    return [
        "Peak summed RSS at 1x and 4x the videos with the defaults (`--ingest=import`, worker threads), in the "
        f"run above and {len(columns) - 1} repeat(s) of it (`--ingests import --output frame_level_repeatN.json`), "
        "and the mean growth:", "",
        *table(["stage"] + ["1x -> 4x, " + ("run above" if name == "frame_level" else name.replace("frame_level_", ""))
                            for name, _ in columns] + ["mean"], rows), "",
    ]


def worker_mode_comparison(results, stages) -> List[str]:
    """The same 1x run (linked shards, FrameLevelLogisticModel, all frames) with the DirectRunner's two
    workers as processes (frame_level_processes.json, `--beam_direct_running_mode multi_processing`) and as
    threads (frame_level.json)."""
    processes, threads = (_linked_first_runs(results, name).get(1) for name in ("frame_level_processes", "frame_level"))
    if not processes or not threads:
        return []
    rows = [[label, mib(processes["stage_peak_tree_rss_mib"].get(stage)),
             mib(threads["stage_peak_tree_rss_mib"].get(stage)),
             duration(processes["stage_seconds"].get(stage)), duration(threads["stage_seconds"].get(stage))]
            for stage, label in stages if stage in threads["stage_seconds"]]
    return [
        "Beam's two DirectRunner workers as processes (each loads TensorFlow and, in the Evaluator and "
        "BulkInferrer, the model) and as threads of the runner process (one TensorFlow runtime, one model; the "
        "frame-level default): 1x, `--ingest=import`, peak summed RSS and seconds per stage:", "",
        *table(["stage", "RSS, 2 worker processes", "RSS, 2 worker threads", "seconds, processes",
                "seconds, threads"], rows), "",
        *([results["frame_level_processes"]["note"], ""] if results["frame_level_processes"].get("note") else []),
    ]


def gap_section(results) -> List[str]:
    g = results.get("gap_plugin")
    if not g:
        return []
    def seconds(value):
        return f"{value:.1f} s"

    def working(kind):
        peak = g.get(f"{kind}_peak_working_bytes")
        return f"{peak / 2**20:,.0f} MiB" if peak is not None else "–"

    rows = [
        ["numpy `metrics_math.gap` on the full arrays", metric(g["numpy_gap"]), "–", seconds(g["numpy_seconds"]),
         "– (needs all predictions at once)", working("numpy")],
        ["GapState exact (8 partial states, merged, as the TFMA combiner)", metric(g["exact_state_gap"]),
         f"{g['exact_abs_diff']:.1e}", seconds(g["exact_seconds"]), f"{g['exact_state_bytes'] / 2**20:.1f} MiB",
         working("exact")],
        ["GapState binned (forced: max_exact_pairs=100k)", metric(g["binned_state_gap"]),
         f"{g['binned_abs_diff']:.1e} (bound {g['binned_error_bound']:.1e})", seconds(g["binned_seconds"]),
         f"{g['binned_state_bytes'] / 2**20:.1f} MiB", working("binned")],
    ]
    return [
        f"### GAP plugin vs numpy ({number(g['videos'])} videos × {number(g['classes'])} classes, synthetic scores)",
        "",
        "`python -m bench.gap_plugin --videos 100000`: the accumulator the TFMA GAP metric uses, fed in "
        "1,000-video chunks like the Beam combiner, against the one-shot numpy reference. Input: "
        f"{g['input_bytes'] / 2**30:.1f} GiB of predictions and labels. Peak working memory: the most "
        "allocated at once on top of the inputs (tracemalloc).",
        "",
        *table(["implementation", "GAP", "abs. error vs numpy", "time", "accumulator size",
                "peak working memory"], rows),
        "",
    ]


def models_section(results) -> List[str]:
    data = results.get("models")
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [])
    if not data:
        return []
    rows = [[str(m.get("model", "?")), str(m.get("level", "")), number(m.get("params")),
             number(m.get("batch_size")),
             rate(m.get("train_examples_per_s")),
             rate(m.get("predict_examples_per_s")),
             "–" if m.get("load_avg_1m") is None else f"{m['load_avg_1m']:.1f}"]
            for m in data if isinstance(m, dict)]
    return [
        "### Model throughput (`python -m bench.models`)",
        "",
        "Random inputs, default hparams, `train_on_batch` / `predict_on_batch` after a warm-up step (no input "
        "pipeline); mean load as above.",
        "",
        *table(["model", "level", "parameters", "batch", "train examples/s", "predict examples/s", "load"],
               rows),
        "",
    ]


def run_label(name: str, otherwise: str = "") -> str:
    """recipe:NAME -> recipe `NAME` (recipe:NAME (setup) -> recipe `NAME` (setup)); any other run name gets
    `otherwise` appended."""
    if not name.startswith("recipe:"):
        return name + otherwise
    recipe, _, setup = name[len("recipe:"):].partition(" ")
    return f"recipe `{recipe}`" + (f" {setup}" if setup else "")


def video_models_section(results) -> List[str]:
    """Issue #13: every video-level model at defaults, the recipes and plain-Keras baselines, and the log of
    what was tried (bench/results/video_models.json)."""
    bench = results.get("video_models")
    if not bench:
        return []
    rows = []
    order = lambda item: (item[1]["kind"] != "pipeline", item[0].startswith("recipe:"), item[0])  # noqa: E731
    for name, run in sorted(bench["runs"].items(), key=order):
        m, training = run["metrics"], run.get("training", {})
        if run["kind"] == "pipeline":
            label = run_label(name, " (defaults)")
            if training.get("best_step") is None:  # no validation split: the last step is exported
                kept = f"last of {training['final_step']}" if training else "–"
            else:
                kept = (f"{training['best_step']} of {training.get('final_step')}"
                        + (" (early stop)" if training.get("stopped_early") else ""))
            ones = run.get("csv_scores_equal_to_1")
            rows.append([label, metric(m.get("gap")), metric(m.get("hit_at_one")), metric(m.get("perr")),
                         metric(m.get("map")), kept, duration(run.get("trainer_seconds")),
                         duration(run.get("tuner_seconds")) if run.get("tuner_seconds") else "–",
                         duration(run.get("wall_seconds")), "–" if ones is None else f"{ones:,}",
                         "–" if run.get("mean_load_1min") is None else f"{run['mean_load_1min']:.1f}"])
        else:
            rows.append([f"plain Keras: {name.replace('plain_', '')}", metric(m.get("gap")),
                         metric(m.get("hit_at_one")), metric(m.get("perr")), metric(m.get("map")),
                         f"{run.get('epochs')} epochs, batch {run.get('batch_size', 1024)}",
                         duration(run.get("trainer_seconds")), "–", "–", "–", "–"])
    lines = [
        f"### Model quality on real data ({bench.get('train_shards')} train, {number(bench.get('train_examples'))} "
        f"videos; {bench.get('eval_shards')} eval, {number(bench.get('eval_examples'))} videos)",
        "",
        "`python -m bench.video_models`: the whole pipeline in a fresh root per row (90 % of the train split "
        "trains, 10 % by id hash is the keep-best validation split; the `video_level_*` recipes hold none out "
        "and export the last step of a cosine schedule; GAP "
        "etc. are the Evaluator's on the eval split), and plain-Keras scripts without TFX (all train videos, "
        "scored once on the eval split). Kept step: the validation-best step exported, of the steps trained. "
        "CSV 1s: scores that print as exactly 1 in predictions.csv (ties that lose the ranking). Load: mean "
        "1-minute load average during the run on the 2 cores (above 2, other work shared the CPUs and the "
        "times are inflated).",
        "",
        *table(["run", "GAP", "hit@1", "PERR", "MAP", "kept step", "Trainer", "Tuner", "pipeline wall",
                "CSV 1s", "load"], rows),
        "",
        *full_size_lines(results),
    ]
    experiments = bench.get("experiments", [])
    if experiments:
        lines += ["What was tried (in-memory Keras on the same split, eval-split GAP at the best epoch; "
                  "`experiments` in the JSON):", "",
                  *table(["experiment", "best GAP", "at epoch", "verdict"],
                         [[e["what"], metric(e["gap"]), str(e.get("epoch") or "–"), e.get("verdict", "")]
                          for e in experiments]), ""]
    return lines


def full_size_lines(results) -> List[str]:
    """Quality and time nearer the issue's full size: K-fold out-of-fold scores over all 80 shards
    (bench/cross_validation.py) and pipeline time with 23k train / 29k scored videos (--issue_size)."""
    lines = []
    cross = (results.get("cross_validation") or {}).get("runs", {})
    if cross:
        rows = [[run_label(name),
                 number(run["train_videos_per_fold"]), number(run["videos"]), metric(run["pooled"]["gap"]),
                 metric(run["pooled"]["hit_at_one"]), metric(run["pooled"]["perr"]), metric(run["pooled"]["map"]),
                 f"{run['fold_gap_mean']:.4f} ± {run['fold_gap_std']:.4f}", duration(run["seconds"])]
                for name, run in sorted(cross.items())]
        lines += ["Nearer the full sample's size — `python -m bench.cross_validation`: K-fold over all 80 shards "
                  "(each fold trains in memory with the project's model code on the other shards, 90 % of the "
                  "videos at 10 folds and 97.5 % at 40, and predicts its held-out shards); every video is held out "
                  "once and the out-of-fold predictions of all of them are scored together (a row that names its "
                  "folds trains and scores only those). MAP averages over the classes that have a "
                  "positive: 23k videos hold many more rare classes than 4.4k, so it is lower than above and not "
                  "comparable.", "",
                  *table(["setup", "train videos / fold", "held-out videos", "pooled GAP", "hit@1", "PERR", "MAP",
                          "fold GAP mean ± sd", "training (all folds)"], rows), ""]
        for name, run in sorted(cross.items()):
            paired = run.get("paired")
            if paired:
                pairs = ", ".join(f"{p['held_out_shards']} {p['reference_gap']:.4f} → {p['gap']:.4f}"
                                  for p in paired["folds"])
                lines += [f"On the same held-out videos as the 10-fold run of the same setup, {run_label(name)}, "
                          f"{number(paired['reference_train_videos_per_fold'])} → "
                          f"{number(run['train_videos_per_fold'])} training videos a fold: "
                          f"**{paired['mean_gain']:+.4f} GAP** ({pairs}).", ""]
    timing = (results.get("video_models") or {}).get("issue_size_timing", {})
    if timing:
        stages = ("Transform", "Trainer", "Evaluator", "BulkInferrer", "PredictionsCsvExporter")
        rows = [[run_label(name), number(run["train_videos"]), number(run["scored_videos"]),
                 *[duration(run["stage_seconds"].get(stage)) for stage in stages], duration(run["wall_seconds"]),
                 f"{run['mean_load_1min']:.1f}"] for name, run in sorted(timing.items())]
        lines += ["Pipeline time at full size — `python -m bench.video_models --issue_size`: all 80 shards "
                  "train and about 29,000 videos are scored (the 80 shards and 21 of them "
                  "again: trained-on videos, so time only, no GAP).", "",
                  *table(["recipe", "train videos", "scored videos", *[dict(STAGES).get(s, s) for s in stages],
                          "pipeline wall", "load"], rows), ""]
    return lines


def flink_cost_section(results) -> List[str]:
    """bench.flink_cost: the data stages on the DirectRunner and on the local Flink cluster, same shards."""
    cost = results.get("flink_cost")
    if not cost:
        return []
    sizes = [r["train_examples"] for r in next(iter(cost["engines"].values()))["runs"]]
    data_stages = [s for s in ("ImportExampleGen", "StatisticsGen", "Transform")]
    rows = []
    for engine, label in FLINK_ENGINES:
        measured = cost["engines"].get(engine)
        if not measured:
            continue
        per_stage = measured["stage_seconds_per_1k_videos"]
        rows.append([label, f"{measured['one_job_seconds']:.0f} s",
                     *[f"{r['data_stage_seconds']:.0f} s" for r in measured["runs"]],
                     f"{measured['data_stage_seconds_per_1k_videos']:.1f} s",
                     *[f"{per_stage[s]:.1f} s" if s in per_stage else "–" for s in data_stages],
                     duration(measured["runs"][-1]["wall_seconds"])])
    return [
        f"<!-- generated by `make bench-report` (bench/report.py) from bench/results/flink_cost.json -->",
        "",
        f"`python -m bench.flink_cost` ({cost['date'][:10]}, {cost['machine']['cpus']} cores; Flink "
        f"{cost['flink']}, Beam {cost['beam']}, parallelism {cost['parallelism']}): the same real training "
        f"shards at {number(sizes[0])} and {number(sizes[-1])} videos (eval split {number(cost['eval_examples'])} "
        "videos) through the whole pipeline on each engine in one run. Data stages = ImportExampleGen + "
        "StatisticsGen + Transform; \"per 1,000\" is the slope between the two sizes; one Beam job is a "
        "one-element job timed alone (the fixed cost every stage pays). Where the two sizes' times differ "
        "by less than run-to-run noise, the slope is noise too (it can come out negative): at such sizes the "
        "fixed cost is the whole story."
        + "".join(f" The {dict(FLINK_ENGINES).get(engine, engine)} row was measured again alone ({day[:10]}): other "
                  "work on the machine had slowed its first run." for engine, day in cost.get("remeasured", {}).items()),
        "",
        *table(["engine", "one Beam job", f"data stages, {number(sizes[0])} videos",
                f"{number(sizes[-1])} videos", "data stages per 1,000 more", "ExampleGen / 1,000",
                "StatisticsGen / 1,000", "Transform / 1,000", f"whole run, {number(sizes[-1])} videos"], rows),
        "",
    ]


def roofline_share(gflops, roofline: dict, policy: str) -> str:
    """GFLOP/s and its share of the same run's matmul roofline for the precision's compute dtype."""
    ceiling = roofline.get("bfloat16" if "bfloat16" in policy else "float32")
    if gflops is None:
        return "–"
    return f"{gflops:.0f}" + (f" ({gflops / ceiling:.0%})" if ceiling else "")


def precision_section(results) -> List[str]:
    """bench.precision: each recipe under float32 and mixed bfloat16, same run."""
    bench = results.get("precision")
    if not bench or not bench.get("runs"):
        return []
    roofline = bench["roofline"]
    scored = ("Evaluator", "BulkInferrer", "PredictionsCsvExporter")
    rows = []
    for recipe, policies in bench["runs"].items():
        for policy, measured in policies.items():
            step, run = measured.get("step", {}), measured.get("pipeline", {})
            stages = run.get("issue_size_stage_seconds", {})
            rows.append([f"`{recipe}`", f"`{policy}`", metric(run.get("gap")),
                         duration(run.get("issue_size_wall_seconds")), duration(stages.get("Trainer")),
                         roofline_share(run.get("issue_size_trainer_gflops"), run.get("roofline", {}), policy),
                         roofline_share(step.get("gflops"), step.get("roofline", {}), policy),
                         *[duration(stages.get(stage)) for stage in scored]])
    m, k, n = bench["setup"]["roofline_shape"]
    dates = {kind: sorted({measured[kind]["date"][:10] for policies in bench["runs"].values()
                           for measured in policies.values() if measured.get(kind, {}).get("date")})
             for kind in ("pipeline", "step")}
    when = (f"pipelines {', '.join(dates['pipeline'])}, in memory {', '.join(dates['step'])}"
            if dates["pipeline"] != dates["step"] else bench["roofline_date"][:10])
    return [
        f"<!-- generated by `make bench-report` (bench/report.py) from bench/results/precision.json and "
        "scoring.json -->", "",
        f"`python -m bench.precision` ({when}, {bench['setup']['machine']['cpus']} cores): "
        f"the matmul roofline ({m}×{k} · {k}×{n}, measured in each run; the latest here) is {roofline['float32']:.0f} GFLOP/s in float32 and "
        f"{roofline['bfloat16']:.0f} in bfloat16. GAP: the shared split (held-out real videos); times: the issue "
        "size (23,091 training videos, 29,322 scored). Trainer GFLOP/s: the MatMul FLOPs of the traced training "
        "step × steps / `model.fit` seconds, in brackets the share of the same run's roofline for its precision; in memory: "
        "the same model trained on batches already in memory.", "",
        *table(["recipe", "--precision", "GAP", "pipeline", "Trainer", "Trainer GFLOP/s", "in memory GFLOP/s",
                "Evaluator", "BulkInferrer", "CSV export"], rows), ""]


def step_time_section(results) -> List[str]:
    """bench.precision's profile of the in-memory training step: the share of op CPU time per layer class."""
    runs = (results.get("precision") or {}).get("runs", {})
    profiled = [(recipe, policy, measured["step"]["cpu_time_shares"]) for recipe, policies in runs.items()
                for policy, measured in policies.items() if measured.get("step", {}).get("cpu_time_shares")]
    if not profiled:
        return []
    categories = {}
    for _, _, shares in profiled:
        for category, share in shares.items():
            if category != "op_cpu_seconds_per_step":
                categories[category] = categories.get(category, 0.0) + share
    shown = sorted(categories, key=lambda c: -categories[c])[:6]
    rows = [[f"`{recipe}`", f"`{policy}`", f"{shares['op_cpu_seconds_per_step']:.2f} s",
             *[f"{shares.get(c, 0):.0%}" for c in shown],
             f"{sum(v for c, v in shares.items() if c not in shown and c != 'op_cpu_seconds_per_step'):.0%}"]
            for recipe, policy, shares in profiled]
    return ["### Where a training step's time goes (`bench.precision --measure step`)", "",
            "The in-memory step above under TensorFlow's profiler: each op's CPU time (both cores' threads "
            "summed), grouped by the layer class it computes for, forward and gradient alike; `matmul` is every "
            "matrix product, `optimizer` the weight update.", "",
            *table(["recipe", "--precision", "op CPU time / step", *shown, "rest"], rows), "",
            *[f"{e['date']}, {e['change']}: seconds a step " + ", ".join(
                f"`{policy}` {e['before'][policy]['seconds_per_step']:.2f} → {after['seconds_per_step']:.2f}"
                for policy, after in e["after"].items()) + f" ({e['measure']}; what was tried and dropped: "
              "`experiments` in bench/results/precision.json)." for e in results["precision"].get("experiments", [])],
            *[""] * bool(results["precision"].get("experiments"))]


def scoring_section(results, brief: bool = False) -> List[str]:
    """bench.scoring: the marginal videos/s of the stages that score (issue #36's third target); brief (the
    README) leaves the log of what was tried to docs/results.md."""
    bench = results.get("scoring")
    if not bench or not bench.get("runs"):
        return []
    from bench.scoring import SCORING_STAGES as stages
    rows = []
    for row in bench["runs"].values():
        large = row["runs"][-1]
        speeds = row["marginal_videos_per_second"]
        rows.append([f"`{row['recipe']}`", f"`{row['precision']}`", *[rate(speeds.get(stage)) for stage in stages],
                     rate(row.get("model_alone_videos_per_second")),
                     " / ".join(f"{large['stage_seconds'][stage]:.0f}" for stage in stages)])
    sizes = sorted({r["scored_videos"] for row in bench["runs"].values() for r in row["runs"]})
    dates = sorted({row["date"][:10] for row in bench["runs"].values()})
    lines = ["### Scoring speed (`python -m bench.scoring`)", "",
             f"({', '.join(dates)}.) Marginal videos/s of each stage: 1,000 / the seconds per 1,000 more videos "
             f"scored, between two pipeline runs scoring {number(sizes[0])} and {number(sizes[-1])} genuine videos "
             "(so start-up cancels out; training cut to a few steps, as a model's weights do not change what a "
             "video costs to score). Model alone: the serving signature over the same videos in one process, the "
             "floor for the Evaluator and the BulkInferrer, which both run the model. Last column: each stage's "
             f"seconds at {number(sizes[-1])} videos, start-up included.", "",
             *table(["recipe", "--precision", "Evaluator", "BulkInferrer", "CSV export", "model alone",
                     "seconds (E / BI / CSV)"], rows), ""]
    if brief:
        return lines + ["What was changed and why the float32 best recipe cannot reach 2,000 videos/s here: "
                        "docs/results.md.", ""]
    for e in bench.get("experiments", []):
        lines += [f"{e['date']}, {e['change']}: {e['result']}.", ""]
    return lines


def render_precision(results) -> str:
    return "\n".join([PRECISION_BEGIN, *precision_section(results), *scoring_section(results, brief=True),
                      PRECISION_END])


def render_flink(results) -> str:
    return "\n".join([FLINK_BEGIN, *flink_cost_section(results), FLINK_END])


def render(results) -> str:
    machines = [r.get("machine") for r in results.values() if isinstance(r, dict) and r.get("machine")]
    dates = sorted(r["date"][:10] for r in results.values() if isinstance(r, dict) and r.get("date"))
    lines = [BEGIN, "<!-- generated by `make bench-report` (bench/report.py) from bench/results/*.json; "
                    "do not edit by hand -->", ""]
    if machines:
        m = machines[0]
        span = dates[0] + (f" – {dates[-1]}" if dates[-1] != dates[0] else "")
        lines += [f"Measured with the `make bench` scripts ({span}) "
                  f"on {m['cpus']} CPU cores, {m.get('mem_gib', '?')} GiB RAM, shared with other work, "
                  f"benchmarks at niceness {m.get('nice', 0)}. Raw numbers: `bench/results/*.json`, "
                  "flattened in `bench/results/summary.csv`.", ""]
    for section in (video_models_section, precision_section, step_time_section, scoring_section, quality_section,
                    speed_section,
                    scaling_section,
                    scaling_big_data_section, multi_worker_section, frame_level_section, genuine_frames_section,
                    gap_section,
                    models_section):
        lines += section(results)
    lines += ["`make bench` runs every benchmark (about 6 hours on 2 shared cores) and then this report; "
              "`make bench-report` only regenerates these tables. The real-data benchmarks need "
              "`../shared/yt8m_sample` and print \"skipped\" without it.", END]
    return "\n".join(lines)


def flatten(prefix: str, value, rows: list):
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), item, rows)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            flatten(f"{prefix}[{i}]", item, rows)
    else:
        rows.append((prefix, value))


def write_csv(results, path: str):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["benchmark", "key", "value"])
        for name, result in results.items():
            rows = []
            flatten("", result, rows)
            for key, value in rows:
                writer.writerow([name, key, value])


def update_readme(readme: str, section: str, begin: str = BEGIN, end_marker: str = END) -> bool:
    with open(readme) as f:
        text = f.read()
    start, end = text.find(begin), text.find(end_marker)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: markers {begin} ... {end_marker} not found")
    new = text[:start] + section + text[end + len(end_marker):]
    if new == text:
        return False
    with open(readme, "w") as f:
        f.write(new)
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--readme", default=os.path.join(PROJECT_ROOT, "README.md"))
    p.add_argument("--results_doc", default=os.path.join(PROJECT_ROOT, "docs", "results.md"))
    p.add_argument("--scale_out_doc", default=os.path.join(PROJECT_ROOT, "docs", "scale-out.md"))
    p.add_argument("--results_dir", default=RESULTS_DIR)
    p.add_argument("--print", action="store_true", help="print the results section instead of writing it")
    args = p.parse_args(argv)
    import local_runner
    from pipeline import flag_docs
    flags_changed = update_readme(args.readme, flag_docs.section(local_runner.build_parser()), flag_docs.BEGIN,
                                  flag_docs.END)
    print(f"{args.readme}: flag table {'updated' if flags_changed else 'unchanged'}")
    results = load_results(args.results_dir)
    if not results:
        print(f"skipped: no results in {args.results_dir}")
        return 0
    section = render(results)
    if args.print:
        print(section)
        return 0
    write_csv(results, os.path.join(args.results_dir, "summary.csv"))
    changed = update_readme(args.results_doc, section)
    changed = update_readme(args.scale_out_doc, render_flink(results), FLINK_BEGIN, FLINK_END) or changed
    changed = update_readme(args.readme, render_genuine_frames(results), FRAMES_BEGIN, FRAMES_END) or changed
    changed = update_readme(args.readme, render_precision(results), PRECISION_BEGIN, PRECISION_END) or changed
    print(f"{args.results_doc}, {args.scale_out_doc}, {args.readme}: results {'updated' if changed else 'unchanged'}; "
          f"{len(results)} result files; wrote {os.path.join(args.results_dir, 'summary.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
