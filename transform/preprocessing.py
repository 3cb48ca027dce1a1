"""Transform stage: the tf.Transform preprocessing_fn for YouTube-8M.

Video-level: z-score each dimension of each embedding (mean_rgb, mean_audio) with full-pass tft analyzers.
Labels stay a sparse list of class ids: densifying them here would store 3862 floats per video
(about 4x the features) in the transformed examples; `labels_to_multi_hot` turns them into the dense
[NUM_CLASSES] float target inside the trainer's input pipeline and in the evaluation signature.
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from yt8m_tfx import features

# Slices the Evaluator reports besides "Overall" (computed in the model's transform_features signature).
RGB_NORM_BUCKET_KEY = "rgb_norm_bucket"
NUM_LABELS_BUCKET_KEY = "num_labels_bucket"
NUM_LABELS_BUCKET_MAX = 5


def labels_to_multi_hot(labels: tf.sparse.SparseTensor, num_classes: int = features.NUM_CLASSES) -> tf.Tensor:
    """Sparse [B, None] class ids -> dense multi-hot [B, num_classes] float32.

    Ids outside [0, num_classes) raise instead of being silently dropped.
    """
    values = tf.debugging.assert_less(
        labels.values, tf.cast(num_classes, labels.values.dtype),
        message=f"label id >= NUM_CLASSES ({num_classes})")
    with tf.control_dependencies([values, tf.debugging.assert_non_negative(labels.values,
                                                                            message="negative label id")]):
        ids = tf.sparse.SparseTensor(labels.indices, tf.cast(labels.values, tf.int64), labels.dense_shape)
        indicator = tf.sparse.to_indicator(ids, num_classes)
    return tf.cast(indicator, tf.float32)


def preprocessing_fn(inputs, custom_config=None):
    """Video-level preprocessing (referenced by module path from pipeline/pipeline.py).

    custom_config carries the code fingerprint that keys the Transform cache; nothing else yet.
    """
    del custom_config
    outputs = {}
    for name in features.VIDEO_FEATURE_SIZES:
        outputs[features.transformed_name(name)] = tft.scale_to_z_score(inputs[name], elementwise=True)
    # A feature-derived slice for TFMA: quartile of the visual embedding's L2 norm (tft quantiles).
    outputs[RGB_NORM_BUCKET_KEY] = tft.bucketize(tf.norm(inputs["mean_rgb"], axis=1), num_buckets=4)
    outputs[features.LABELS_KEY] = inputs[features.LABELS_KEY]
    outputs[features.VIDEO_ID_KEY] = inputs[features.VIDEO_ID_KEY]
    return outputs
