"""Shared test fixtures. Tests that read ../shared skip (with a reason) when it is absent."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

import yt8m_tfx  # noqa: E402,F401

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_VIDEO_LEVEL = os.path.join(os.path.dirname(PROJECT_ROOT), "shared", "yt8m_sample", "video_level")
SHARED_VIDEO_LEVEL_2017 = SHARED_VIDEO_LEVEL + "_2017"


def _existing_or_skip(paths, what):
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        pytest.skip(f"real YT8M {what} sample not available ({missing[0]} missing)")
    return paths


def real_shards(indices):
    """Paths of ../shared/yt8m_sample/video_level/validateNNNN.tfrecord, or skip when not there."""
    return _existing_or_skip([os.path.join(SHARED_VIDEO_LEVEL, f"validate{i:04d}.tfrecord") for i in indices], "2018")


def real_2017_shards(names):
    """Paths of ../shared/yt8m_sample/video_level_2017/<name>.tfrecord (e.g. validatea0, testa1), or skip."""
    return _existing_or_skip([os.path.join(SHARED_VIDEO_LEVEL_2017, f"{name}.tfrecord") for name in names], "2017")


@pytest.fixture(scope="session")
def synthetic_video_dir(tmp_path_factory):
    """Small synthetic video-level dataset: 240 train / 60 eval videos in 2 shards each."""
    from yt8m_tfx.data import synthetic
    out = tmp_path_factory.mktemp("synthetic_video")
    synthetic.generate(str(out), train_videos=240, eval_videos=60, shards=2)
    return str(out)


@pytest.fixture(scope="session")
def synthetic_frame_dir(tmp_path_factory):
    """Small synthetic frame-level dataset (SequenceExamples, 20-60 frames): 200 train / 60 eval videos."""
    from yt8m_tfx.data import synthetic
    out = tmp_path_factory.mktemp("synthetic_frame")
    synthetic.generate(str(out), train_videos=200, eval_videos=60, shards=2, frame_level=True)
    return str(out)


def write_without_labels(pattern, out_dir, prefix="test"):
    """Copies of the video-level shards matching pattern with the `labels` feature removed (like Kaggle test
    shards); returns the video ids in order."""
    import glob
    import os

    import tensorflow as tf
    ids = []
    os.makedirs(out_dir, exist_ok=True)
    for n, path in enumerate(sorted(glob.glob(pattern))):
        with tf.io.TFRecordWriter(os.path.join(out_dir, f"{prefix}{n:04d}.tfrecord")) as writer:
            for record in tf.data.TFRecordDataset([path]):
                example = tf.train.Example.FromString(record.numpy())
                del example.features.feature["labels"]
                id_key = "id" if "id" in example.features.feature else "video_id"  # 2018 / 2017 release
                ids.append(example.features.feature[id_key].bytes_list.value[0].decode())
                writer.write(example.SerializeToString())
    return ids
