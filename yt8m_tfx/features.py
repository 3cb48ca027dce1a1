"""The single source of truth for YouTube-8M releases, feature names, sizes and class counts.

Everything else (generator, schema, Transform, models, serving signatures, CSV export) reads from here.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Mapping, Optional, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Release:
    """One YouTube-8M release: what its records call the video id and how many classes its labels index.
    Both releases share the feature names and sizes below."""
    name: str                  # the --dataset value
    id_key: str                # tf.Example feature (frame-level: SequenceExample context) holding the video id
    num_classes: int
    vocabulary: Optional[str]  # file under yt8m_tfx/vocabulary with class names, None when not shipped


RELEASES: Dict[str, Release] = {release.name: release for release in (
    # 2018 (and 2019): the current dataset, https://research.google.com/youtube8m/download.html
    Release("yt8m-2018", id_key="id", num_classes=3862, vocabulary="yt8m_2018.csv"),
    # 2017: the release of the starter code's README and the first Kaggle challenge.
    Release("yt8m-2017", id_key="video_id", num_classes=4716, vocabulary=None),
)}
DEFAULT_DATASET = "yt8m-2018"


def release(name: str) -> Release:
    if name not in RELEASES:
        raise ValueError(f"unknown --dataset {name!r}; expected one of {sorted(RELEASES)}")
    return RELEASES[name]


def release_for_num_classes(num_classes: int) -> Release:
    """The release whose class count a model's output has (a SavedModel does not record the release name)."""
    for candidate in RELEASES.values():
        if candidate.num_classes == num_classes:
            return candidate
    raise ValueError(f"no YouTube-8M release has {num_classes} classes ({sorted(RELEASES)})")


# The default release's values, for code that serves only it (benchmarks on the 2018 sample).
NUM_CLASSES = RELEASES[DEFAULT_DATASET].num_classes
VIDEO_ID_KEY = RELEASES[DEFAULT_DATASET].id_key
LABELS_KEY = "labels"
# Transform passes the video id on under one name whatever the release calls it (held-out split hashing).
TRANSFORMED_VIDEO_ID_KEY = "video_id"

# Video-level tf.Example: one float vector per video (the mean over frames).
VIDEO_FEATURE_SIZES: Dict[str, int] = {"mean_rgb": 1024, "mean_audio": 128}
# Frame-level tf.SequenceExample: one quantized uint8 byte string per frame.
FRAME_FEATURE_SIZES: Dict[str, int] = {"rgb": 1024, "audio": 128}
MAX_FRAMES = 300
# Where tfx_bsl puts a SequenceExample's feature_lists in its Arrow/schema view (a STRUCT feature).
SEQUENCE_COLUMN = "##SEQUENCE##"
# Default Trainer batch size for frame-level data: 256 videos x 300 frames x 1152 floats = 354 MB a batch.
FRAME_LEVEL_BATCH_SIZE = 256

# Frame features are quantized to 8 bits over [MIN_QUANTIZED_VALUE, MAX_QUANTIZED_VALUE].
MIN_QUANTIZED_VALUE = -2.0
MAX_QUANTIZED_VALUE = 2.0

TOP_K = 20  # predictions per video in the Kaggle CSV and in GAP

# Names produced by Transform. The `_xf` suffix follows the TFX template convention.
NUM_FRAMES_KEY = "num_frames"
LABELS_MULTI_HOT_KEY = "labels_multi_hot"


def transformed_name(name: str) -> str:
    return name + "_xf"


def feature_sizes(frame_level: bool) -> Dict[str, int]:
    return dict(FRAME_FEATURE_SIZES if frame_level else VIDEO_FEATURE_SIZES)


def select_features(feature_names: Sequence[str] | str | None, frame_level: bool) -> Dict[str, int]:
    """Resolve the starter code's `--feature_names` (e.g. "mean_rgb,mean_audio") to {name: size}.

    Raises a clear error for an unknown name instead of failing later inside a TF graph.
    """
    available = feature_sizes(frame_level)
    if feature_names is None or feature_names == "" or feature_names == []:
        return available
    if isinstance(feature_names, str):
        feature_names = [n.strip() for n in feature_names.split(",") if n.strip()]
    unknown = [n for n in feature_names if n not in available]
    if unknown:
        level = "frame-level" if frame_level else "video-level"
        raise ValueError(
            f"Unknown {level} feature(s) {unknown}; expected a subset of {sorted(available)}"
        )
    return {n: available[n] for n in feature_names}


def dequantize(quantized: np.ndarray | float,
               max_quantized_value: float = MAX_QUANTIZED_VALUE,
               min_quantized_value: float = MIN_QUANTIZED_VALUE):
    """uint8 codes -> floats, the inverse the YT8M release documents: q*4/255 + 4/512 - 2."""
    quantized_range = max_quantized_value - min_quantized_value
    scalar = quantized_range / 255.0
    bias = (quantized_range / 512.0) + min_quantized_value
    return quantized * scalar + bias


def quantize(values: np.ndarray,
             max_quantized_value: float = MAX_QUANTIZED_VALUE,
             min_quantized_value: float = MIN_QUANTIZED_VALUE) -> np.ndarray:
    """floats -> uint8 codes; the nearest code under `dequantize` (used by the synthetic generator)."""
    quantized_range = max_quantized_value - min_quantized_value
    bias = (quantized_range / 512.0) + min_quantized_value
    codes = np.rint((np.asarray(values, np.float64) - bias) * 255.0 / quantized_range)
    return np.clip(codes, 0, 255).astype(np.uint8)


def video_level_feature_spec(tf, dataset: str = DEFAULT_DATASET) -> Mapping[str, object]:
    """Raw parsing spec of a video-level tf.Example (tf passed in so this module stays numpy-only)."""
    spec = {
        release(dataset).id_key: tf.io.FixedLenFeature([], tf.string),
        LABELS_KEY: tf.io.VarLenFeature(tf.int64),
    }
    for name, size in VIDEO_FEATURE_SIZES.items():
        spec[name] = tf.io.FixedLenFeature([size], tf.float32)
    return spec


def frame_level_feature_specs(tf, dataset: str = DEFAULT_DATASET):
    """(context spec, sequence spec) for tf.io.parse_sequence_example of a frame-level SequenceExample.

    Frames parse to RaggedTensors [batch, frames, 1] of uint8 byte strings: the same tensors the
    frame-level schema's tensor representations give Transform and the Trainer's input pipeline.
    """
    context = {
        release(dataset).id_key: tf.io.FixedLenFeature([], tf.string),
        LABELS_KEY: tf.io.VarLenFeature(tf.int64),
    }
    sequence = {name: tf.io.RaggedFeature(tf.string, value_key=name, partitions=[], row_splits_dtype=tf.int64)
                for name in FRAME_FEATURE_SIZES}
    return context, sequence


def record_bytes(frame_features: bool, max_frames: int = MAX_FRAMES) -> int:
    """About how many bytes one serialized record holds: float32 video-level features, or max_frames uint8
    frames (the longest videos dominate a shuffle buffer)."""
    if frame_features:
        return max_frames * sum(FRAME_FEATURE_SIZES.values())
    return 4 * sum(VIDEO_FEATURE_SIZES.values())


def frame_batch_bytes(batch_size: int, max_frames: int = MAX_FRAMES,
                      sizes: Mapping[str, int] = FRAME_FEATURE_SIZES) -> int:
    """float32 bytes of one padded frame-level batch (the model's input)."""
    return batch_size * max_frames * sum(sizes.values()) * 4
