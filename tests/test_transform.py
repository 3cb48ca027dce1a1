"""preprocessing_fn run for real with tf.Transform's Beam implementation on generated examples."""
import glob
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import schema_utils

from transform.preprocessing import labels_to_multi_hot, preprocessing_fn
from yt8m_tfx import features


def _raw_rows(directory, dataset=features.DEFAULT_DATASET):
    spec = features.video_level_feature_spec(tf, dataset)
    id_key = features.release(dataset).id_key
    rows = []
    for record in tf.data.TFRecordDataset(sorted(glob.glob(directory + "/train*.tfrecord"))):
        parsed = tf.io.parse_single_example(record, spec)
        rows.append({
            id_key: parsed[id_key].numpy(),
            "labels": tf.sparse.to_dense(parsed["labels"]).numpy(),
            "mean_rgb": parsed["mean_rgb"].numpy(),
            "mean_audio": parsed["mean_audio"].numpy(),
        })
    return rows


def _video_level_transform(rows, input_normalization, dataset=features.DEFAULT_DATASET):
    import functools
    from transform.preprocessing import TransformConfig
    metadata = tft.DatasetMetadata(schema_utils.schema_from_feature_spec(
        features.video_level_feature_spec(tf, dataset)))
    fn = functools.partial(preprocessing_fn, custom_config=TransformConfig(
        input_normalization=input_normalization, dataset=dataset).to_custom_config())
    with tft_beam.Context(temp_dir=tempfile.mkdtemp()):
        (transformed, _), _ = ((rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            fn, output_record_batches=False))
    # Whatever the release calls the id, Transform passes it on as video_id.
    by_id = {r[features.TRANSFORMED_VIDEO_ID_KEY]: r for r in transformed}
    in_row_order = [by_id[r[features.release(dataset).id_key]] for r in rows]
    out = {name: np.stack([r[name] for r in in_row_order])
           for name in ("mean_rgb_xf", "mean_audio_xf", "rgb_norm_bucket")}
    out["labels"] = [r["labels"] for r in in_row_order]
    return out


def test_l2_normalization_gives_unit_norm_features_like_numpy_and_keeps_labels(synthetic_video_dir):
    from transform.normalization import numpy_reference
    rows = _raw_rows(synthetic_video_dir)
    out = _video_level_transform(rows, "l2")
    for name in ("mean_rgb", "mean_audio"):
        values = out[name + "_xf"]
        np.testing.assert_allclose(np.linalg.norm(values, axis=1), 1, atol=1e-5)
        expected = numpy_reference(np.stack([r[name] for r in rows]), "l2")
        np.testing.assert_allclose(values, expected, atol=1e-6)
    buckets = out["rgb_norm_bucket"]
    assert set(buckets.tolist()) == {0, 1, 2, 3}
    assert np.bincount(buckets).min() >= len(rows) // 8  # roughly quartiles
    for row, labels in zip(rows, out["labels"]):
        np.testing.assert_array_equal(np.sort(labels), np.sort(row["labels"]))


def test_zscore_normalization_is_a_per_dimension_z_score_scaled_to_unit_norm(synthetic_video_dir):
    from transform.normalization import numpy_reference
    rows = _raw_rows(synthetic_video_dir)
    out = _video_level_transform(rows, "zscore")
    for name, size in features.VIDEO_FEATURE_SIZES.items():
        raw = np.stack([r[name] for r in rows]).astype(np.float64)
        values = out[name + "_xf"]
        np.testing.assert_allclose(values.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(values.std(axis=0) * np.sqrt(size), 1, atol=1e-3)
        np.testing.assert_allclose(values, numpy_reference(raw, "zscore", raw.mean(0), raw.std(0)), atol=1e-5)
        # Each feature's mean squared norm is 1, like l2 (raw z-scores: size).
        assert np.mean(np.sum(values ** 2, axis=1)) == pytest.approx(1.0, rel=1e-3)


def test_2017_release_ids_are_passed_on_as_video_id(tmp_path):
    from yt8m_tfx.data import synthetic
    synthetic.generate(str(tmp_path), train_videos=40, eval_videos=4, shards=1,
                       config=synthetic.SyntheticConfig(dataset="yt8m-2017", seed=3))
    rows = _raw_rows(str(tmp_path), "yt8m-2017")
    assert len(rows) == 40 and all("id" not in row for row in rows)
    out = _video_level_transform(rows, "l2", "yt8m-2017")  # raises KeyError if an id went missing
    np.testing.assert_allclose(np.linalg.norm(out["mean_rgb_xf"], axis=1), 1, atol=1e-5)
    assert max(labels.max() for labels in out["labels"]) >= features.NUM_CLASSES // 2  # 4,716 classes drawn


def test_unknown_input_normalization_is_a_clear_error():
    from transform.preprocessing import TransformConfig
    with pytest.raises(ValueError, match="Unknown --input_normalization='minmax'"):
        TransformConfig(input_normalization="minmax")
    with pytest.raises(ValueError, match=r"Unknown transform settings \['input_normalisation'\]"):
        TransformConfig.from_custom_config({"input_normalisation": "l2", "code_fingerprint": "abc"})
    assert TransformConfig.from_custom_config({"input_normalization": "zscore", "code_fingerprint": "abc"}) == \
        TransformConfig(input_normalization="zscore")


def test_labels_to_multi_hot():
    labels = tf.sparse.from_dense(tf.constant([[3, 0], [1, 3861]], tf.int64))  # 0 is padding here
    dense = labels_to_multi_hot(labels, 3862).numpy()
    assert dense.shape == (2, 3862) and dense.dtype == np.float32
    assert np.flatnonzero(dense[0]).tolist() == [3] and np.flatnonzero(dense[1]).tolist() == [1, 3861]


@pytest.mark.parametrize("bad_id, message", [(3862, "class count"), (-1, "negative")])
def test_labels_to_multi_hot_rejects_out_of_range_ids(bad_id, message):
    labels = tf.SparseTensor(indices=[[0, 0]], values=tf.constant([bad_id], tf.int64), dense_shape=[1, 1])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        labels_to_multi_hot(labels, 3862)


def _frame_level_transform(pattern, config):
    """AnalyzeAndTransform over SequenceExamples through tfx_bsl's native (batched) TFXIO path."""
    import functools
    from tfx_bsl.tfxio import tf_sequence_example_record
    from transform.preprocessing import TransformConfig
    from yt8m_tfx import schema
    tfxio = tf_sequence_example_record.TFSequenceExampleRecord(
        pattern, ["test"], schema=schema.frame_level_schema())
    import pickle
    import apache_beam as beam
    temp_dir = tempfile.mkdtemp()
    result_path = temp_dir + "/rows.pickle"
    with beam.Pipeline() as pipeline, tft_beam.Context(temp_dir=temp_dir):
        raw = pipeline | tfxio.BeamSource(batch_size=16)
        (transformed, _), _ = ((raw, tfxio.TensorAdapterConfig()) | tft_beam.AnalyzeAndTransformDataset(
            functools.partial(preprocessing_fn, custom_config=TransformConfig(**config).to_custom_config()),
            output_record_batches=False))
        _ = (transformed | beam.combiners.ToList()
             | beam.Map(lambda rows: pickle.dump(rows, open(result_path, "wb"))))
    with open(result_path, "rb") as f:
        return pickle.load(f)


def _numpy_frames(pattern):
    """{video id: {feature: dequantized [frames, size]}} decoded in numpy, the reference."""
    context, sequence = features.frame_level_feature_specs(tf)
    out = {}
    for record in tf.data.TFRecordDataset(sorted(glob.glob(pattern))):
        ctx, seq = tf.io.parse_single_sequence_example(record, context, {
            name: tf.io.FixedLenSequenceFeature([], tf.string) for name in features.FRAME_FEATURE_SIZES})
        out[ctx["id"].numpy()] = {
            name: features.dequantize(np.stack([np.frombuffer(b, np.uint8) for b in seq[name].numpy()])
                                      .astype(np.float32))
            for name in features.FRAME_FEATURE_SIZES}
        out[ctx["id"].numpy()]["labels"] = tf.sparse.to_dense(ctx["labels"]).numpy()
    return out


def test_frame_level_preprocessing_dequantizes_truncates_and_pads(synthetic_frame_dir):
    pattern = synthetic_frame_dir + "/validate*.tfrecord"
    max_frames = 40  # the synthetic videos have 20-60 frames: both padding and truncation happen
    rows = _frame_level_transform(pattern, {"frame_features": True, "max_frames": max_frames})
    reference = _numpy_frames(pattern)
    assert len(rows) == len(reference) == 60
    truncated = padded = 0
    for row in rows:
        ref = reference[row[features.TRANSFORMED_VIDEO_ID_KEY]]
        n = min(len(ref["rgb"]), max_frames)
        assert row[features.NUM_FRAMES_KEY] == n
        for name, size in features.FRAME_FEATURE_SIZES.items():
            got = np.asarray(row[features.transformed_name(name)]).reshape(max_frames, size)
            np.testing.assert_allclose(got[:n], ref[name][:n], atol=1e-6)
            assert not got[n:].any()
        truncated += len(ref["rgb"]) > max_frames
        padded += len(ref["rgb"]) < max_frames
        np.testing.assert_array_equal(np.sort(row["labels"]), np.sort(ref["labels"]))
        assert 0 <= row["rgb_norm_bucket"] < 4
    assert truncated and padded
    assert len({row["rgb_norm_bucket"] for row in rows}) == 4


def test_frame_level_output_frames_pads_to_the_sample_size(synthetic_frame_dir):
    """--sample_frames: the graph pads to output_frames, not max_frames (the frames were sampled before it).
    Given a whole video (transform_features, analysis) it keeps the first output_frames frames."""
    pattern = synthetic_frame_dir + "/validate*.tfrecord"
    rows = _frame_level_transform(pattern, {"frame_features": True, "max_frames": 40, "output_frames": 8})
    reference = _numpy_frames(pattern)
    for row in rows:
        ref = reference[row[features.TRANSFORMED_VIDEO_ID_KEY]]
        assert row[features.NUM_FRAMES_KEY] == 8  # every synthetic video has 20 frames or more
        for name, size in features.FRAME_FEATURE_SIZES.items():
            got = np.asarray(row[features.transformed_name(name)]).reshape(8, size)
            np.testing.assert_allclose(got, ref[name][:8], atol=1e-6)


def test_frame_level_optional_normalisation_z_scores_valid_frames(synthetic_frame_dir):
    pattern = synthetic_frame_dir + "/validate*.tfrecord"
    rows = _frame_level_transform(pattern, {"frame_features": True, "max_frames": 300,
                                            "normalize_frames": True})
    audio = np.concatenate([np.asarray(r["audio_xf"]).reshape(300, 128)[:r["num_frames"]] for r in rows])
    np.testing.assert_allclose(audio.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(audio.std(axis=0), 1, atol=1e-2)


def test_frame_of_the_wrong_byte_length_is_a_clear_error():
    from transform.preprocessing import decode_frames
    frames = tf.RaggedTensor.from_row_lengths(tf.RaggedTensor.from_row_lengths([b"\x00" * 5], [1]), [1])
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be 1024 bytes"):
        decode_frames(frames, "rgb", 300)
