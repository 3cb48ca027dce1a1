"""python -m yt8m_tfx.data.frames_to_video: video-level shards from frame-level ones, checked against numpy on the
genuine sample (skipped without ../shared) and on generated 2016 / 2017 / label-less records; then the
video-level pipeline trains on its output."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import local_runner
from pipeline import outputs
from tests.conftest import PROJECT_ROOT, SHARED_FRAME_LEVEL, majority_share, parse_row
from tests.test_genuine_frames import _records, read_videos, starter_dequantize
from yt8m_tfx import command_line, features
from yt8m_tfx.data import frames_to_video, synthetic


def _video_level(paths, dataset=features.DEFAULT_DATASET):
    """{id: {feature: values, "labels": [...] or None}} of video-level files, read with the protobuf classes."""
    out = {}
    for record in _records(paths):
        feature = tf.train.Example.FromString(record).features.feature
        video = {name: np.array(feature[name].float_list.value) for name in features.feature_sizes(False, dataset)}
        video["labels"] = list(feature["labels"].int64_list.value) if "labels" in feature else None
        out[feature[features.release(dataset).id_key].bytes_list.value[0].decode()] = video
    return out


def test_genuine_sample_converts_to_the_numpy_means_of_its_dequantized_frames(tmp_path):
    files = sorted(glob.glob(os.path.join(SHARED_FRAME_LEVEL, "*.tfrecord")))
    if not files:
        pytest.skip(f"genuine frame-level sample not available ({SHARED_FRAME_LEVEL} missing)")
    written = frames_to_video.convert([os.path.join(SHARED_FRAME_LEVEL, "*.tfrecord")], str(tmp_path), workers=2)
    assert sorted(map(os.path.basename, written)) == sorted(map(os.path.basename, files))  # one shard a file
    for path in files:  # same videos in the same shard
        frames = read_videos(_records([path]))
        converted = _video_level([str(tmp_path / os.path.basename(path))])
        assert list(converted) == [v["id"] for v in frames] and written[str(tmp_path / os.path.basename(path))] \
            == len(frames)
        for video in frames:
            got = converted[video["id"]]
            assert got["labels"] == video["labels"]
            for name in features.FRAME_FEATURE_SIZES:
                np.testing.assert_allclose(got["mean_" + name], starter_dequantize(video[name]).mean(axis=0),
                                           atol=1e-6)
    assert sum(written.values()) == 116


@pytest.mark.parametrize("dataset", ["yt8m-2017", "yt8m-2016"])
def test_older_releases_and_label_less_shards_keep_their_ids_features_and_missing_labels(tmp_path, dataset):
    generator = synthetic.SyntheticYT8M(synthetic.SyntheticConfig(dataset=dataset, min_frames=3, max_frames=9))
    release = features.release(dataset)
    expected = {}
    os.makedirs(tmp_path / "frames")
    for split, labelled in (("validate", True), ("test", False)):
        with tf.io.TFRecordWriter(str(tmp_path / "frames" / f"{split}0000.tfrecord")) as writer:
            for video in generator.videos(5, split):
                frames = generator.frames(video)
                example = synthetic.frame_level_example(video["id"], video["labels"], frames, dataset)
                if not labelled:
                    del example.context.feature["labels"]
                writer.write(example.SerializeToString())
                expected[video["id"]] = (video["labels"].tolist() if labelled else None, {
                    "mean_" + name: starter_dequantize(codes).mean(axis=0) for name, codes in frames.items()})
    frames_to_video.convert([str(tmp_path / "frames" / "*.tfrecord")], str(tmp_path / "video"))
    converted = _video_level(sorted(glob.glob(str(tmp_path / "video" / "*.tfrecord"))), dataset)
    assert sorted(converted) == sorted(expected) and len(converted) == 10
    for video_id, (labels, means) in expected.items():
        assert converted[video_id]["labels"] == labels
        assert sorted(means) == sorted(release.feature_sizes(False))
        for name, mean in means.items():
            np.testing.assert_allclose(converted[video_id][name], mean, atol=1e-6)


def test_mistakes_are_one_line_errors(tmp_path):
    with pytest.raises(command_line.UserError, match="matches no file"):
        frames_to_video.convert([str(tmp_path / "nothing*.tfrecord")], str(tmp_path / "out"))
    video_level = str(tmp_path / "video0000.tfrecord")
    synthetic.write_split(str(tmp_path), "video", 2, 1, False, synthetic.SyntheticYT8M(
        synthetic.SyntheticConfig(min_frames=2, max_frames=3)))
    with pytest.raises(command_line.UserError, match="would be overwritten"):
        frames_to_video.convert([video_level], str(tmp_path))
    with pytest.raises(command_line.UserError, match=r"video0000.tfrecord record 0: not a YouTube-8M frame-level"):
        frames_to_video.convert([video_level], str(tmp_path / "out"))
    for dataset in ("yt8m-2018", "yt8m-2017"):
        synthetic.write_split(str(tmp_path / "mixed"), dataset[-4:], 2, 1, True, synthetic.SyntheticYT8M(
            synthetic.SyntheticConfig(dataset=dataset, min_frames=2, max_frames=3)))
    with pytest.raises(command_line.UserError, match="mixes YouTube-8M releases"):
        frames_to_video.convert([str(tmp_path / "mixed" / "*.tfrecord")], str(tmp_path / "out"))
    # The command line: the same message as one line, exit status 2.
    done = subprocess.run([sys.executable, "-m", "yt8m_tfx.data.frames_to_video", "--input", video_level,
                           "--output", str(tmp_path / "out")], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": PROJECT_ROOT})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_video_level_pipeline_trains_on_converted_frames(tmp_path, frame_level_split, monkeypatch):
    """The genuine sample (split by file) converted, or generated frames without ../shared; LogisticModel with
    its defaults beats always naming the majority class, and the CSV has every held-out video once."""
    converted = {split: str(tmp_path / split) for split in frame_level_split}
    for split, pattern in frame_level_split.items():
        frames_to_video.convert([pattern], converted[split])
    root = str(tmp_path / "root")
    monkeypatch.setattr("sys.argv", ["local_runner.py"])  # Beam and absl must not parse pytest's flags
    local_runner.main(["--pipeline_root", root, "--model=LogisticModel",
                       "--train_data_pattern", os.path.join(converted["train"], "*.tfrecord"),
                       "--eval_data_pattern", os.path.join(converted["eval"], "*.tfrecord")])
    held_out = _video_level(sorted(glob.glob(os.path.join(converted["eval"], "*.tfrecord"))))
    metrics = outputs.overall_metrics(outputs.latest_artifact_uri(root, "ModelEvaluation"))
    assert metrics["example_count"] == len(held_out)
    assert metrics["hit_at_one"] > majority_share([video["labels"] for video in held_out.values()]) + 0.1, metrics
    csv_dir = outputs.latest_artifact_uri(root, "yt8m.PredictionsCsv")
    rows = [parse_row(line)[0] for line in open(os.path.join(csv_dir, "predictions.csv")).read().splitlines()[1:]]
    assert sorted(rows) == sorted(held_out)
