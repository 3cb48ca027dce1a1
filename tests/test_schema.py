"""The curated schema is generated from features.py and accepts real and synthetic data."""
import tensorflow_data_validation as tfdv

from tests.conftest import real_shards
from yt8m_tfx import schema


def test_checked_in_schema_matches_features_module():
    checked_in = tfdv.load_schema_text(schema.VIDEO_LEVEL_SCHEMA_PATH)
    assert checked_in == schema.video_level_schema(), "run `make schema` after editing features.py"


def _anomalies(pattern):
    stats = tfdv.generate_statistics_from_tfrecord(data_location=pattern)
    return tfdv.validate_statistics(stats, tfdv.load_schema_text(schema.VIDEO_LEVEL_SCHEMA_PATH))


def test_synthetic_data_has_no_anomalies(synthetic_video_dir):
    anomalies = _anomalies(synthetic_video_dir + "/train*.tfrecord")
    assert not anomalies.anomaly_info, anomalies


def test_real_sample_shard_has_no_anomalies():
    path = real_shards([0])[0]
    anomalies = _anomalies(path)
    assert not anomalies.anomaly_info, anomalies


def test_schema_flags_out_of_range_labels(tmp_path):
    import numpy as np
    import tensorflow as tf
    from yt8m_tfx.data.synthetic import video_level_example
    path = str(tmp_path / "bad.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        w.write(video_level_example("x", [3862], np.zeros(1024), np.zeros(128)).SerializeToString())
    anomalies = _anomalies(path)
    assert "labels" in anomalies.anomaly_info
    assert "max" in str(anomalies.anomaly_info["labels"]).lower() or "range" in str(
        anomalies.anomaly_info["labels"]).lower()
