"""A static HTML report of a pipeline run: <pipeline_root>/report/index.html, readable offline.

  python -m pipeline.report --pipeline_root=tfx_output [--max_videos=20000]

local_runner.py writes it at the end of every run. It reads the latest run's artifacts through MLMD:
training curves from the Trainer's TensorBoard events, the Evaluator's metrics per TFMA slice, and — by
running the trained model's own signatures over (up to --max_videos of) the eval split — the AP of each
class (the starter code's MAP terms: each class's pairs among the videos' top-20, over all its positives)
and a few videos with their top-5 predictions and true labels. Class names appear where the release's
vocabulary ships (2018). Charts are PNGs embedded as data URIs: the file needs nothing else.
"""
from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import glob
import html
import io
import os
import sys
from typing import Dict, List, Optional, Sequence

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS before tensorflow loads)
from yt8m_tfx import command_line

import numpy as np

REPORT_DIR = "report"
SLICE_METRICS = ("example_count", "gap", "hit_at_one", "perr", "map")
TOP_CLASSES = 20          # best and worst classes shown
MIN_CLASS_POSITIVES = 5   # classes with fewer eval positives have too noisy an AP to rank
EXAMPLE_VIDEOS = 6
EXAMPLE_TOP = 5


@dataclasses.dataclass
class ClassAp:
    class_id: int
    name: str
    vertical: str
    ap: float
    positives: int


@dataclasses.dataclass
class ExampleVideo:
    video_id: str
    true_labels: List[str]
    predictions: List[tuple]  # (name, score, is a true label)


@dataclasses.dataclass
class ReportData:
    pipeline_root: str
    dataset: str
    curves: Dict[str, List[tuple]]          # TensorBoard tag -> [(step, value)]
    slices: List[dict]                      # outputs.slice_metrics rows, Overall first
    blessed: Optional[bool]
    videos_scored: int
    class_aps: List[ClassAp]                # classes with positives among the scored videos
    examples: List[ExampleVideo]
    training_state: dict


# ---------------------------------------------------------------------------------------------- reading


def read_scalars(log_dir: str) -> Dict[str, List[tuple]]:
    """{tag: [(step, value)] sorted by step} of every scalar in the TensorBoard event files under log_dir
    (LossCurve's `train_loss`, keep-best's `validation/gap`, ... against the optimizer step)."""
    import tensorflow as tf
    curves: Dict[str, Dict[int, float]] = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True)):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField("tensor"):
                    number = tf.make_ndarray(value.tensor)
                elif value.HasField("simple_value"):
                    number = value.simple_value
                else:
                    continue
                if np.ndim(number) == 0 and np.asarray(number).dtype.kind in "fiu":  # not the model's JSON
                    curves.setdefault(value.tag, {})[int(event.step)] = float(number)
    return {tag: sorted(points.items()) for tag, points in curves.items()}


def class_aps(per_class_ap: np.ndarray, positives: np.ndarray, vocabulary) -> List[ClassAp]:
    """ClassAp of every class with positives; names from the vocabulary (None: "class N")."""
    rows = []
    for class_id in np.flatnonzero(positives > 0):
        info = vocabulary[class_id] if vocabulary else None
        rows.append(ClassAp(int(class_id), (info.name if info and info.name else f"class {class_id}"),
                            info.vertical if info else "", float(per_class_ap[class_id]), int(positives[class_id])))
    return rows


def best_and_worst(rows: Sequence[ClassAp], count: int = TOP_CLASSES, min_positives: int = MIN_CLASS_POSITIVES):
    """(best, worst): up to `count` classes each by AP, among those with at least min_positives positives (all
    classes when none has that many); never the same class in both (fewer than 2 x count: split in halves)."""
    ranked = [r for r in rows if r.positives >= min_positives] or list(rows)
    ranked = sorted(ranked, key=lambda r: (-r.ap, -r.positives, r.class_id))
    best = ranked[:min(count, (len(ranked) + 1) // 2)]
    worst = ranked[len(best):][::-1][:count]
    return best, worst


def score_eval_split(signatures, example_files: Sequence[str], max_videos: int, vocabulary,
                     batch_size: int = 512):
    """(videos scored, per-class AP, positives per class, example videos) of the model on the records.
    signatures: the model's (serving, top-k, transform_features) signatures; batch_size: videos per call
    at most (record_batches: frame-level batches are smaller)."""
    from inference.predict import scored_batches
    from trainer.signatures import VIDEO_ID_OUTPUT
    from yt8m_tfx import features, metrics_math
    serve, top_k, transform_features = signatures
    state, videos, examples = metrics_math.MapState(), 0, []

    def name(class_id):
        info = vocabulary[class_id] if vocabulary else None
        return info.name if info and info.name else f"class {class_id}"

    for batch, probabilities, labels in scored_batches(serve, transform_features, example_files, batch_size,
                                                       max_videos):
        state.add_videos(probabilities, labels, features.TOP_K)
        if len(examples) < EXAMPLE_VIDEOS:
            ids = top_k(examples=batch[:EXAMPLE_VIDEOS])[VIDEO_ID_OUTPUT].numpy().reshape(-1)
            for video_id, p, y in zip(ids, probabilities, labels):
                order = np.argsort(-p)[:EXAMPLE_TOP]
                examples.append(ExampleVideo(
                    video_id.decode(), [name(c) for c in np.flatnonzero(y)],
                    [(name(c), float(p[c]), bool(y[c])) for c in order]))
        videos += len(labels)
    low, high = state.per_class_bounds()
    positives = state.positives_per_class if state.positives_per_class is not None else np.zeros(0, np.int64)
    return videos, (low + high) / 2, positives, examples[:EXAMPLE_VIDEOS]


def collect(pipeline_root: str, max_videos: int = 20000) -> ReportData:
    """Everything the report shows, from the latest run's artifacts (MLMD)."""
    import json
    import tensorflow as tf
    from inference.predict import load_signatures
    from pipeline import configs, outputs
    from trainer.signatures import (PROBABILITIES_OUTPUT, SERVING_SIGNATURE, TOP_K_SIGNATURE,
                                    TRANSFORM_FEATURES_SIGNATURE)
    from yt8m_tfx import class_names, features
    evaluation = outputs.latest_artifact_uri(pipeline_root, "ModelEvaluation")
    model = outputs.latest_artifact_uri(pipeline_root, "Model")
    model_run = outputs.latest_artifact_uri(pipeline_root, "ModelRun")
    examples = outputs.latest_artifact_uri(pipeline_root, "Examples", producer=configs.EXAMPLE_GEN_IDS)
    if not (evaluation and model and examples):
        raise command_line.UserError(f"--pipeline_root={pipeline_root}: no evaluated model there yet (run the "
                                     "pipeline there first)")
    signatures = load_signatures(os.path.join(model, "Format-Serving"), SERVING_SIGNATURE, TOP_K_SIGNATURE,
                                 TRANSFORM_FEATURES_SIGNATURE)
    release = features.release_for_num_classes(signatures[0].structured_outputs[PROBABILITIES_OUTPUT].shape[-1])
    vocabulary = class_names.vocabulary_of(release.name)
    files = sorted(tf.io.gfile.glob(os.path.join(examples, "Split-eval", "*")))
    videos, per_class_ap, positives, example_videos = score_eval_split(signatures, files, max_videos, vocabulary)
    from trainer.checkpoints import TRAINING_STATE_FILE
    state_path = os.path.join(model_run, TRAINING_STATE_FILE) if model_run else ""
    return ReportData(
        pipeline_root=pipeline_root, dataset=release.name,
        curves=read_scalars(model_run) if model_run else {},
        slices=outputs.slice_metrics(evaluation, SLICE_METRICS),
        blessed=outputs.validation_ok(evaluation),
        videos_scored=videos,
        class_aps=class_aps(per_class_ap, positives, vocabulary),
        examples=example_videos,
        training_state=json.load(open(state_path)) if state_path and os.path.exists(state_path) else {})


# ---------------------------------------------------------------------------------------------- drawing


def png_data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def curve_charts(curves: Dict[str, List[tuple]]) -> List[tuple]:
    """[(title, data URI)]: training loss, and the validation metrics when keep-best ran, against the step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    charts = []
    loss = curves.get("train_loss")  # trainer/step_callbacks.LossCurve
    if loss:
        figure, axis = plt.subplots(figsize=(6, 3))
        axis.plot(*zip(*loss), marker=".")
        axis.set_xlabel("step")
        axis.set_ylabel("training loss")
        axis.grid(alpha=0.3)
        charts.append(("Training loss", png_data_uri(figure)))
    validation = {tag.split("/", 1)[1]: points for tag, points in curves.items() if tag.startswith("validation/")}
    if validation:
        figure, axis = plt.subplots(figsize=(6, 3))
        for metric, points in sorted(validation.items()):
            axis.plot(*zip(*points), marker=".", label=metric)
        axis.set_xlabel("step")
        axis.set_ylabel("validation split")
        axis.legend()
        axis.grid(alpha=0.3)
        charts.append(("Validation GAP / hit@1 / PERR (keep-best)", png_data_uri(figure)))
    return charts


def slice_chart(slices: List[dict], metric: str = "gap") -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [row for row in slices if metric in row]
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(rows) + 0.8))
    labels = [row["slice"] for row in rows][::-1]
    axis.barh(labels, [row[metric] for row in rows][::-1], color="#4878a8")
    axis.set_xlabel(metric.upper() if metric == "gap" else metric)
    axis.set_xlim(0, 1)
    axis.grid(axis="x", alpha=0.3)
    return png_data_uri(figure)


def class_chart(rows: Sequence[ClassAp], title: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(rows) + 0.8))
    axis.barh([f"{r.name} ({r.positives})" for r in rows][::-1], [r.ap for r in rows][::-1], color="#5a9a68")
    axis.set_xlim(0, 1)
    axis.set_title(title)
    axis.grid(axis="x", alpha=0.3)
    return png_data_uri(figure)


# ---------------------------------------------------------------------------------------------- HTML


def _table(header: Sequence[str], rows: Sequence[Sequence], css_class: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _metric(name: str, value) -> str:
    if value is None:
        return ""
    return f"{int(value):,}" if name == "example_count" else f"{value:.4f}"


def render_html(data: ReportData) -> str:
    e = html.escape
    parts = [f"<h1>yt8m-tfx run report</h1><p class='meta'>{e(data.pipeline_root)} · {e(data.dataset)} · "
             f"written {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}</p>"]
    overall = next((row for row in data.slices if row["slice"] == "Overall"), {})
    verdict = {True: "blessed", False: "NOT blessed", None: "no blessing"}[data.blessed]
    parts.append("<h2>Evaluation</h2><p class='summary'>" + " · ".join(
        f"{name} <b>{_metric(name, overall[name])}</b>" for name in SLICE_METRICS if name in overall)
        + f" · {verdict}</p>")
    state = data.training_state
    if state:
        facts = [f"steps {state.get('initial_step', 0)}→{state.get('final_step', '?')} "
                 f"of {state.get('total_steps', '?')}"]
        if "best_step" in state:
            facts.append(f"best validation GAP {state['best_validation_gap']:.4f} at step {state['best_step']}")
        parts.append(f"<p>Training: {e(', '.join(facts))}</p>")
    parts.append("<h2>Training curves</h2>")
    charts = curve_charts(data.curves)
    parts.extend(f"<figure><img alt='{e(title)}' src='{uri}'><figcaption>{e(title)}</figcaption></figure>"
                 for title, uri in charts)
    if not charts:
        parts.append("<p>No TensorBoard scalars in the Trainer's model_run.</p>")
    parts.append("<h2>Metrics per slice (TFMA)</h2>")
    parts.append(_table(["slice"] + list(SLICE_METRICS),
                        [[e(row["slice"])] + [_metric(name, row.get(name)) for name in SLICE_METRICS]
                         for row in data.slices], "slices"))
    parts.append(f"<figure><img alt='GAP per slice' src='{slice_chart(data.slices)}'>"
                 "<figcaption>GAP per slice</figcaption></figure>")
    best, worst = best_and_worst(data.class_aps)
    parts.append(f"<h2>Classes by AP</h2><p>Over {data.videos_scored:,} eval videos scored with the trained model; "
                 f"AP of a class = its pairs among each video's top-20 over all its positives (the terms of MAP); "
                 f"classes with at least {MIN_CLASS_POSITIVES} positives ranked (positives in brackets).</p>")
    parts.append("<div class='pair'>")
    for title, rows in ((f"{len(best)} best", best), (f"{len(worst)} worst", worst)):
        parts.append(f"<div><img alt='{e(title)} classes' src='{class_chart(rows, title + ' classes')}'>"
                     + _table(["class", "name", "vertical", "AP", "positives"],
                              [[r.class_id, e(r.name), e(r.vertical), f"{r.ap:.4f}", r.positives] for r in rows],
                              "classes") + "</div>")
    parts.append("</div><h2>Example videos</h2>")
    for video in data.examples:
        predictions = "".join(f"<li class='{'hit' if hit else 'miss'}'>{e(name)} {score:.3f}</li>"
                              for name, score, hit in video.predictions)
        parts.append(f"<div class='video'><b>{e(video.video_id)}</b><br>true: {e(', '.join(video.true_labels))}"
                     f"<ol>{predictions}</ol></div>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}.meta{color:#666}"
             ".pair{display:flex;gap:2em}.video{display:inline-block;vertical-align:top;width:30%;margin:0 1em 1em 0}"
             "li.hit{color:#1a7f37;font-weight:bold}li.miss{color:#555}img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>yt8m-tfx report</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_report(pipeline_root: str, max_videos: int = 20000) -> str:
    """Writes <pipeline_root>/report/index.html and returns its path."""
    import tensorflow as tf
    page = render_html(collect(pipeline_root, max_videos))
    out_dir = os.path.join(pipeline_root, REPORT_DIR)
    tf.io.gfile.makedirs(out_dir)
    path = os.path.join(out_dir, "index.html")
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(page)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pipeline_root", required=True)
    p.add_argument("--max_videos", type=int, default=20000,
                   help="eval videos scored for the per-class AP and examples (default %(default)s)")
    command_line.add_verbose_flag(p)
    args = p.parse_args(argv)
    print(f"wrote {write_report(args.pipeline_root, args.max_videos)}")
    return 0


if __name__ == "__main__":
    sys.exit(command_line.run_tool(main))
