"""The curated schema is generated from features.py and accepts real and synthetic data."""
import tensorflow_data_validation as tfdv

import numpy as np
import pytest

from tests.conftest import real_shards
from yt8m_tfx import features, schema


@pytest.mark.parametrize("dataset", sorted(features.RELEASES))
@pytest.mark.parametrize("frame_level", [False, True])
def test_checked_in_schemas_match_features_module(dataset, frame_level):
    checked_in = tfdv.load_schema_text(schema.schema_path(frame_level, dataset))
    assert checked_in == schema.build_schema(frame_level, dataset), "run `make schema` after editing features.py"
    release = features.RELEASES[dataset]
    assert [f.name for f in checked_in.feature][:2] == [release.id_key, features.LABELS_KEY]
    assert checked_in.feature[1].int_domain.max == release.num_classes - 1


def test_real_2017_shards_have_no_anomalies_under_the_2017_schema():
    from tests.conftest import real_2017_shards
    (validate,) = real_2017_shards(["validatea0"])
    stats = tfdv.generate_statistics_from_tfrecord(data_location=validate)
    anomalies = tfdv.validate_statistics(stats, tfdv.load_schema_text(schema.schema_path(False, "yt8m-2017")))
    assert not anomalies.anomaly_info, anomalies
    anomalies = tfdv.validate_statistics(stats, tfdv.load_schema_text(schema.schema_path(False, "yt8m-2018")))
    assert {"id", "video_id"} <= set(anomalies.anomaly_info)  # what the 2018 schema said before --dataset


def _anomalies(pattern, frame_level=False):
    if frame_level:  # SequenceExamples go through tfx_bsl's decoder, as in StatisticsGen
        import apache_beam as beam
        import tempfile
        from tfx_bsl.tfxio import tf_sequence_example_record
        output = tempfile.mkdtemp() + "/stats.tfrecord"
        with beam.Pipeline() as pipeline:
            _ = (pipeline | tf_sequence_example_record.TFSequenceExampleRecord(pattern, ["test"]).BeamSource()
                 | tfdv.GenerateStatistics() | tfdv.WriteStatisticsToTFRecord(output))
        stats = tfdv.load_statistics(output)
    else:
        stats = tfdv.generate_statistics_from_tfrecord(data_location=pattern)
    return tfdv.validate_statistics(stats, tfdv.load_schema_text(schema.schema_path(frame_level)))


def test_synthetic_frame_level_data_has_no_anomalies(synthetic_frame_dir):
    anomalies = _anomalies(synthetic_frame_dir + "/train*.tfrecord", frame_level=True)
    assert not anomalies.anomaly_info, anomalies


def test_frame_level_schema_flags_frames_with_two_values(tmp_path):
    import tensorflow as tf
    from yt8m_tfx.data.synthetic import frame_level_example
    example = frame_level_example("x", [1], {"rgb": np.zeros((3, 1024), np.uint8),
                                             "audio": np.zeros((3, 128), np.uint8)})
    example.feature_lists.feature_list["rgb"].feature[0].bytes_list.value.append(b"extra")
    path = str(tmp_path / "bad.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        w.write(example.SerializeToString())
    anomalies = _anomalies(path, frame_level=True)
    assert "##SEQUENCE##.rgb" in anomalies.anomaly_info, anomalies


def test_frame_level_schema_makes_transform_decode_batches_natively():
    """Without tensor representations TFX Transform reads SequenceExamples one record at a time."""
    from tfx.components.transform.executor import TransformProcessor
    from tfx.proto import example_gen_pb2
    sequence = example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE
    assert not TransformProcessor._DecodesSequenceExamplesAsRawRecords(sequence, schema.frame_level_schema())
    without = schema.frame_level_schema()
    del without.tensor_representation_group[""]
    assert TransformProcessor._DecodesSequenceExamplesAsRawRecords(sequence, without)


def test_frame_level_parse_specs_agree_with_the_schema():
    """Serving parses with features.frame_level_feature_specs; tfx_bsl derives the same from the schema."""
    import tensorflow as tf
    from tfx_bsl.tfxio import tensor_representation_util
    derived = tensor_representation_util.CreateTfSequenceExampleParserConfig(schema.frame_level_schema())
    assert derived == features.frame_level_feature_specs(tf)


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
