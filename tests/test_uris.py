"""Path flags keep filesystem URIs intact (os.path.abspath would make gs://b/x <cwd>/gs:/b/x)."""
import os

import pytest

from pipeline import uris


@pytest.mark.parametrize("uri", ["gs://bucket/yt8m/root", "s3://bucket/a/b", "hdfs://namenode/x"])
def test_uris_stay_as_given(uri):
    assert uris.is_uri(uri) and uris.absolute(uri) == uri
    assert uris.join(uri, "serving_model") == uri + "/serving_model"


def test_local_paths_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not uris.is_uri("runs/root")
    assert uris.absolute("runs/root") == os.path.join(str(tmp_path), "runs", "root")


def test_split_pattern_into_folder_and_file_glob(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert uris.split_pattern("gs://b/yt8m/test*.tfrecord") == ("gs://b/yt8m", "test*.tfrecord")
    assert uris.split_pattern("data/test*.tfrecord") == (str(tmp_path / "data"), "test*.tfrecord")
    with pytest.raises(ValueError, match="wildcards"):
        uris.split_pattern("gs://b/*/test*.tfrecord")


def test_local_runner_keeps_uri_flags_and_makes_local_ones_absolute(tmp_path, monkeypatch):
    import local_runner
    monkeypatch.chdir(tmp_path)
    args = local_runner.absolute_path_flags(local_runner.parse_args([
        "--pipeline_root", "runs/root", "--serving_model_dir", "gs://b/serving",
        "--train_data_pattern", "gs://b/d/train*", "--eval_data_pattern", "gs://b/d/validate*",
        "--inference_data_pattern", "data/test*.tfrecord"]))
    assert args.pipeline_root == str(tmp_path / "runs" / "root")
    assert args.serving_model_dir == "gs://b/serving"
    assert (args.train_data_pattern, args.eval_data_pattern) == ("gs://b/d/train*", "gs://b/d/validate*")
    assert args.inference_data_pattern == str(tmp_path / "data" / "test*.tfrecord")


def test_local_runner_needs_a_local_pipeline_root_for_its_sqlite_metadata():
    import local_runner
    with pytest.raises(SystemExit, match="must be a local folder"):
        local_runner.absolute_path_flags(local_runner.parse_args(["--pipeline_root", "gs://b/root"]))
