"""The seed README's own commands, as it writes them (entry points renamed to the project's), on data of the
release it was written for: 2016 (`video_id`, 4,800 classes, Inception-v3 `mean_inc3` / `inc3`, no audio).

The 2016 shards are written here with tf.train protos and the release's documented quantization, not by the
project's generator, so a mistake shared by the generator and the readers cannot hide. Slow: two pipelines.
"""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import PROJECT_ROOT, parse_row

pytestmark = pytest.mark.slow

# Ten classes spread over the 2016 release's 4,800: ids near both ends catch an off-by-one class count.
CLASSES = np.array([0, 7, 480, 1303, 2222, 3000, 3861, 4000, 4716, 4799])
EMBEDDING_SIZE = 1024
# Lines TensorFlow prints on every start; a standalone CLI must print none of them.
STARTUP_NOISE = ("cuda", "Unable to register", "TF-TRT", "oneDNN", "cpu_feature_guard", "Traceback")


def quantize_2016(values):
    """The release's 8-bit codes: the inverse of its readers' dequantization q * 4/255 + 4/512 - 2."""
    codes = np.rint((np.asarray(values, np.float64) + 2.0 - 4.0 / 512.0) * 255.0 / 4.0)
    return np.clip(codes, 0, 255).astype(np.uint8)


def write_2016_shards(directory, split, videos, shards, frame_level, seed=0):
    """`<split>NNNN.tfrecord` shards of 2016-format records; returns {video id: labels}. Each class has a
    direction in the 1,024-d embedding; a video's embedding is its labels' directions plus noise."""
    rng = np.random.default_rng([seed, 2016])
    directions = np.random.default_rng(2016).standard_normal((len(CLASSES), EMBEDDING_SIZE))
    writers = [tf.io.TFRecordWriter(os.path.join(directory, f"{split}{i:04d}.tfrecord")) for i in range(shards)]
    truth = {}
    for index in range(videos):
        picked = rng.choice(len(CLASSES), size=rng.integers(1, 3), replace=False)
        labels = sorted(int(c) for c in CLASSES[picked])
        video_id = f"{split[0]}{index:05d}"
        truth[video_id] = labels
        mean = np.clip(0.5 * directions[picked].sum(axis=0) + 0.3 * rng.standard_normal(EMBEDDING_SIZE), -2, 2)
        context = {"video_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[video_id.encode()])),
                   "labels": tf.train.Feature(int64_list=tf.train.Int64List(value=labels))}
        if frame_level:
            frames = quantize_2016(mean + 0.4 * rng.standard_normal((int(rng.integers(4, 12)), EMBEDDING_SIZE)))
            record = tf.train.SequenceExample(
                context=tf.train.Features(feature=context),
                feature_lists=tf.train.FeatureLists(feature_list={"inc3": tf.train.FeatureList(feature=[
                    tf.train.Feature(bytes_list=tf.train.BytesList(value=[frame.tobytes()])) for frame in frames])}))
        else:
            context["mean_inc3"] = tf.train.Feature(float_list=tf.train.FloatList(value=mean.astype(np.float32)))
            record = tf.train.Example(features=tf.train.Features(feature=context))
        writers[index % shards].write(record.SerializeToString())
    for writer in writers:
        writer.close()
    return truth


def quiet_environment():
    """The environment a user's shell has: no TF_CPP_MIN_LOG_LEVEL (make test sets one) to hide TF's noise.
    PYTHONPATH: `python -m` imports this checkout, whichever one the virtualenv was installed from."""
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    return {**environment, "PYTHONPATH": PROJECT_ROOT}


def run_command(command, cwd):
    """A seed command as a user types it (`python local_runner.py ...`, `python -m ...`); its output."""
    done = subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True,
                          env=quiet_environment())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def assert_no_startup_noise(done):
    for noise in STARTUP_NOISE:
        assert noise not in done.stderr and noise not in done.stdout, done.stderr[-3000:]


def read_predictions(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "VideoId,LabelConfidencePairs"
    return [parse_row(line) for line in lines[1:]]


def run_seed_commands(tmp_path, level_flags, frame_level):
    """The seed README's quick start: train.py, eval.py and inference.py with --train_dir, on 2016 shards."""
    features_dir = tmp_path / "features"
    os.makedirs(features_dir)
    videos = (300, 80) if frame_level else (1200, 200)
    write_2016_shards(str(features_dir), "train", videos[0], 3, frame_level)
    truth = write_2016_shards(str(features_dir), "validate", videos[1], 2, frame_level, seed=1)
    model_dir = tmp_path / "yt8m"
    train_dir = f"--train_dir={model_dir}/logistic_model"
    work = tmp_path / "work"  # the user's current directory: predictions.csv lands there
    os.makedirs(work)
    trained = run_command([os.path.join(PROJECT_ROOT, "local_runner.py"),
                           f"--train_data_pattern={features_dir}/train*.tfrecord", train_dir, *level_flags], work)
    assert "Dataset yt8m-2016: 'video_id' ids, 4800 classes (detected from the data)" in trained.stdout
    assert "evaluating on the training shards" in trained.stdout
    assert "report not written" not in trained.stdout
    assert os.path.exists(model_dir / "logistic_model" / "report" / "index.html")
    evaluated = run_command(["-m", "evaluator_ext.evaluate",
                             f"--eval_data_pattern={features_dir}/validate*.tfrecord", train_dir,
                             f"--output_json={tmp_path}/metrics.json", *level_flags], work)
    predicted = run_command(["-m", "inference.predict", "--output_file=predictions.csv",
                             f"--input_data_pattern={features_dir}/validate*.tfrecord", train_dir, *level_flags],
                            work)
    for done in (evaluated, predicted):
        assert_no_startup_noise(done)
        assert len(done.stdout.splitlines()) == 1, done.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["example_count"] == videos[1]
    rows = read_predictions(work / "predictions.csv")
    assert sorted(video_id for video_id, _, _ in rows) == sorted(truth)  # every id once
    assert all(len(classes) == 20 and max(classes) < 4800 for _, classes, _ in rows)
    hits = np.mean([classes[0] in truth[video_id] for video_id, classes, _ in rows])
    assert hits == pytest.approx(metrics["hit_at_one"], abs=1e-9)
    return metrics, model_dir / "logistic_model"


def test_seed_video_level_quick_start_on_2016_shards(tmp_path):
    metrics, root = run_seed_commands(tmp_path, [], frame_level=False)
    # 10 classes among 4,800 outputs: a model that learned nothing has GAP ~ 0.
    assert metrics["gap"] > 0.9 and metrics["hit_at_one"] > 0.9, metrics
    from pipeline import outputs
    model = tf.saved_model.load(os.path.join(outputs.latest_artifact_uri(str(root), "Model"), "Format-Serving"))
    assert model.signatures["serving_default"].structured_outputs["probabilities"].shape[-1] == 4800
    # The run's evaluation has the rgb-norm slices, computed from the release's one embedding.
    import tensorflow_model_analysis as tfma
    evaluation = outputs.latest_artifact_uri(str(root), "ModelEvaluation")
    slices = {key for key, _ in tfma.load_eval_result(evaluation).slicing_metrics}
    assert {k[0][1] for k in slices if k and k[0][0] == "rgb_norm_bucket"} == {0, 1, 2, 3}


def test_seed_frame_level_flags_on_2016_shards(tmp_path):
    """`--frame_features=True --model=FrameLevelLogisticModel --feature_names=inc3` appended to each command
    (the seed's cloud command's --batch_size=256 too)."""
    seed_flags = ["--frame_features=True", "--model=FrameLevelLogisticModel", "--feature_names=inc3",
                  "--batch_size=256"]
    metrics, _ = run_seed_commands(tmp_path, seed_flags, frame_level=True)
    assert metrics["gap"] > 0.9 and metrics["hit_at_one"] > 0.9, metrics


def test_2016_records_written_here_dequantize_as_the_release_documents(tmp_path):
    """The helper's codes come back within half a code step through the project's frame reader."""
    from transform.preprocessing import decode_frames
    from yt8m_tfx import features
    values = np.linspace(-2, 2, 7)
    codes = quantize_2016(values)
    assert codes.tolist() == [0, 42, 85, 127, 170, 212, 255]
    np.testing.assert_allclose(features.dequantize(codes.astype(np.float64)), values, atol=2 / 255 + 1e-9)
    write_2016_shards(str(tmp_path), "train", 3, 1, frame_level=True)
    raw = next(iter(tf.data.TFRecordDataset([str(tmp_path / "train0000.tfrecord")]).batch(3)))
    context, sequence = features.frame_level_feature_specs(tf, "yt8m-2016")
    _, frames, _ = tf.io.parse_sequence_example(raw, context, sequence)
    decoded = decode_frames(frames["inc3"], "inc3", 300, "yt8m-2016")
    example = tf.train.SequenceExample.FromString(raw[0].numpy())
    first = np.frombuffer(example.feature_lists.feature_list["inc3"].feature[0].bytes_list.value[0], np.uint8)
    first = first.astype(np.float64)
    np.testing.assert_allclose(decoded[0][0].numpy(), first * 4 / 255 + 4 / 512 - 2, atol=1e-6)


def _user_error(command, cwd):
    done = subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True,
                          env=quiet_environment())
    return done.returncode, done.stderr.splitlines()


def test_cli_user_errors_are_one_line_naming_the_flag(tmp_path):
    empty = tmp_path / "empty"
    os.makedirs(empty)
    (tmp_path / "v").mkdir()
    write_2016_shards(str(tmp_path / "v"), "validate", 2, 1, frame_level=False)
    status, err = _user_error(["-m", "inference.predict", f"--train_dir={empty}",
                               f"--input_data_pattern={tmp_path}/v/*.tfrecord"], tmp_path)
    assert (status, err) == (2, [f"error: --train_dir={empty}: no model trained or pushed under it (run "
                                 "local_runner.py with this --train_dir first, or pass --model_dir)"])
    status, err = _user_error(["-m", "evaluator_ext.evaluate", f"--model_dir={empty}",
                               f"--eval_data_pattern={tmp_path}/none*.tfrecord"], tmp_path)
    assert (status, err) == (2, [f"error: --eval_data_pattern={tmp_path}/none*.tfrecord: no file matches it"])
    status, err = _user_error(["-m", "yt8m_tfx.data.synthetic", f"--out={tmp_path}/s", "--min_frames=0"], tmp_path)
    assert (status, err) == (2, ["error: --min_frames=0 --max_frames=300: need 0 < min_frames <= max_frames <= 300"])
    status, err = _user_error(["-m", "inference.predict", f"--model_dir={empty}", "--frame_features=True",
                               f"--input_data_pattern={tmp_path}/v/*.tfrecord"], tmp_path)
    assert (status, err) == (2, [f"error: --frame_features=True: {tmp_path}/v/validate0000.tfrecord holds "
                                 "video-level records"])
    status, err = _user_error(["-m", "evaluator_ext.evaluate", f"--model_dir={empty}", "--feature_names=inc3",
                               f"--eval_data_pattern={tmp_path}/v/*.tfrecord"], tmp_path)
    assert (status, err) == (2, [f"error: --feature_names=inc3: {tmp_path}/v/validate0000.tfrecord has no "
                                 "video-level feature inc3"])
    # --verbose: TensorFlow's own lines and the traceback are there for whoever needs them.
    status, err = _user_error(["-m", "inference.predict", f"--train_dir={empty}", "--verbose",
                               f"--input_data_pattern={tmp_path}/v/*.tfrecord"], tmp_path)
    assert status == 1 and "Traceback (most recent call last):" in err and any("cuda" in line for line in err)


def test_runner_refuses_a_feature_the_release_does_not_have_in_one_line(tmp_path, synthetic_frame_dir):
    status, err = _user_error([os.path.join(PROJECT_ROOT, "local_runner.py"), "--frame_features=True",
                               "--model=FrameLevelLogisticModel", "--feature_names=inc3",
                               f"--train_data_pattern={synthetic_frame_dir}/train*.tfrecord",
                               f"--train_dir={tmp_path}/root"], tmp_path)
    assert (status, err) == (2, ["error: --feature_names=inc3: yt8m-2018 has no frame-level feature inc3; its "
                                 "frame-level features are rgb, audio"])


def test_the_generator_writes_the_2016_release(tmp_path):
    from yt8m_tfx.data import synthetic
    assert synthetic.main(["--out", str(tmp_path / "v"), "--videos", "4", "--shards", "1",
                           "--dataset", "yt8m-2016"]) == 0
    assert synthetic.main(["--out", str(tmp_path / "f"), "--videos", "4", "--shards", "1", "--frame_level",
                           "--dataset", "yt8m-2016"]) == 0
    video = tf.train.Example.FromString(next(iter(tf.data.TFRecordDataset(
        [str(tmp_path / "v" / "train0000.tfrecord")]))).numpy()).features.feature
    assert set(video) == {"video_id", "labels", "mean_inc3"} and len(video["mean_inc3"].float_list.value) == 1024
    assert max(video["labels"].int64_list.value) < 4800
    frames = tf.train.SequenceExample.FromString(next(iter(tf.data.TFRecordDataset(
        [str(tmp_path / "f" / "train0000.tfrecord")]))).numpy())
    assert set(frames.context.feature) == {"video_id", "labels"}
    assert list(frames.feature_lists.feature_list) == ["inc3"]
    assert len(frames.feature_lists.feature_list["inc3"].feature[0].bytes_list.value[0]) == 1024
