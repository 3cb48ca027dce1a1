"""Shared test fixtures. Tests that read ../shared skip (with a reason) when it is absent."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

import yt8m_tfx  # noqa: E402,F401

from bench.common import PROJECT_ROOT, SAMPLE_DIR as SHARED_VIDEO_LEVEL  # noqa: E402

SHARED_VIDEO_LEVEL_2017 = SHARED_VIDEO_LEVEL + "_2017"
SHARED_FRAME_LEVEL = os.path.join(os.path.dirname(SHARED_VIDEO_LEVEL), "frame_level_2018_animals")


def parse_row(line: str):
    """A predictions.csv row read back: (video_id, [class ids], [scores])."""
    video_id, pairs = line.rstrip("\n").split(",", 1)
    tokens = pairs.split()
    return video_id, [int(t) for t in tokens[0::2]], [float(t) for t in tokens[1::2]]


def assert_readme_table_current(result_name: str, render, what: str):
    """The README holds `render(results)` for bench/results/<result_name>.json (skips without that file)."""
    from bench import report
    results = report.load_results()
    if result_name not in results:
        pytest.skip(f"no bench/results/{result_name}.json")
    readme = open(os.path.join(PROJECT_ROOT, "README.md")).read()
    assert render(results) in readme, f"README {what} table is stale: run `make bench-report`"


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
def genuine_frame_split(tmp_path_factory):
    """The genuine 2018 frame-level sample (116 videos of 5 classes in 32 files) split by file: every fourth
    file (sorted by name) is held out. Returns {"train": glob, "eval": glob}; skips without ../shared."""
    import glob
    files = sorted(glob.glob(os.path.join(SHARED_FRAME_LEVEL, "*.tfrecord")))
    if not files:
        pytest.skip(f"genuine frame-level sample not available ({SHARED_FRAME_LEVEL} missing)")
    root = tmp_path_factory.mktemp("genuine_frames")
    patterns = {}
    for split, chosen in (("train", [f for i, f in enumerate(files) if i % 4 != 3]), ("eval", files[3::4])):
        os.makedirs(root / split)
        for path in chosen:
            os.symlink(path, root / split / os.path.basename(path))
        patterns[split] = str(root / split / "*.tfrecord")
    return patterns


@pytest.fixture(scope="session")
def frame_level_split(request):
    """genuine_frame_split, or without ../shared the synthetic frame-level shards: {"train": glob, "eval": glob}."""
    try:
        return request.getfixturevalue("genuine_frame_split")
    except pytest.skip.Exception:
        directory = request.getfixturevalue("synthetic_frame_dir")
        return {split: os.path.join(directory, f"{prefix}*.tfrecord")
                for split, prefix in (("train", "train"), ("eval", "validate"))}


def majority_share(label_lists) -> float:
    """The share of videos whose labels hold the most frequent class: hit@1 of always predicting it."""
    from collections import Counter
    top, _ = Counter(c for labels in label_lists for c in labels).most_common(1)[0]
    return sum(top in labels for labels in label_lists) / len(label_lists)


@pytest.fixture(scope="session")
def synthetic_video_dir(tmp_path_factory):
    """Small synthetic video-level dataset: 240 train / 60 eval videos in 2 shards each."""
    from yt8m_tfx.data import synthetic
    out = tmp_path_factory.mktemp("synthetic_video")
    synthetic.generate(str(out), train_videos=240, eval_videos=60, shards=2)
    return str(out)


@pytest.fixture(scope="session")
def synthetic_frame_dir(tmp_path_factory):
    """Small synthetic frame-level dataset (SequenceExamples): 200 train / 60 eval videos of 20-60 frames, a
    fifth of genuine lengths (the generator's default) to keep the tests quick."""
    from yt8m_tfx.data import synthetic
    out = tmp_path_factory.mktemp("synthetic_frame")
    synthetic.generate(str(out), train_videos=200, eval_videos=60, shards=2, frame_level=True,
                       config=synthetic.SyntheticConfig(min_frames=20, max_frames=60))
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
