"""Frame-level models of the starter code: FrameLevelLogisticModel, DbofModel and LstmModel.

Every frame-level model (these and vlad.py) takes one float input [max_frames, size] per feature, already
dequantized and zero-padded after the valid frames, plus `num_frames` [B] int64. Padded frames never
reach a prediction: they are masked out or never sampled, so how a video was padded does not matter.
"""
from __future__ import annotations

import math
from typing import Dict, List, Mapping

import tensorflow as tf
import tf_keras as keras

from trainer.models.video_level import DEFAULT_L2_PENALTY, KERAS_PACKAGE, logistic_head, moe_head, moe_num_mixtures
from yt8m_tfx import features



def frame_inputs(input_sizes: Mapping[str, int], hparams: Mapping):
    """(inputs dict for keras.Model, per-feature frame tensors in sorted-name order, num_frames tensor)."""
    max_frames = int(hparams.get("max_frames", features.MAX_FRAMES))
    if features.NUM_FRAMES_KEY in input_sizes:
        raise ValueError(f"{features.NUM_FRAMES_KEY!r} is reserved for the valid-frame count")
    inputs: Dict[str, keras.Input] = {
        name: keras.Input(shape=(max_frames, size), name=name, dtype="float32") for name, size in input_sizes.items()
    }
    inputs[features.NUM_FRAMES_KEY] = keras.Input(shape=(), dtype="int64", name=features.NUM_FRAMES_KEY)
    return inputs, [inputs[name] for name in sorted(input_sizes)], inputs[features.NUM_FRAMES_KEY]


def concat_frames(frames: List):
    return frames[0] if len(frames) == 1 else keras.layers.Concatenate(axis=-1)(frames)


def _valid_counts(num_frames, max_frames):
    # A count outside 1..max_frames would divide by zero or index past the padding; clamp instead of NaN.
    return tf.clip_by_value(tf.cast(num_frames, tf.int32), 1, max_frames)


@keras.utils.register_keras_serializable(package=KERAS_PACKAGE)
class ValidFrameMask(keras.layers.Layer):
    """[frames [B, T, D], num_frames [B]] -> bool [B, T], True on the valid frames."""

    def call(self, inputs):
        frames, num_frames = inputs
        max_frames = tf.shape(frames)[1]
        return tf.sequence_mask(_valid_counts(num_frames, max_frames), max_frames)


@keras.utils.register_keras_serializable(package=KERAS_PACKAGE)
class MaskedMean(keras.layers.Layer):
    """[frames [B, T, D], num_frames [B]] -> mean over the valid frames [B, D]."""

    def call(self, inputs):
        frames, num_frames = inputs
        counts = _valid_counts(num_frames, tf.shape(frames)[1])
        mask = tf.sequence_mask(counts, tf.shape(frames)[1], dtype=frames.dtype)
        # Zero padding would make a plain sum right too, but masking keeps the model honest on any padding.
        total = tf.reduce_sum(frames * mask[:, :, None], axis=1)
        return total / tf.cast(counts, frames.dtype)[:, None]


@keras.utils.register_keras_serializable(package=KERAS_PACKAGE)
class FrameSampler(keras.layers.Layer):
    """[frames_1 .. frames_n, num_frames] -> [sampled_1 .. sampled_n, num_samples per video].

    Picks the same `num_samples` frame indices from every feature, among the valid frames only. Training
    with `random=True` draws them uniformly (with replacement, like the starter's SampleRandomFrames);
    otherwise they are evenly spaced, so inference and serving are reproducible. The returned count
    (always num_samples) lets downstream masking code treat the sample like any padded sequence.
    """

    def __init__(self, num_samples: int, random: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_samples = int(num_samples)
        self.random = bool(random)

    def call(self, inputs, training=None):
        *frames, num_frames = inputs
        batch_size = tf.shape(frames[0])[0]
        counts = _valid_counts(num_frames, tf.shape(frames[0])[1])
        valid = tf.cast(counts, tf.float32)[:, None]
        if training and self.random:
            positions = tf.random.uniform([batch_size, self.num_samples]) * valid
        else:
            # Centres of num_samples equal slices of the valid span.
            positions = (tf.range(self.num_samples, dtype=tf.float32)[None, :] + 0.5) / self.num_samples * valid
        index = tf.minimum(tf.cast(positions, tf.int32), counts[:, None] - 1)
        sampled = [tf.gather(f, index, batch_dims=1) for f in frames]
        return sampled + [tf.fill([batch_size], tf.constant(self.num_samples, tf.int64))]

    def get_config(self):
        return {**super().get_config(), "num_samples": self.num_samples, "random": self.random}


def frame_level_logistic_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    inputs, frames, num_frames = frame_inputs(input_sizes, hparams)
    # Mean per feature, then concatenate: same vector, without copying every frame into a [T, 1152] tensor.
    means = [MaskedMean(name=f"{name}_mean")([x, num_frames]) for name, x in zip(sorted(input_sizes), frames)]
    pooled = means[0] if len(means) == 1 else keras.layers.Concatenate(axis=-1)(means)
    outputs = logistic_head(pooled, num_classes, hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="FrameLevelLogisticModel")


def normal_init(fan_in: int):
    # The starter code's initialiser for its hand-made weight matrices.
    return keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(fan_in))


def dbof_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    """Deep Bag of Frames: sampled frames -> wide ReLU6 projection -> pool -> hidden -> MoE."""
    hparams = hparams or {}
    iterations = int(hparams.get("dbof_iterations", 30))
    add_batch_norm = bool(hparams.get("dbof_add_batch_norm", True))
    cluster_size = int(hparams.get("dbof_cluster_size", 8192))
    hidden_size = int(hparams.get("dbof_hidden_size", 1024))
    pooling = hparams.get("dbof_pooling_method", "max")
    pool_layers = {"max": keras.layers.GlobalMaxPooling1D, "average": keras.layers.GlobalAveragePooling1D}
    if pooling not in pool_layers:
        raise ValueError(f"Unknown dbof_pooling_method={pooling!r}; choose one of {sorted(pool_layers)}")

    inputs, frames, num_frames = frame_inputs(input_sizes, hparams)
    sampler = FrameSampler(iterations, random=bool(hparams.get("sample_random_frames", True)), name="frame_sampler")
    # Sampled frames are all valid, so batch norm and pooling below need no mask.
    x = concat_frames(sampler(frames + [num_frames])[:-1])
    feature_size = sum(input_sizes.values())
    if add_batch_norm:
        x = keras.layers.BatchNormalization(name="input_bn")(x)
    # With batch norm its beta is the bias, as in the starter code.
    x = keras.layers.Dense(cluster_size, use_bias=not add_batch_norm, kernel_initializer=normal_init(feature_size),
                           bias_initializer=normal_init(feature_size), name="cluster")(x)
    if add_batch_norm:
        x = keras.layers.BatchNormalization(name="cluster_bn")(x)
    x = keras.layers.ReLU(max_value=6.0, name="cluster_relu6")(x)
    x = pool_layers[pooling](name=f"{pooling}_pool")(x)
    x = keras.layers.Dense(hidden_size, use_bias=not add_batch_norm, kernel_initializer=normal_init(cluster_size),
                           bias_initializer=keras.initializers.RandomNormal(stddev=0.01), name="hidden1")(x)
    if add_batch_norm:
        x = keras.layers.BatchNormalization(name="hidden1_bn")(x)
    x = keras.layers.ReLU(max_value=6.0, name="hidden1_relu6")(x)
    outputs = moe_head(x, num_classes, moe_num_mixtures(hparams),
                       hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="DbofModel")


def lstm_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    """Stacked LSTM; the video is the last layer's output at its last valid frame."""
    hparams = hparams or {}
    layers = int(hparams.get("lstm_layers", 2))
    cells = int(hparams.get("lstm_cells", 1024))
    inputs, frames, num_frames = frame_inputs(input_sizes, hparams)
    x = concat_frames(frames)
    mask = ValidFrameMask(name="valid_frames")([x, num_frames])
    for i in range(layers):
        # Masked steps carry the state forward, so the final output is the one at frame num_frames - 1
        # (the starter's dynamic_rnn sequence_length). unit_forget_bias matches BasicLSTMCell's forget_bias=1.
        x = keras.layers.LSTM(cells, return_sequences=i < layers - 1, name=f"lstm_{i}")(x, mask=mask)
    outputs = moe_head(x, num_classes, moe_num_mixtures(hparams),
                       hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="LstmModel")
