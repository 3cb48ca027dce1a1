"""--sample_frames N: keep N frames of each video before the Transform graph decodes and pads them.

Like the starter code's DBoF and the TF2 port (30 sampled frames), training sees a random sample of each
video's frames, serving an evenly spaced one. Sampling the raw byte strings, before decoding, makes decode,
padding and the model's input shrink with N: the Transform graph pads to N frames (TransformConfig.output_frames)
and the model is built for N frames, not max_frames.

The sample is stratified: the video's first min(frames, max_frames) frames are cut into N equal slices
(integer bounds) and one frame is taken from each, at random in training, at the slice's centre at serving.
The chosen frames keep their order; a video with N frames or fewer keeps all of them.
"""
from __future__ import annotations

from typing import Dict

import tensorflow as tf

from yt8m_tfx import features


def frame_positions(counts: tf.Tensor, num_samples: int, random: bool, seed=None) -> tf.RaggedTensor:
    """Ragged [B, (min(count, num_samples))] int64: which frames of each video to keep."""
    counts = tf.cast(counts, tf.int64)
    take = tf.minimum(counts, num_samples)
    slots = tf.ragged.range(take)  # 0 .. take-1 for every video
    slot = slots.flat_values
    count = tf.gather(counts, slots.value_rowids())
    # Slice i is frames [i * count // n, (i + 1) * count // n): integer bounds, so slices never overlap.
    start, end = slot * count // num_samples, (slot + 1) * count // num_samples
    width = tf.maximum(end - start, 1)
    if random:
        offset = tf.cast(tf.floor(tf.random.uniform(tf.shape(slot), seed=seed) * tf.cast(width, tf.float32)),
                         tf.int64)
        offset = tf.minimum(offset, width - 1)
    else:
        offset = width // 2
    position = tf.where(count <= num_samples, slot, start + offset)
    return slots.with_flat_values(position)


def sample_raw_frames(raw: Dict[str, tf.Tensor], num_samples: int, max_frames: int, random: bool,
                      seed=None) -> Dict[str, tf.Tensor]:
    """raw parsed SequenceExample features with every frame feature (ragged [B, (frames), (1)] byte strings)
    cut to the same sampled frames; the other features unchanged."""
    names = list(dict.fromkeys(name for release in features.RELEASES.values()
                               for name in release.feature_sizes(frame_level=True) if name in raw))
    counts = raw[names[0]].row_lengths()
    for name in names[1:]:
        counts = tf.minimum(counts, raw[name].row_lengths())  # the same frames from every feature
    positions = frame_positions(tf.minimum(counts, max_frames), num_samples, random, seed)
    sampled = dict(raw)
    for name in names:
        frames = raw[name]
        flat = tf.gather(frames.row_starts(), positions.value_rowids()) + positions.flat_values
        sampled[name] = tf.RaggedTensor.from_row_splits(tf.gather(frames.values, flat), positions.row_splits,
                                                        validate=False)
    return sampled
