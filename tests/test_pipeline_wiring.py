import pytest

from pipeline.pipeline import split_data_patterns


def test_local_patterns_share_their_deepest_common_folder(tmp_path):
    base, train, eval_ = split_data_patterns(f"{tmp_path}/a/train*.tfrecord", f"{tmp_path}/b/validate*.tfrecord")
    assert (base, train, eval_) == (str(tmp_path), "a/train*.tfrecord", "b/validate*.tfrecord")


def test_remote_patterns_split_on_folders_not_characters():
    assert split_data_patterns("gs://bkt/data1/train*", "gs://bkt/data2/validate*") == (
        "gs://bkt", "data1/train*", "data2/validate*")
    assert split_data_patterns("s3://bkt/d/train*", "s3://bkt/d/validate*") == ("s3://bkt/d", "train*", "validate*")


def test_mixed_filesystems_and_folder_wildcards_are_errors(tmp_path):
    with pytest.raises(ValueError, match="same filesystem"):
        split_data_patterns("gs://bkt/train*", f"{tmp_path}/validate*")
    with pytest.raises(ValueError, match="wildcards"):
        split_data_patterns(f"{tmp_path}/*/train*", f"{tmp_path}/validate*")
