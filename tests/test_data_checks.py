"""Pre-flight shard checks: truncated downloads and empty patterns are named before anything runs."""
import shutil

import pytest
import tensorflow as tf

import local_runner
from pipeline.data_checks import InputDataError, check_shards, scan_tfrecord, tfrecord_framing_error


def test_complete_shards_pass_and_every_truncation_is_caught(synthetic_video_dir, tmp_path):
    good = sorted(tf.io.gfile.glob(synthetic_video_dir + "/validate*.tfrecord"))[0]
    assert tfrecord_framing_error(good) is None
    data = open(good, "rb").read()
    for cut in (5, 100, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.tfrecord"
        path.write_bytes(data[:cut])
        assert "truncated" in tfrecord_framing_error(str(path))


def test_runner_names_the_truncated_shard_and_the_empty_pattern(synthetic_video_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.argv", ["local_runner.py"])
    data = tmp_path / "data"
    shutil.copytree(synthetic_video_dir, data)
    bad = data / "train0001.tfrecord"
    bad.write_bytes(bad.read_bytes()[:3000])
    with pytest.raises(InputDataError) as failure:
        local_runner.main(["--train_data_pattern", str(data / "train*.tfrecord"),
                           "--eval_data_pattern", str(data / "test*.tfrecord"),
                           "--pipeline_root", str(tmp_path / "root")])
    message = str(failure.value)
    assert f"{bad}: record" in message and "truncated download" in message
    assert f"no file matches '{data / 'test*.tfrecord'}'" in message
    assert not (tmp_path / "root").exists()  # nothing ran


def test_check_shards_returns_the_files(synthetic_video_dir):
    files = check_shards([synthetic_video_dir + "/train*.tfrecord"])
    assert [f.rsplit("/", 1)[1] for f in files] == ["train0000.tfrecord", "train0001.tfrecord"]


def test_scan_counts_records_of_a_whole_file_and_stops_at_a_cut(tmp_path):
    path = str(tmp_path / "three.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for payload in (b"a", b"bb", b"ccc"):
            w.write(payload)
    assert scan_tfrecord(path) == (3, None)
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-2])
    records, error = scan_tfrecord(path)
    assert records == 2 and "record 2" in error
