"""Pre-flight shard checks: truncated downloads and empty patterns are named before anything runs."""
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import local_runner
from pipeline.data_checks import (InputDataError, check_shards, detect_dataset, first_record_has_labels,
                                  scan_tfrecord, tfrecord_problem)
from tests.conftest import write_without_labels


def test_complete_shards_pass_and_every_truncation_is_caught(synthetic_video_dir, tmp_path):
    good = sorted(tf.io.gfile.glob(synthetic_video_dir + "/validate*.tfrecord"))[0]
    assert tfrecord_problem(good) is None
    data = open(good, "rb").read()
    for cut in (5, 100, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.tfrecord"
        path.write_bytes(data[:cut])
        assert "truncated" in tfrecord_problem(str(path))


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
    assert set(os.listdir(tmp_path / "root")) <= {".run.lock", "logs"}  # nothing ran (the log says why)


def test_label_less_eval_shards_are_refused_before_anything_runs(synthetic_video_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.argv", ["local_runner.py"])
    write_without_labels(synthetic_video_dir + "/validate*.tfrecord", str(tmp_path / "test"))
    with pytest.raises(InputDataError, match=r"test0000.tfrecord .* has no 'labels'.*--inference_data_pattern"):
        local_runner.main(["--train_data_pattern", synthetic_video_dir + "/train*.tfrecord",
                           "--eval_data_pattern", str(tmp_path / "test" / "test*.tfrecord"),
                           "--pipeline_root", str(tmp_path / "root")])
    assert set(os.listdir(tmp_path / "root")) <= {".run.lock", "logs"}  # nothing ran (the log says why)
    assert first_record_has_labels(synthetic_video_dir + "/validate0000.tfrecord", frame_level=False)


def _synthetic(directory, dataset, frame_level=False):
    from yt8m_tfx.data import synthetic
    synthetic.generate(str(directory), train_videos=4, eval_videos=2, shards=1, frame_level=frame_level,
                       config=synthetic.SyntheticConfig(dataset=dataset, min_frames=2, max_frames=3))
    return str(directory / "train*.tfrecord"), str(directory / "validate*.tfrecord")


def test_release_is_detected_from_the_video_id_and_feature_names(tmp_path):
    for dataset in ("yt8m-2018", "yt8m-2017", "yt8m-2016"):
        for frame_level in (False, True):
            patterns = _synthetic(tmp_path / f"{dataset}{frame_level}", dataset, frame_level)
            assert detect_dataset(patterns, frame_level) == dataset
            assert detect_dataset(patterns, frame_level, requested=dataset) == dataset


def test_mixed_mismatched_and_unknown_releases_are_clear_errors(tmp_path):
    train_2018, _ = _synthetic(tmp_path / "a", "yt8m-2018")
    _, eval_2017 = _synthetic(tmp_path / "b", "yt8m-2017")
    with pytest.raises(InputDataError, match=r"mixes YouTube-8M releases: .*train.* is yt8m-2018, .* is yt8m-2017"):
        detect_dataset([train_2018, eval_2017], False)
    with pytest.raises(InputDataError, match="--dataset=yt8m-2017 but the data is yt8m-2018"):
        detect_dataset([train_2018], False, requested="yt8m-2017")
    other = tmp_path / "other.tfrecord"
    with tf.io.TFRecordWriter(str(other)) as writer:
        writer.write(tf.train.Example(features=tf.train.Features(feature={
            "vid": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x"]))})).SerializeToString())
    with pytest.raises(InputDataError, match=r"matches no YouTube-8M release as video-level data: its first record "
                                             r"has vid; expected one of \(yt8m-2018: id, mean_rgb, mean_audio; "
                                             r"yt8m-2017: video_id, mean_rgb, mean_audio; "
                                             r"yt8m-2016: video_id, mean_inc3\)$"):
        detect_dataset([str(other)], False)


def test_a_record_with_one_release_id_and_another_release_features_matches_none(tmp_path):
    """2016 and 2017 share `video_id`: their embeddings tell them apart, and a record mixing them is refused."""
    from yt8m_tfx.data import synthetic
    mixed = tmp_path / "mixed.tfrecord"
    with tf.io.TFRecordWriter(str(mixed)) as writer:  # 2018's id key with 2016's embedding
        example = synthetic.video_level_example("x", [1], np.zeros(1024), dataset="yt8m-2016")
        example.features.feature["id"].CopyFrom(example.features.feature.pop("video_id"))
        writer.write(example.SerializeToString())
    with pytest.raises(InputDataError, match="matches no YouTube-8M release as video-level data: its first record "
                                             "has id, labels, mean_inc3;"):
        detect_dataset([str(mixed)], False)
    frames_2017 = _synthetic(tmp_path / "f", "yt8m-2017", True)[0]
    with pytest.raises(InputDataError, match="matches no YouTube-8M release as video-level data: its first record "
                                             "has labels, video_id;"):
        detect_dataset([frames_2017], False)  # frame-level data read as video-level: no embeddings in context


def test_real_2017_shards_and_their_label_less_test_shards_are_2017(tmp_path):
    from tests.conftest import real_2017_shards, real_shards
    validate, test = real_2017_shards(["validatea0", "testa0"])
    assert detect_dataset([validate, test], False) == "yt8m-2017"
    assert not first_record_has_labels(test, False)
    assert detect_dataset(real_shards([0]), False) == "yt8m-2018"


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


def _three_records(tmp_path):
    path = str(tmp_path / "three.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for payload in (b"first record", b"second record", b"third record"):
            w.write(payload)
    return path


def test_masked_crc_matches_what_tensorflow_writes(tmp_path):
    import struct
    from pipeline.data_checks import masked_crc32c
    data = open(_three_records(tmp_path), "rb").read()
    assert struct.unpack("<I", data[8:12])[0] == masked_crc32c(data[:8])
    assert struct.unpack("<I", data[24:28])[0] == masked_crc32c(b"first record")


def test_a_flipped_data_byte_is_named_by_file_record_and_offset_and_repair_keeps_the_rest(tmp_path, capsys):
    from pipeline import data_checks
    path = _three_records(tmp_path)
    data = bytearray(open(path, "rb").read())
    second = 12 + len(b"first record") + 4          # byte offset of record 1
    data[second + 12 + 3] ^= 0x01                   # one bit inside record 1's data
    open(path, "wb").write(bytes(data))
    assert scan_tfrecord(path, verify_crc=False) == (3, None)  # framing alone does not see it
    records, error = scan_tfrecord(path)
    assert records == 1 and error == f"record 1 at byte {second}: data checksum mismatch (corrupted bytes)"
    with pytest.raises(InputDataError) as failure:
        check_shards([path])
    assert f"{path}: record 1 at byte {second}" in str(failure.value) and "repair" in str(failure.value)
    fixed = str(tmp_path / "fixed.tfrecord")
    assert data_checks.main(["repair", path, fixed]) == 0
    out = capsys.readouterr().out
    assert f"dropped: record 1 at byte {second}" in out and f"{fixed}: 2 records kept, 1 dropped" in out
    assert [r.numpy() for r in tf.data.TFRecordDataset(fixed)] == [b"first record", b"third record"]
    assert data_checks.main(["check", fixed]) == 0


def test_a_corrupted_length_header_ends_the_readable_part(tmp_path):
    from pipeline.data_checks import repair_tfrecord
    path = _three_records(tmp_path)
    data = bytearray(open(path, "rb").read())
    data[0] ^= 0x01  # record 0's length
    open(path, "wb").write(bytes(data))
    assert "corrupted length header" in scan_tfrecord(path)[1]
    kept, problems = repair_tfrecord(path, str(tmp_path / "fixed.tfrecord"))
    assert kept == 0 and len(problems) == 1
