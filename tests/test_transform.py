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


def _raw_rows(directory):
    spec = features.video_level_feature_spec(tf)
    rows = []
    for record in tf.data.TFRecordDataset(sorted(glob.glob(directory + "/train*.tfrecord"))):
        parsed = tf.io.parse_single_example(record, spec)
        rows.append({
            "id": parsed["id"].numpy(),
            "labels": tf.sparse.to_dense(parsed["labels"]).numpy(),
            "mean_rgb": parsed["mean_rgb"].numpy(),
            "mean_audio": parsed["mean_audio"].numpy(),
        })
    return rows


def test_preprocessing_fn_z_scores_each_dimension_and_keeps_labels(synthetic_video_dir):
    rows = _raw_rows(synthetic_video_dir)
    metadata = tft.DatasetMetadata(schema_utils.schema_from_feature_spec(features.video_level_feature_spec(tf)))
    with tft_beam.Context(temp_dir=tempfile.mkdtemp()):
        (transformed, _), _ = ((rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=False))
    rgb = np.stack([r["mean_rgb_xf"] for r in transformed])
    audio = np.stack([r["mean_audio_xf"] for r in transformed])
    assert rgb.shape == (len(rows), 1024) and audio.shape == (len(rows), 128)
    np.testing.assert_allclose(rgb.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(rgb.std(axis=0), 1, atol=1e-3)
    np.testing.assert_allclose(audio.std(axis=0), 1, atol=1e-3)
    buckets = np.array([r["rgb_norm_bucket"] for r in transformed])
    assert set(buckets.tolist()) == {0, 1, 2, 3}
    assert np.bincount(buckets).min() >= len(rows) // 8  # roughly quartiles
    by_id = {r["id"]: r for r in rows}
    for out in transformed:
        np.testing.assert_array_equal(np.sort(out["labels"]), np.sort(by_id[out["id"]]["labels"]))


def test_labels_to_multi_hot():
    labels = tf.sparse.from_dense(tf.constant([[3, 0], [1, 3861]], tf.int64))  # 0 is padding here
    dense = labels_to_multi_hot(labels).numpy()
    assert dense.shape == (2, features.NUM_CLASSES) and dense.dtype == np.float32
    assert np.flatnonzero(dense[0]).tolist() == [3] and np.flatnonzero(dense[1]).tolist() == [1, 3861]


@pytest.mark.parametrize("bad_id, message", [(3862, "NUM_CLASSES"), (-1, "negative")])
def test_labels_to_multi_hot_rejects_out_of_range_ids(bad_id, message):
    labels = tf.SparseTensor(indices=[[0, 0]], values=tf.constant([bad_id], tf.int64), dense_shape=[1, 1])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        labels_to_multi_hot(labels)
