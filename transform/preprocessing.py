"""Transform stage: the tf.Transform preprocessing_fn for YouTube-8M (video- and frame-level).

Video-level: normalise each embedding of the release (mean_rgb, mean_audio; 2016: mean_inc3) as `--input_normalization` says
(transform/normalization.py: the seed's per-feature L2 by default, or a scaled per-dimension z-score whose
statistics come from full-pass tft analyzers).
Frame-level: decode each frame's uint8 bytes, dequantize (q*4/255 + 4/512 - 2), truncate/zero-pad to
max_frames, emit num_frames; per-dimension z-scoring over all valid frames is optional. The pipeline
does not materialize frame-level output (300x1152 floats a video would be ~1.4 MB on disk); the
Trainer applies this same graph on the fly to the raw SequenceExamples.
Labels stay a sparse list of class ids: densifying them here would store 3862 floats per video;
`labels_to_multi_hot` turns them into the dense [num_classes] float target inside the trainer's input
pipeline and in the evaluation signature.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

import tensorflow as tf
import tensorflow_transform as tft

from yt8m_tfx.code_fingerprint import CUSTOM_CONFIG_KEY
from transform import normalization
from yt8m_tfx import features

# Slices the Evaluator reports besides "Overall" (computed in the model's transform_features signature).
RGB_NORM_BUCKET_KEY = "rgb_norm_bucket"
NUM_LABELS_BUCKET_KEY = "num_labels_bucket"
NUM_LABELS_BUCKET_MAX = 5
FIRST_LABEL_VERTICAL_KEY = "first_label_vertical"  # the vertical (Games, Autos & Vehicles, ...) of label 1
NO_LABEL_VERTICAL = "(no label)"
UNKNOWN_VERTICAL = "(no vocabulary)"  # a release whose class names the project does not ship
RGB_NORM_BUCKETS = 4


@dataclasses.dataclass(frozen=True)
class TransformConfig:
    """What the pipeline passes in Transform's custom_config (besides the code fingerprint)."""
    frame_features: bool = False
    max_frames: int = features.MAX_FRAMES
    # Frames per video in the output (padded or cut to it): the Trainer's --sample_frames, which samples the
    # raw frames before this graph runs (trainer/frame_sampling.py); 0 = max_frames.
    output_frames: int = 0
    normalize_frames: bool = False  # the starter code feeds dequantized frames as they are
    input_normalization: str = normalization.DEFAULT_INPUT_NORMALIZATION  # video-level features
    dataset: str = features.DEFAULT_DATASET  # the release: its video id and features (features.RELEASES)

    def __post_init__(self):
        normalization.check_input_normalization(self.input_normalization)
        features.release(self.dataset)

    def to_custom_config(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_custom_config(cls, custom_config: Optional[Mapping[str, Any]]) -> "TransformConfig":
        custom_config = dict(custom_config or {})
        custom_config.pop(CUSTOM_CONFIG_KEY, None)  # cache key only
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(custom_config) - known)
        if unknown:
            raise ValueError(f"Unknown transform settings {unknown}; known: {sorted(known)}")
        return cls(**custom_config)


def labels_to_multi_hot(labels: tf.sparse.SparseTensor, num_classes: int) -> tf.Tensor:
    """Sparse [B, None] class ids -> dense multi-hot [B, num_classes] float32.

    Ids outside [0, num_classes) raise instead of being silently dropped.
    """
    values = tf.debugging.assert_less(
        labels.values, tf.cast(num_classes, labels.values.dtype),
        message=f"label id >= the release's class count ({num_classes})")
    with tf.control_dependencies([values, tf.debugging.assert_non_negative(labels.values,
                                                                            message="negative label id")]):
        ids = tf.sparse.SparseTensor(labels.indices, tf.cast(labels.values, tf.int64), labels.dense_shape)
        indicator = tf.sparse.to_indicator(ids, num_classes)
    return tf.cast(indicator, tf.float32)


def decode_frames(frames: tf.RaggedTensor, name: str, max_frames: int,
                  dataset: str = features.DEFAULT_DATASET) -> tf.RaggedTensor:
    """Ragged [B, frames, 1] uint8 byte strings -> ragged [B, min(frames, max_frames), size] float32."""
    size = features.feature_sizes(True, dataset)[name]
    frames = frames[:, :max_frames]  # the starter code keeps the first max_frames frames
    encoded = frames.values  # [total frames, values per frame]
    checks = [
        tf.debugging.assert_equal(encoded.row_lengths(), tf.constant(1, encoded.row_splits.dtype),
                                  message=f"each '{name}' frame must hold exactly one byte string"),
        tf.debugging.assert_equal(tf.strings.length(encoded.values), size,
                                  message=f"each '{name}' frame must be {size} bytes (uint8 codes)"),
    ]
    with tf.control_dependencies(checks):
        codes = tf.io.decode_raw(encoded.values, tf.uint8)  # [total frames, size]
    values = features.dequantize(tf.cast(codes, tf.float32))
    return tf.RaggedTensor.from_row_splits(tf.reshape(values, [-1, size]), frames.row_splits, validate=False)


def pad_frames(frames: tf.RaggedTensor, max_frames: int) -> tf.Tensor:
    """Ragged [B, frames, size] -> dense [B, max_frames, size]: zeros after the valid frames, longer videos cut."""
    size = frames.values.shape[-1]
    return frames.to_tensor(default_value=0.0, shape=[None, max_frames, size])


def _frame_level(inputs, config: TransformConfig):
    outputs = {}
    output_frames = config.output_frames or config.max_frames
    decoded = {name: decode_frames(inputs[name], name, config.max_frames, config.dataset)
               for name in features.feature_sizes(True, config.dataset)}
    for name, frames in decoded.items():
        if config.normalize_frames:
            # Statistics over every valid frame of every video (padding excluded).
            frames = frames.with_flat_values(tft.scale_to_z_score(frames.flat_values, elementwise=True))
        outputs[features.transformed_name(name)] = pad_frames(frames, output_frames)
    # The slice keeps its name whatever the release calls its visual feature (2016: inc3).
    rgb = decoded[features.release(config.dataset).visual_feature(frame_level=True)]
    outputs[features.NUM_FRAMES_KEY] = tf.minimum(rgb.row_lengths(), output_frames)
    # Same slice as video-level: quartile of the norm of the video's mean (dequantized) visual frame.
    mean_rgb = tf.math.divide_no_nan(tf.reduce_sum(rgb, axis=1),
                                     tf.cast(tf.expand_dims(rgb.row_lengths(), 1), tf.float32))
    outputs[RGB_NORM_BUCKET_KEY] = tft.bucketize(tf.norm(mean_rgb, axis=1), num_buckets=RGB_NORM_BUCKETS)
    return outputs


def normalize_video_feature(x, kind: str):
    if kind == "l2":
        return normalization.l2_normalize(x)
    if kind == "zscore":
        # tft.var is the population variance over the train split, like tft.scale_to_z_score.
        return normalization.scaled_z_score(x, tft.mean(x, reduce_instance_dims=False),
                                             tf.sqrt(tft.var(x, reduce_instance_dims=False)))
    return x


def _video_level(inputs, config: TransformConfig):
    outputs = {}
    for name in features.feature_sizes(False, config.dataset):
        outputs[features.transformed_name(name)] = normalize_video_feature(inputs[name], config.input_normalization)
    # A feature-derived slice for TFMA: quartile of the visual embedding's L2 norm (tft quantiles).
    visual = features.release(config.dataset).visual_feature(frame_level=False)
    outputs[RGB_NORM_BUCKET_KEY] = tft.bucketize(tf.norm(inputs[visual], axis=1), num_buckets=RGB_NORM_BUCKETS)
    return outputs


def preprocessing_fn(inputs, custom_config=None):
    """Referenced by module path from pipeline/pipeline.py; custom_config is a TransformConfig dict
    (plus the code fingerprint that keys the Transform cache)."""
    config = TransformConfig.from_custom_config(custom_config)
    outputs = _frame_level(inputs, config) if config.frame_features else _video_level(inputs, config)
    outputs[features.LABELS_KEY] = inputs[features.LABELS_KEY]
    outputs[features.TRANSFORMED_VIDEO_ID_KEY] = inputs[features.release(config.dataset).id_key]
    return outputs
