"""The single source of truth for YouTube-8M releases, feature names, sizes and class counts.

Everything else (generator, schema, Transform, models, serving signatures, CSV export) reads from here.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from yt8m_tfx.command_line import UserError

# A video-level feature is the mean over frames of the frame-level feature of the same name after this prefix.
VIDEO_FEATURE_PREFIX = "mean_"


@dataclasses.dataclass(frozen=True)
class Release:
    """One YouTube-8M release: what its records call the video id, how many classes its labels index and
    which embeddings each frame carries (the video-level features are their means, `mean_<name>`)."""
    name: str                  # the --dataset value
    id_key: str                # tf.Example feature (frame-level: SequenceExample context) holding the video id
    num_classes: int
    vocabulary: Optional[str]  # file under yt8m_tfx/vocabulary with class names, None when not shipped
    # (name, size) of each frame-level byte feature; the first is the visual one (rgb-norm slices).
    frame_features: Tuple[Tuple[str, int], ...] = (("rgb", 1024), ("audio", 128))
    # What its video ids look like (the synthetic generator writes ids like these): 2018 "1hbF", 2017 "100273987".
    id_length: int = 4
    id_characters: str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def feature_sizes(self, frame_level: bool) -> Dict[str, int]:
        """{feature name: size} of this release's frame-level or video-level records, in record order."""
        prefix = "" if frame_level else VIDEO_FEATURE_PREFIX
        return {prefix + name: size for name, size in self.frame_features}

    def visual_feature(self, frame_level: bool) -> str:
        return next(iter(self.feature_sizes(frame_level)))


RELEASES: Dict[str, Release] = {release.name: release for release in (
    # 2018 (and 2019): the current dataset, https://research.google.com/youtube8m/download.html
    Release("yt8m-2018", id_key="id", num_classes=3862, vocabulary="yt8m_2018.csv"),
    # 2017: the release of the starter code's README and the first Kaggle challenge.
    Release("yt8m-2017", id_key="video_id", num_classes=4716, vocabulary=None, id_length=9,
            id_characters="0123456789"),
    # 2016: the first release, which the seed README's commands were written for: Inception-v3 frames, no audio.
    # (No genuine 2016 record is at hand; its ids are taken to look like 2017's, which shares its id key.)
    Release("yt8m-2016", id_key="video_id", num_classes=4800, vocabulary=None, frame_features=(("inc3", 1024),),
            id_length=9, id_characters="0123456789"),
)}
DEFAULT_DATASET = "yt8m-2018"


def release(name: str) -> Release:
    if name not in RELEASES:
        raise UserError(f"--dataset={name}: no such YouTube-8M release; expected one of {', '.join(RELEASES)}")
    return RELEASES[name]


def releases_matching(id_keys, feature_keys, frame_level: bool):
    """The releases whose video id key is among id_keys and whose every feature at the level is among
    feature_keys (2016 and 2017 share `video_id` and differ in their embeddings)."""
    return [release for release in RELEASES.values()
            if release.id_key in id_keys and set(release.feature_sizes(frame_level)) <= set(feature_keys)]


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

# The default release's features. Video-level tf.Example: one float vector per video (the mean over frames);
# frame-level tf.SequenceExample: one quantized uint8 byte string per frame.
VIDEO_FEATURE_SIZES: Dict[str, int] = RELEASES[DEFAULT_DATASET].feature_sizes(frame_level=False)
FRAME_FEATURE_SIZES: Dict[str, int] = RELEASES[DEFAULT_DATASET].feature_sizes(frame_level=True)
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


def feature_sizes(frame_level: bool, dataset: str = DEFAULT_DATASET) -> Dict[str, int]:
    return release(dataset).feature_sizes(frame_level)


def select_features(feature_names: Sequence[str] | str | None, frame_level: bool,
                    dataset: str = DEFAULT_DATASET) -> Dict[str, int]:
    """Resolve the starter code's `--feature_names` (e.g. "mean_rgb,mean_audio") to {name: size}; empty means
    every feature of the release. An unknown name is a UserError here rather than a failure inside a TF graph.
    """
    available = feature_sizes(frame_level, dataset)
    if feature_names is None or feature_names == "" or feature_names == []:
        return available
    if isinstance(feature_names, str):
        feature_names = [n.strip() for n in feature_names.split(",") if n.strip()]
    unknown = [n for n in feature_names if n not in available]
    if unknown:
        level = "frame-level" if frame_level else "video-level"
        raise UserError(f"--feature_names={','.join(feature_names)}: {dataset} has no {level} feature "
                        f"{', '.join(unknown)}; its {level} features are {', '.join(available)}")
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
    for name, size in feature_sizes(False, dataset).items():
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
                for name in feature_sizes(True, dataset)}
    return context, sequence


def record_bytes(frame_features: bool, max_frames: int = MAX_FRAMES, dataset: str = DEFAULT_DATASET) -> int:
    """About how many bytes one serialized record holds: float32 video-level features, or max_frames uint8
    frames (the longest videos dominate a shuffle buffer)."""
    sizes = feature_sizes(frame_features, dataset)
    return (max_frames if frame_features else 4) * sum(sizes.values())


def frame_batch_bytes(batch_size: int, max_frames: int = MAX_FRAMES,
                      sizes: Mapping[str, int] = FRAME_FEATURE_SIZES) -> int:
    """float32 bytes of one padded frame-level batch (the model's input)."""
    return batch_size * max_frames * sum(sizes.values()) * 4
