"""The whole pipeline, for real, with LocalDagRunner on small data (slow: minutes)."""
import glob
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

import local_runner
from inference.csv_format import HEADER
from pipeline import outputs
from tests.conftest import PROJECT_ROOT, parse_row, real_shards, write_without_labels
from yt8m_tfx import class_names, features

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def runner_argv(monkeypatch):
    """Beam/absl parse sys.argv as flags: pytest's own (e.g. -v -rs) must not reach them."""
    monkeypatch.setattr("sys.argv", ["local_runner.py"])


def _eval_examples(pattern):
    return [r.numpy() for r in tf.data.TFRecordDataset(sorted(glob.glob(pattern)))]


def _executions_by_state(pipeline_root):
    from ml_metadata.proto import metadata_store_pb2
    store = outputs.metadata_store(pipeline_root)
    type_names = {t.id: t.name.rsplit(".", 1)[-1] for t in store.get_execution_types()}
    counts = {}
    for execution in store.get_executions():
        key = (type_names[execution.type_id], metadata_store_pb2.Execution.State.Name(execution.last_known_state))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _run_notebook(pipeline_root):
    """Executes notebooks/tfma_slices.ipynb headless on this pipeline root; checks that no cell prints a warning
    or writes to stderr and that the plot cell draws a PNG; returns its metrics table."""
    import io
    import nbformat
    import pandas as pd
    from nbclient import NotebookClient
    notebooks = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
    notebook = nbformat.read(os.path.join(notebooks, "tfma_slices.ipynb"), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("print(gap_table.to_csv())"))
    os.environ["YT8M_PIPELINE_ROOT"] = pipeline_root
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": notebooks}}).execute()
    finally:
        del os.environ["YT8M_PIPELINE_ROOT"]
    for cell in notebook.cells[:-1]:
        for output in cell.get("outputs", []):
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            assert output.get("name") != "stderr" and "Warning" not in text and "WARNING" not in text, output
    assert any("image/png" in output.get("data", {}) for output in notebook.cells[-2].outputs)
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.get("name") == "stdout")
    return pd.read_csv(io.StringIO(printed), index_col="slice")


def _video_id(serialized, frame_level, dataset=features.DEFAULT_DATASET):
    id_key = features.release(dataset).id_key
    if frame_level:
        context, _ = features.frame_level_feature_specs(tf, dataset)
        context.pop(features.LABELS_KEY)
        return tf.io.parse_single_sequence_example(serialized, context)[0][id_key].numpy().decode()
    spec = {id_key: features.video_level_feature_spec(tf, dataset)[id_key]}
    return tf.io.parse_single_example(serialized, spec)[id_key].numpy().decode()


def _check_predictions_csv(pipeline_root, eval_pattern, top_k=20, frame_level=False,
                           dataset=features.DEFAULT_DATASET):
    csv_dir = outputs.latest_artifact_uri(pipeline_root, "yt8m.PredictionsCsv")
    lines = open(os.path.join(csv_dir, "predictions.csv")).read().splitlines()
    assert lines[0] == HEADER
    rows = {video_id: (classes, scores) for video_id, classes, scores in map(parse_row, lines[1:])}
    examples = _eval_examples(eval_pattern)
    ids = [_video_id(e, frame_level, dataset) for e in examples]
    assert sorted(rows) == sorted(ids) and len(lines) - 1 == len(ids)
    for classes, scores in rows.values():
        assert len(classes) == top_k and scores == sorted(scores, reverse=True)
    # The CSV equals the exported model's own top-k for the same raw examples.
    model = tf.saved_model.load(os.path.join(outputs.latest_artifact_uri(pipeline_root, "Model"), "Format-Serving"))
    probabilities = model.signatures["serving_default"](examples=tf.constant(examples[:16]))["probabilities"].numpy()
    for video_id, p in zip(ids[:16], probabilities):
        classes, scores = rows[video_id]
        np.testing.assert_allclose(scores, p[classes], rtol=1e-4, atol=1e-6)
        assert min(scores) >= np.sort(p)[-top_k] - 1e-6
    # predictions_named.csv: the same ids, classes and scores, with the vocabulary's names and verticals.
    import csv
    vocabulary = class_names.vocabulary_of(dataset)
    if vocabulary is None:  # a release without shipped class names (2017): no named file
        assert not os.path.exists(os.path.join(csv_dir, "predictions_named.csv"))
        return rows
    with open(os.path.join(csv_dir, "predictions_named.csv"), newline="") as f:
        named = list(csv.DictReader(f))
    assert len(named) == top_k * len(rows)
    for row in named:
        classes, scores = rows[row["VideoId"]]
        rank, class_id = int(row["Rank"]), int(row["ClassId"])
        assert (classes[rank - 1], scores[rank - 1]) == (class_id, float(row["Score"]))
        assert (row["ClassName"], row["Vertical"]) == (class_names.display_name(vocabulary, class_id),
                                                       vocabulary[class_id].vertical)
    return rows


RUN_REPORTS = {}  # report paths written by the e2e runs, for the browser test below


class _ReportParser:
    """The embedded images and the slice table's rows of a pipeline/report.py page."""

    def __init__(self, page):
        from html.parser import HTMLParser
        self.images, self.slice_rows = [], []
        table, row = [None], [None]
        parser = HTMLParser()
        parser.handle_starttag = lambda tag, attrs: (
            self.images.append(dict(attrs)["src"]) if tag == "img" else
            table.__setitem__(0, dict(attrs).get("class")) if tag == "table" else
            row.__setitem__(0, []) if tag == "tr" else None)
        parser.handle_data = lambda data: row[0].append(data) if row[0] is not None and table[0] == "slices" else None
        parser.handle_endtag = lambda tag: (
            (self.slice_rows.append(row[0]) if table[0] == "slices" and row[0] else None, row.__setitem__(0, None))
            if tag == "tr" else None)
        parser.feed(page)


def _check_report(root, evaluation):
    """The run's HTML report: every chart an embedded, non-empty PNG; the slice table shows the Evaluator's
    numbers; best/worst classes carry vocabulary names. Returns its path."""
    import base64
    path = os.path.join(root, "report", "index.html")
    page = open(path, encoding="utf-8").read()
    parsed = _ReportParser(page)
    assert len(parsed.images) == 5, parsed.images  # loss, validation metrics, GAP per slice, best, worst classes
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    table = {cells[0]: cells[1:] for cells in parsed.slice_rows[1:]}  # after the header row
    expected = outputs.slice_metrics(evaluation)
    assert len(table) == len(expected)
    for row in expected:
        assert float(table[row["slice"]][1]) == pytest.approx(row["gap"], abs=5e-5), row["slice"]
        assert float(table[row["slice"]][2]) == pytest.approx(row["hit_at_one"], abs=5e-5), row["slice"]
    assert "Video game" in page or "Game" in page  # class 0 of the 2018 vocabulary is the most frequent
    return path


def test_synthetic_pipeline_end_to_end_then_served_from_cache(tmp_path, synthetic_video_dir, capsys):
    root = str(tmp_path / "root")
    # 25 % of the 240 training videos validate keep-best (10 % would be too few: training without it).
    argv = ["--data_dir", synthetic_video_dir, "--pipeline_root", root, "--train_steps", "60",
            "--validation_percent", "25", "--batch_size", "32", "--gap_threshold", "0.3",
            "--beam_direct_running_mode", "multi_processing", "--beam_direct_num_workers", "2"]
    import tempfile
    tfx_sdists = os.path.join(tempfile.gettempdir(), "tmp*", "build", "tfx")
    sdists_before = set(glob.glob(tfx_sdists))
    local_runner.main(argv)
    # The DirectRunner's Beam components did not each copy tfx into /tmp as an sdist (80 MB per component).
    assert set(glob.glob(tfx_sdists)) == sdists_before

    evaluation = outputs.latest_artifact_uri(root, "ModelEvaluation")
    metrics = outputs.overall_metrics(evaluation)
    assert metrics["example_count"] == 60
    assert metrics["gap"] > 0.3, metrics  # chance is ~0.001 on 3862 Zipf-distributed classes
    assert 0 < metrics["hit_at_one"] <= 1 and 0 < metrics["perr"] <= 1 and 0 < metrics["map"] <= 1
    assert metrics["gap_error_bound"] == 0.0  # exact mode
    assert outputs.validation_ok(evaluation)
    import tensorflow_model_analysis as tfma
    slices = {key for key, _ in tfma.load_eval_result(evaluation).slicing_metrics}
    assert () in slices
    assert {k[0][1] for k in slices if k and k[0][0] == "num_labels_bucket"} <= {1, 2, 3, 4, 5}
    assert len([k for k in slices if k and k[0][0] == "num_labels_bucket"]) >= 3
    assert {k[0][1] for k in slices if k and k[0][0] == "rgb_norm_bucket"} == {0, 1, 2, 3}

    gap_table = _run_notebook(root)
    assert gap_table.loc["Overall", "gap"] == pytest.approx(metrics["gap"])
    assert gap_table.loc["Overall", "example_count"] == 60
    assert any(name.startswith("num_labels_bucket=") for name in gap_table.index)
    assert {f"rgb_norm_bucket={i}" for i in range(4)} <= set(gap_table.index)  # bucket 0 is "0", not "0.0"
    assert "first_label_vertical=Games" in gap_table.index  # class 0 ("Game") is the most frequent
    for row in outputs.slice_metrics(evaluation):  # the notebook shows the Evaluator's numbers
        assert gap_table.loc[row["slice"], "gap"] == pytest.approx(row["gap"])

    RUN_REPORTS["synthetic"] = _check_report(root, evaluation)

    rows = _check_predictions_csv(root, os.path.join(synthetic_video_dir, "validate*.tfrecord"))
    # The standalone CLI on the pushed model reproduces the pipeline's CSV.
    from inference import predict
    cli_csv = str(tmp_path / "cli_predictions.csv")
    predict.main(["--model_dir", os.path.join(root, "serving_model"), "--input_data_pattern",
                  os.path.join(synthetic_video_dir, "validate*.tfrecord"), "--output_file", cli_csv,
                  "--batch_size", "7", "--named_output_file", str(tmp_path / "cli_named.csv")])
    cli_lines = open(cli_csv).read().splitlines()
    assert len(open(tmp_path / "cli_named.csv").read().splitlines()) == 1 + 20 * len(rows)
    assert cli_lines[0] == HEADER and len(cli_lines) == len(rows) + 1
    for video_id, classes, scores in map(parse_row, cli_lines[1:]):
        # Same classes and scores; saturated scores (1.0) may tie, so compare per class, not by position.
        cli, pipeline_row = dict(zip(classes, scores)), dict(zip(*rows[video_id]))
        assert set(cli) == set(pipeline_row)
        np.testing.assert_allclose([cli[c] for c in sorted(cli)], [pipeline_row[c] for c in sorted(cli)],
                                   rtol=1e-4)
    # The standalone evaluation CLI on the pushed model and the eval split gives the Evaluator's numbers.
    from evaluator_ext import evaluate
    metrics_json = tmp_path / "metrics.json"
    evaluate.main(["--model_dir", os.path.join(root, "serving_model"), "--eval_data_pattern",
                   os.path.join(synthetic_video_dir, "validate*.tfrecord"), "--batch_size", "7",
                   "--output_json", str(metrics_json)])
    evaluated = json.loads(metrics_json.read_text())
    assert evaluated["example_count"] == 60
    for name in ("gap", "hit_at_one", "perr", "map"):
        assert evaluated[name] == pytest.approx(metrics[name], abs=1e-6), name
    pushed = outputs.latest_artifact_uri(root, "PushedModel")
    assert os.path.exists(os.path.join(pushed, "saved_model.pb"))
    assert glob.glob(os.path.join(root, "serving_model", "*", "saved_model.pb"))  # versioned push

    local_runner.main(argv)  # same inputs and code: the data and training stages come from the cache
    executions = _executions_by_state(root)
    for component in ("ImportExampleGen", "StatisticsGen", "Transform", "Trainer"):
        assert executions.get((component, "COMPLETE")) == 1, executions
        assert executions.get((component, "CACHED")) == 1, executions
    # The Evaluator re-runs once: the first run's model is now the blessed baseline it compares to.
    assert executions.get(("Evaluator", "COMPLETE")) == 2, executions
    second = outputs.overall_metrics(outputs.latest_artifact_uri(root, "ModelEvaluation"))
    assert second["gap_diff"] == pytest.approx(0.0, abs=1e-9)  # same model as its baseline
    assert outputs.validation_ok(outputs.latest_artifact_uri(root, "ModelEvaluation"))

    # A run whose model is not blessed: its summary names none of the earlier runs' predictions or pushes.
    capsys.readouterr()
    local_runner.main([*argv, "--gap_threshold", "0.99"])  # the Evaluator re-runs, the rest comes from cache
    summary = capsys.readouterr().out
    assert "NOT blessed" in summary and "predicted nothing and pushed nothing" in summary, summary
    assert re.search(r"predictions CSV +\(none\)", summary) and re.search(r"pushed model +\(none\)", summary)
    assert re.search(r"evaluation \(TFMA\) +\S+/Evaluator/evaluation/", summary)

    # Edited code, as a user edits it: in a copy of the project, one byte added to the metric plugin re-runs
    # the Evaluator (not the Trainer); one byte added to the GAP math, which keep-best also uses, re-runs the
    # Trainer. The data stages come from the cache throughout.
    copy = _project_copy(tmp_path / "project")
    _append_byte(copy, "evaluator_ext.tfma_metrics")
    _run_in(copy, argv)
    executions = _executions_by_state(root)
    assert executions.get(("Evaluator", "COMPLETE")) == 4, executions  # run 2's exact setup: cached before
    assert executions.get(("Trainer", "COMPLETE")) == 1 and executions.get(("Trainer", "CACHED")) == 3
    _append_byte(copy, "yt8m_tfx.metrics_math")
    _run_in(copy, argv)
    executions = _executions_by_state(root)
    assert executions.get(("Trainer", "COMPLETE")) == 2, executions
    for component in ("ImportExampleGen", "StatisticsGen", "Transform"):
        assert executions.get((component, "COMPLETE")) == 1 and executions.get((component, "CACHED")) == 4


def _project_copy(destination):
    """The project's code (what git tracks, without its data) in another folder. The curated schemas are
    linked, not copied: ImportSchemaGen keys on the schema's path, and an edit of code must not change it."""
    import shutil
    import subprocess
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    for relative in tracked:
        if relative.endswith((".py", ".csv", ".md")) and not relative.startswith("bench/results"):
            os.makedirs(os.path.join(destination, os.path.dirname(relative)), exist_ok=True)
            shutil.copy2(os.path.join(PROJECT_ROOT, relative), os.path.join(destination, relative))
    os.symlink(os.path.join(PROJECT_ROOT, "yt8m_tfx", "schemas"), os.path.join(destination, "yt8m_tfx", "schemas"))
    return str(destination)


def _append_byte(project, module):
    from yt8m_tfx.code_fingerprint import module_file
    with open(module_file(module, project), "a") as f:
        f.write("\n")


def _run_in(project, argv):
    """local_runner.py of another copy of the project, in a process of its own (so it imports that copy)."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, os.path.join(project, "local_runner.py"), *argv], cwd=project,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_real_yt8m_shards_end_to_end_with_recipe_tuner_and_epochs(tmp_path):
    """The fast recipe from a flag file, a tiny Tuner search whose winner reaches the Trainer, --num_epochs
    turned into steps from the train split's size, and batch predictions for label-less (test-like) shards."""
    import json
    from pipeline.data_checks import scan_tfrecord
    from trainer import data_split
    train = real_shards([0, 1, 2, 3])
    real_shards([64])
    data_dir = os.path.dirname(train[0])
    root = str(tmp_path / "root")
    # The eval shard without its labels, like Kaggle's test shards: predicted by --inference_data_pattern.
    test_ids = write_without_labels(os.path.join(data_dir, "validate0064.tfrecord"), str(tmp_path / "test"))
    local_runner.main([
        "@" + os.path.join(PROJECT_ROOT, "recipes", "video_level_fast.flags"),
        "--inference_data_pattern", str(tmp_path / "test" / "test*.tfrecord"),
        "--train_data_pattern", os.path.join(data_dir, "validate000[0-3].tfrecord"),
        "--eval_data_pattern", os.path.join(data_dir, "validate0064.tfrecord"),
        # The recipe trains on every video; the Tuner and keep-best need a validation split.
        "--validation_percent", "10",
        # 6 epochs are 47 steps: no floor, so the epochs-to-steps arithmetic is what this run checks.
        "--pipeline_root", root, "--num_epochs", "6", "--min_train_steps", "0", "--batch_size", "128",
        "--tune", "--tune_trials", "2", "--tune_epochs", "2", "--gap_threshold", "0.05",
        "--beam_direct_running_mode", "in_memory"])
    evaluation = outputs.latest_artifact_uri(root, "ModelEvaluation")
    metrics = outputs.overall_metrics(evaluation)
    # Chance is ~0.001. 6 epochs of 1,100 videos at the rate a 2 x 2-epoch search picks (its seeded trials
    # choose Adam 0.0012) reach ~0.09, ~0.14 without the recipe's class frequency scale: the recipe's
    # prediction-time class corrections assume a trained model (on 20k videos they add +0.003) and this barely
    # trained one still gives every class log-odds near -1. The full data and recipe reach 0.70 (bench).
    assert metrics["gap"] > 0.05, metrics
    assert outputs.validation_ok(evaluation)
    assert outputs.latest_artifact_uri(root, "Examples", producer="inference_example_gen")
    # Same ids (each once) and the model's own scores for the same videos, read from the labelled originals.
    rows = _check_predictions_csv(root, os.path.join(data_dir, "validate0064.tfrecord"))
    assert sorted(rows) == sorted(test_ids) and len(set(test_ids)) == len(test_ids)

    best = json.load(open(glob.glob(os.path.join(outputs.latest_artifact_uri(root, "HyperParameters"), "*"))[0]))
    state = json.load(open(os.path.join(outputs.latest_artifact_uri(root, "ModelRun"), "training_state.json")))
    assert state["tuned_hyperparameters"] == best["values"] and "base_learning_rate" in best["values"]
    train_videos = sum(scan_tfrecord(path)[0] for path in train)
    assert state["total_steps"] == data_split.steps_for_epochs(train_videos, 6, 128, 10)
    assert state["best_step"] in [e["step"] for e in state["evaluations"]]
    assert state["best_validation_gap"] == pytest.approx(max(e["gap"] for e in state["evaluations"]), abs=1e-6)
    # The recipe's class prior correction, from the labels of the videos trained on (the 90 % not held out).
    train_labels = sum(len(e.features.feature["labels"].int64_list.value)
                       for path in train for e in map(tf.train.Example.FromString, _eval_examples(path)))
    prior = state["class_corrections"]
    assert prior["strength"] == 0.5 and 0.8 * train_labels < prior["training_labels"] < train_labels
    assert 0.8 * train_videos < prior["training_videos"] < train_videos
    assert prior["shift_min"] < 0 < prior["shift_max"]
    assert prior["frequency_exponent"] == 0.03 and prior["scale_min"] < 1 < prior["scale_max"]
    # The exported model applies one factor and one shift per class: served scores, with the per-video
    # top-score normalisation undone, are sigmoid(the class's factor x the Keras model's own log-odds + the
    # class's shift), the same factor and shift for every video.
    import tf_keras
    from trainer.config import TrainerConfig
    from transform.normalization import numpy_reference
    model_dir = os.path.join(outputs.latest_artifact_uri(root, "Model"), "Format-Serving")
    examples = _eval_examples(os.path.join(tmp_path / "test", "*.tfrecord"))[:16]
    parsed = [tf.train.Example.FromString(e).features.feature for e in examples]
    inputs = {features.transformed_name(name): numpy_reference(
        np.array([f[name].float_list.value for f in parsed]), "l2").astype(np.float32)
        for name in ("mean_rgb", "mean_audio")}
    direct = tf_keras.models.load_model(model_dir, compile=False).predict(inputs, verbose=0).astype(np.float64)
    served = tf.saved_model.load(model_dir).signatures["serving_default"](
        examples=tf.constant(examples))["probabilities"].numpy().astype(np.float64)
    exponent = TrainerConfig().top_score_exponent
    shifted = served * served.max(axis=1, keepdims=True) ** (exponent / (1 - exponent))
    from scipy.special import logit as log_odds  # scipy ships with TFMA
    from trainer.score_calibration import class_log_odds_scale
    from yt8m_tfx import class_names
    scale = class_log_odds_scale(class_names.release_class_counts("yt8m-2018"), 0.03)
    measurable = ((direct > 1e-4) & (shifted > 1e-4) & (direct < 0.999) & (shifted < 0.999)).all(axis=0)
    shift = log_odds(shifted[:, measurable]) - scale[measurable] * log_odds(direct[:, measurable])
    assert measurable.sum() > 100 and np.ptp(shift, axis=0).max() < 0.01
    assert prior["shift_min"] - 0.01 < shift.min() and shift.max() < prior["shift_max"] + 0.01 and shift.std() > 0.1


def test_real_2017_shards_end_to_end_with_label_less_test_shards(tmp_path):
    """The starter code's release, detected from the data: `video_id` keys, 4,716 classes, and Kaggle-style
    test shards without labels predicted into the CSV."""
    from tests.conftest import real_2017_shards
    train = real_2017_shards(["validatea0", "validatea1", "validatea2", "validatea3"])
    evaluation_shards = real_2017_shards(["validatea4", "validatea5"])
    test = real_2017_shards(["testa0", "testa1", "testa2", "testa3", "testa4"])
    data_dir = os.path.dirname(train[0])
    root = str(tmp_path / "root")
    local_runner.main([
        "@" + os.path.join(PROJECT_ROOT, "recipes", "video_level_fast.flags"),
        "--train_data_pattern", os.path.join(data_dir, "validatea[0-3].tfrecord"),
        "--eval_data_pattern", os.path.join(data_dir, "validatea[45].tfrecord"),
        "--inference_data_pattern", os.path.join(data_dir, "testa*.tfrecord"),
        "--pipeline_root", root, "--batch_size", "128", "--gap_threshold", "0.1",
        "--beam_direct_running_mode", "in_memory"])
    evaluation = outputs.latest_artifact_uri(root, "ModelEvaluation")
    metrics = outputs.overall_metrics(evaluation)
    # Chance is ~0.001; the recipe's 20 epochs of 1,354 videos reach 0.50 (2017 labels are coarser than 2018's).
    assert metrics["gap"] > 0.4, metrics
    # No published class counts ship for 2017: the recipe's class prior correction is skipped, not guessed.
    state = json.load(open(os.path.join(outputs.latest_artifact_uri(root, "ModelRun"), "training_state.json")))
    assert "class_corrections" not in state
    # 20 epochs of 1,354 videos at batch 128 are 212 steps: the recipe's floor makes them 300.
    assert state["total_steps"] == 300
    assert outputs.validation_ok(evaluation)
    model = tf.saved_model.load(os.path.join(outputs.latest_artifact_uri(root, "Model"), "Format-Serving"))
    examples = _eval_examples(evaluation_shards[0])[:4]
    assert model.signatures["serving_default"](examples=tf.constant(examples))["probabilities"].shape == (4, 4716)
    rows = _check_predictions_csv(root, os.path.join(data_dir, "testa*.tfrecord"), dataset="yt8m-2017")
    test_ids = [_video_id(e, False, "yt8m-2017") for path in test for e in _eval_examples(path)]
    assert sorted(rows) == sorted(test_ids) and len(set(test_ids)) == len(test_ids)
    from inference import predict  # no 2017 class names: asking for them is a clear error, not a wrong name
    from yt8m_tfx import command_line
    assert command_line.run_tool(predict.main, [
        "--model_dir", os.path.join(root, "serving_model"), "--input_data_pattern", test[0],
        "--output_file", str(tmp_path / "p.csv"), "--named_output_file", str(tmp_path / "n.csv")]) == 2


def test_frame_level_2017_release_from_the_synthetic_default(tmp_path):
    """--dataset=yt8m-2017 on the embedded generator: SequenceExamples keyed by `video_id` in their context,
    4,716 outputs, and a CSV of exactly the eval videos' ids."""
    root = str(tmp_path / "root")
    local_runner.main(["--pipeline_root", root, "--frame_features", "--model", "FrameLevelLogisticModel",
                       "--dataset", "yt8m-2017", "--synthetic_videos", "120", "--train_steps", "20",
                       "--batch_size", "16", "--gap_threshold", "0.05", "--beam_direct_running_mode", "in_memory"])
    evaluation_shards = os.path.join(root, "synthetic_frame_data_yt8m-2017", "validate*.tfrecord")
    example = tf.train.SequenceExample.FromString(_eval_examples(evaluation_shards)[0])
    assert "video_id" in example.context.feature and "id" not in example.context.feature
    assert outputs.validation_ok(outputs.latest_artifact_uri(root, "ModelEvaluation"))
    rows = _check_predictions_csv(root, evaluation_shards, frame_level=True, dataset="yt8m-2017")
    assert len(rows) == 30
    model = tf.saved_model.load(os.path.join(outputs.latest_artifact_uri(root, "Model"), "Format-Serving"))
    assert model.signatures["serving_default"].structured_outputs["probabilities"].shape[-1] == 4716


def test_import_ingest_links_the_shards_and_reruns_when_they_change(tmp_path, synthetic_video_dir):
    """--ingest=import: the Examples artifact links the user's shards (no copy) and every downstream stage
    reads them; an unchanged rerun is cached, a changed shard re-runs the data stages."""
    import shutil
    from yt8m_tfx.data import synthetic
    data = tmp_path / "data"
    shutil.copytree(synthetic_video_dir, data)
    root = str(tmp_path / "root")
    argv = ["--data_dir", str(data), "--pipeline_root", root, "--ingest", "import", "--stats_sample_rate", "0.5",
            "--train_steps", "10", "--batch_size", "32", "--gap_threshold", "0.01",
            "--beam_direct_running_mode", "in_memory"]
    local_runner.main(argv)
    examples = outputs.latest_artifact_uri(root, "Examples", producer="ShardImporter")
    linked = sorted(glob.glob(os.path.join(examples, "Split-train", "*")))
    assert [os.path.realpath(p) for p in linked] == sorted(glob.glob(str(data / "train*.tfrecord")))
    evaluation = outputs.latest_artifact_uri(root, "ModelEvaluation")
    assert outputs.overall_metrics(evaluation)["example_count"] == 60 and outputs.validation_ok(evaluation)
    _check_predictions_csv(root, str(data / "validate*.tfrecord"))

    local_runner.main(argv)  # same files: served from the cache
    executions = _executions_by_state(root)
    for component in ("ShardImporter", "StatisticsGen", "Transform", "Trainer"):
        assert executions.get((component, "CACHED")) == 1, executions

    generator = synthetic.SyntheticYT8M()  # one more training video in a shard
    with tf.io.TFRecordWriter(str(data / "train0001.tfrecord")) as writer:
        for record in tf.data.TFRecordDataset([os.path.join(synthetic_video_dir, "train0001.tfrecord")]):
            writer.write(record.numpy())
        writer.write(synthetic.serialize_video(generator, next(generator.videos(1, "extra")), frame_level=False))
    local_runner.main(argv)
    executions = _executions_by_state(root)
    for component in ("ShardImporter", "StatisticsGen", "Transform", "Trainer"):
        assert executions.get((component, "COMPLETE")) == 2, executions


def test_run_report_loads_in_headless_chromium(tmp_path):
    """The synthetic e2e run's report, opened by a real browser (Debian package `chromium`; .ci/run installs
    it): a screenshot that is not blank."""
    import shutil
    import subprocess
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("headless browser test needs the `chromium` package (apt-get install chromium)")
    if "synthetic" not in RUN_REPORTS:
        pytest.skip("needs the report of test_synthetic_pipeline_end_to_end_then_served_from_cache (run it first)")
    screenshot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1200,2400", f"--screenshot={screenshot}", "file://" + RUN_REPORTS["synthetic"]],
                   check=True, capture_output=True, timeout=120)
    import matplotlib.image
    pixels = matplotlib.image.imread(str(screenshot))[..., :3]
    assert pixels.shape[:2] == (2400, 1200)
    # Text, tables and charts: a good share of the page is not background, in several colours.
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.02
    assert len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 50


# Small hyper-parameters: the point is that every frame-level model trains, evaluates and serves in the
# pipeline on SequenceExamples, not how good it gets in a few steps.
SMALL_FRAME_MODELS = {
    "DbofModel": ["dbof_cluster_size=64", "dbof_hidden_size=32", "dbof_iterations=10"],
    "LstmModel": ["lstm_cells=16", "lstm_layers=1"],
    "NetVLADModel": ["netvlad_cluster_size=8", "netvlad_hidden_size=32"],
    "NeXtVLADModel": ["nextvlad_cluster_size=8", "nextvlad_hidden_size=32", "nextvlad_groups=4"],
}


def _evenly_spaced(count, samples):
    """The serving sample of trainer/frame_sampling.py, written out: the centre frame of each of `samples`
    equal slices, or every frame of a shorter video."""
    if count <= samples:
        return list(range(count))
    bounds = [i * count // samples for i in range(samples + 1)]
    return [start + (end - start) // 2 for start, end in zip(bounds, bounds[1:])]


def _frames_in_numpy(serialized, max_frames, sample_frames=0):
    """The model inputs of one SequenceExample, decoded and padded in numpy (independent of Transform)."""
    _, sequence, _ = tf.io.parse_sequence_example(tf.constant([serialized]), {}, {
        name: tf.io.FixedLenSequenceFeature([], tf.string) for name in features.FRAME_FEATURE_SIZES})
    inputs = {}
    for name, size in features.FRAME_FEATURE_SIZES.items():
        codes = np.stack([np.frombuffer(b, np.uint8) for b in sequence[name].numpy()[0]])[:max_frames]
        if sample_frames:
            codes = codes[_evenly_spaced(len(codes), sample_frames)]
        padded = np.zeros((1, sample_frames or max_frames, size), np.float32)
        padded[0, :len(codes)] = features.dequantize(codes.astype(np.float32))
        inputs[features.transformed_name(name)] = padded
        inputs[features.NUM_FRAMES_KEY] = np.array([len(codes)], np.int64)
    return inputs


def test_frame_level_pipeline_end_to_end_for_every_frame_level_model(tmp_path, synthetic_frame_dir):
    """SequenceExamples through every stage with FrameLevelLogisticModel (the seed's frame-level path),
    then the other frame-level models in the same pipeline root (data stages come from the cache)."""
    import tf_keras
    from yt8m_tfx import metrics_math
    root = str(tmp_path / "root")
    eval_pattern = os.path.join(synthetic_frame_dir, "validate*.tfrecord")
    max_frames = 50  # the synthetic videos have 20-60 frames: some are truncated
    local_runner.main([
        "--train_data_pattern", os.path.join(synthetic_frame_dir, "train*.tfrecord"),
        "--eval_data_pattern", eval_pattern, "--pipeline_root", root,
        "--frame_features=True", "--model=FrameLevelLogisticModel", "--max_frames", str(max_frames),
        "--train_steps", "60", "--batch_size", "32", "--gap_threshold", "0.2"])

    executions = _executions_by_state(root)
    # Frame-level shards are linked by default (--ingest=import), not copied through ImportExampleGen.
    for component in ("ShardImporter", "Transform", "Trainer", "Evaluator", "BulkInferrer", "Pusher"):
        assert executions.get((component, "COMPLETE")) == 1, executions
    assert ("ImportExampleGen", "COMPLETE") not in executions
    evaluation = outputs.latest_artifact_uri(root, "ModelEvaluation")
    metrics = outputs.overall_metrics(evaluation)
    assert metrics["example_count"] == 60
    # Chance level: the GAP of random scores on the same labels.
    examples = _eval_examples(eval_pattern)
    context, _ = features.frame_level_feature_specs(tf)
    labels = [tf.io.parse_single_sequence_example(e, context)[0]["labels"].values.numpy() for e in examples]
    truth = np.zeros((len(labels), features.NUM_CLASSES), np.float32)
    for row, ids in enumerate(labels):
        truth[row, ids] = 1
    chance = metrics_math.gap(np.random.default_rng(0).random(truth.shape), truth)
    assert metrics["gap"] > max(0.2, 20 * chance), (metrics, chance)
    assert outputs.validation_ok(evaluation)

    rows = _check_predictions_csv(root, eval_pattern, frame_level=True)
    assert len(rows) == 60
    # The standalone CLI reads SequenceExample shards with the pushed model, same ids and classes.
    from inference import predict
    cli_csv = str(tmp_path / "cli_predictions.csv")
    predict.main(["--model_dir", os.path.join(root, "serving_model"), "--input_data_pattern", eval_pattern,
                  "--output_file", cli_csv])
    cli_rows = {video_id: set(classes) for video_id, classes, _ in
                map(parse_row, open(cli_csv).read().splitlines()[1:])}
    assert cli_rows == {video_id: set(classes) for video_id, (classes, _) in rows.items()}
    # The serving signature (Transform graph inside) equals the Keras model on numpy-decoded frames, followed by
    # the per-video top-score normalisation (trainer/score_calibration.py) at its default exponent.
    from trainer.config import TrainerConfig
    from trainer.score_calibration import normalize_by_top_score
    model_dir = os.path.join(outputs.latest_artifact_uri(root, "Model"), "Format-Serving")
    keras_model = tf_keras.models.load_model(model_dir, compile=False)
    served = tf.saved_model.load(model_dir).signatures["serving_default"]
    direct = np.concatenate([keras_model.predict(_frames_in_numpy(serialized, max_frames), verbose=0)
                             for serialized in examples[:8]])
    via_signature = np.concatenate([served(examples=tf.constant([serialized]))["probabilities"].numpy()
                                    for serialized in examples[:8]])
    normalized = normalize_by_top_score(direct, TrainerConfig().top_score_exponent).numpy()
    assert not np.allclose(normalized, direct, rtol=1e-4, atol=1e-6)  # the normalisation changes scores ...
    np.testing.assert_allclose(via_signature, normalized, rtol=1e-4, atol=1e-6)  # ... and is the only difference



    # Every other frame-level model: Trainer, Evaluator and the serving signature on SequenceExamples.
    served_examples = tf.constant(examples[:5])
    for runs, (model, hparams) in enumerate(SMALL_FRAME_MODELS.items(), start=2):
        local_runner.main([
            "--train_data_pattern", os.path.join(synthetic_frame_dir, "train*.tfrecord"),
            "--eval_data_pattern", eval_pattern, "--pipeline_root", root, "--frame_features", "--model", model,
            *[arg for hparam in hparams for arg in ("--hparam", hparam)], "--max_frames", str(max_frames),
            "--train_steps", "10", "--batch_size", "16", "--gap_threshold", "0"])
        executions = _executions_by_state(root)
        assert executions.get(("Transform", "COMPLETE")) == 1, executions  # cached: same data and settings
        assert executions.get(("Trainer", "COMPLETE")) == runs, executions
        assert executions.get(("Evaluator", "COMPLETE")) == runs, executions
        metrics = outputs.overall_metrics(outputs.latest_artifact_uri(root, "ModelEvaluation"))
        assert metrics["example_count"] == 60 and 0 < metrics["gap"] <= 1, (model, metrics)
        model_dir = os.path.join(outputs.latest_artifact_uri(root, "Model"), "Format-Serving")
        top_k = tf.saved_model.load(model_dir).signatures["predict_top_k"](examples=served_examples)
        assert top_k["top_k_indices"].shape == (5, 20), model
        assert np.all(np.diff(top_k["top_k_scores"].numpy(), axis=1) <= 0), model

    # --sample_frames: the model takes 8 frames of each video; serving samples them evenly spaced.
    local_runner.main([
        "--train_data_pattern", os.path.join(synthetic_frame_dir, "train*.tfrecord"),
        "--eval_data_pattern", eval_pattern, "--pipeline_root", root, "--frame_features=True",
        "--model=FrameLevelLogisticModel", "--max_frames", str(max_frames), "--sample_frames", "8",
        "--train_steps", "60", "--batch_size", "32", "--gap_threshold", "0.2"])
    metrics = outputs.overall_metrics(outputs.latest_artifact_uri(root, "ModelEvaluation"))
    assert metrics["gap"] > max(0.2, 20 * chance), metrics
    model_dir = os.path.join(outputs.latest_artifact_uri(root, "Model"), "Format-Serving")
    keras_model = tf_keras.models.load_model(model_dir, compile=False)
    assert keras_model.inputs[0].shape[1] == 8
    served = tf.saved_model.load(model_dir).signatures["serving_default"]
    direct = np.concatenate([keras_model.predict(_frames_in_numpy(serialized, max_frames, sample_frames=8), verbose=0)
                             for serialized in examples[:8]])
    via_signature = served(examples=tf.constant(examples[:8]))["probabilities"].numpy()
    np.testing.assert_allclose(
        via_signature, normalize_by_top_score(direct, TrainerConfig().top_score_exponent).numpy(),
        rtol=1e-4, atol=1e-6)
