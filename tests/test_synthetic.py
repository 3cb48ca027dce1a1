import glob
import hashlib
import os

import numpy as np
import tensorflow as tf

from yt8m_tfx import features
from yt8m_tfx.data import synthetic


def _records(pattern):
    return [r.numpy() for r in tf.data.TFRecordDataset(sorted(glob.glob(pattern)))]


def _digest(directory):
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(directory, "*.tfrecord"))):
        h.update(open(path, "rb").read())
    return h.hexdigest()


def test_generator_is_deterministic_by_seed(tmp_path):
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        synthetic.generate(str(tmp_path / name), train_videos=20, eval_videos=5, shards=2,
                           config=synthetic.SyntheticConfig(seed=seed))
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_video_level_shards_have_release_layout(tmp_path):
    written = synthetic.generate(str(tmp_path), train_videos=30, eval_videos=10, shards=3)
    assert [os.path.basename(p) for p in written["train"]] == [
        "train0000.tfrecord", "train0001.tfrecord", "train0002.tfrecord"]
    records = _records(str(tmp_path / "train*.tfrecord"))
    assert len(records) == 30
    spec = features.video_level_feature_spec(tf)
    ids = set()
    for record in records:
        parsed = tf.io.parse_single_example(record, spec)
        labels = tf.sparse.to_dense(parsed["labels"]).numpy()
        assert 1 <= labels.size <= synthetic.SyntheticConfig.max_labels
        assert labels.min() >= 0 and labels.max() < features.NUM_CLASSES
        assert np.all(np.abs(parsed["mean_rgb"].numpy()) <= 2.0)
        ids.add(parsed["id"].numpy())
    assert len(ids) == 30


def test_frame_level_sequence_examples_dequantize_to_the_video_means(tmp_path):
    config = synthetic.SyntheticConfig(min_frames=120, max_frames=130)
    generator = synthetic.SyntheticYT8M(config)
    video = next(generator.videos(1, "train"))
    example = tf.train.SequenceExample.FromString(
        synthetic.serialize_video(generator, video, frame_level=True))
    assert example.context.feature["id"].bytes_list.value[0] == video["id"].encode()
    assert list(example.context.feature["labels"].int64_list.value) == video["labels"].tolist()
    rgb = example.feature_lists.feature_list["rgb"].feature
    audio = example.feature_lists.feature_list["audio"].feature
    assert 120 <= len(rgb) == len(audio) <= 130
    frames = np.stack([np.frombuffer(f.bytes_list.value[0], np.uint8) for f in rgb])
    assert frames.shape[1] == features.FRAME_FEATURE_SIZES["rgb"]
    assert len(audio[0].bytes_list.value[0]) == features.FRAME_FEATURE_SIZES["audio"]
    # The frames scatter around the video mean: frame noise / sqrt(frames) ≈ 0.09, plus quantization.
    mean = features.dequantize(frames.astype(np.float64)).mean(axis=0)
    assert np.abs(mean - video["means"]["rgb"]).mean() < 0.1


def test_labels_carry_a_learnable_signal():
    """A nearest-prototype rule (no training) finds a true label far above chance."""
    generator = synthetic.SyntheticYT8M()
    hits = 0
    videos = list(generator.videos(200, "validate"))
    for video in videos:
        scores = generator.prototypes["rgb"] @ video["means"]["rgb"]
        hits += int(np.argmax(scores) in set(video["labels"].tolist()))
    assert hits / len(videos) > 0.5  # chance is about 2.5 / 3862


def test_cli_writes_both_splits(tmp_path):
    synthetic.main(["--out", str(tmp_path), "--videos", "8", "--shards", "2", "--seed", "1"])
    assert len(_records(str(tmp_path / "train*.tfrecord"))) == 8
    assert len(_records(str(tmp_path / "validate*.tfrecord"))) == 2
