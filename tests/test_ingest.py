"""--ingest=import (pipeline/ingest.py): links instead of copies, and a cache key that follows the files."""
import json
import os

import pytest
import tensorflow as tf

from pipeline import ingest


def _shards(directory, names, records=3):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        with tf.io.TFRecordWriter(str(directory / name)) as writer:
            for i in range(records):
                writer.write(f"{name}-{i}".encode())
    return str(directory)


def test_fingerprint_follows_size_mtime_and_the_file_list(tmp_path):
    data = _shards(tmp_path / "data", ["train0.tfrecord", "train1.tfrecord", "validate0.tfrecord"])
    patterns = {"train": data + "/train*.tfrecord", "eval": data + "/validate*.tfrecord"}
    first = ingest.files_fingerprint(patterns)
    assert ingest.files_fingerprint(patterns) == first and len(first) == 16
    stat = os.stat(data + "/train1.tfrecord")
    os.utime(data + "/train1.tfrecord", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched
    touched = ingest.files_fingerprint(patterns)
    assert touched != first
    _shards(tmp_path / "data", ["train2.tfrecord"])  # a shard added
    assert ingest.files_fingerprint(patterns) not in (first, touched)
    assert ingest.files_fingerprint({"eval": patterns["train"], "train": patterns["eval"]}) != \
        ingest.files_fingerprint(patterns)  # same files, other splits
    with pytest.raises(ValueError, match=r"no file matches \[.*test\*"):
        ingest.files_fingerprint({"train": data + "/test*"})


def test_link_split_links_every_file_under_a_unique_name(tmp_path):
    a = _shards(tmp_path / "a", ["part.tfrecord"])
    b = _shards(tmp_path / "b", ["part.tfrecord"], records=2)  # same name, other folder
    split_dir = str(tmp_path / "examples" / "Split-train")
    ingest.link_split([a + "/part.tfrecord", b + "/part.tfrecord"], split_dir)
    names = sorted(os.listdir(split_dir))
    assert names == ["00000-part.tfrecord", "00001-part.tfrecord"]
    assert all(os.path.islink(os.path.join(split_dir, n)) for n in names)
    records = [r.numpy() for r in tf.data.TFRecordDataset(sorted(tf.io.gfile.glob(split_dir + "/*")))]
    assert len(records) == 5  # read through the links, nothing copied


def test_pipeline_wiring_for_import_and_sampled_statistics(tmp_path):
    from pipeline.pipeline import create_pipeline
    from trainer.config import TrainerConfig
    data = _shards(tmp_path / "data", ["train0.tfrecord", "validate0.tfrecord"])
    pipeline = create_pipeline("p", str(tmp_path / "root"), data + "/train*", data + "/validate*", TrainerConfig(),
                               1, 1, ingest="import", stats_sample_rate=0.1)
    components = {c.id: c for c in pipeline.components}
    assert "ShardImporter" in components and "ImportExampleGen" not in components
    importer = components["ShardImporter"].exec_properties
    assert importer["payload_format"] == "FORMAT_TF_EXAMPLE"
    assert importer["files_fingerprint"] == ingest.files_fingerprint(
        {"train": data + "/train*", "eval": data + "/validate*"})
    assert json.loads(components["StatisticsGen"].exec_properties["stats_options_json"])["_sample_rate"] == 0.1
    assert components["Transform"].exec_properties["disable_statistics"] in (1, True)
    with pytest.raises(ValueError, match="--ingest must be one of"):
        create_pipeline("p", str(tmp_path / "root"), data + "/train*", data + "/validate*", TrainerConfig(), 1, 1,
                        ingest="move")
    with pytest.raises(ValueError, match="--stats_sample_rate must be in"):
        create_pipeline("p", str(tmp_path / "root"), data + "/train*", data + "/validate*", TrainerConfig(), 1, 1,
                        stats_sample_rate=0)
