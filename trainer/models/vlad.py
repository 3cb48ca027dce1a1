"""Learnable-pooling frame-level models: NetVLADModel and NeXtVLADModel.

NetVLAD follows Miech et al. 2017 ("Learnable pooling with Context Gating", the WILLOW team's
NetVLADModelLF); NeXtVLAD follows Lin et al. 2018 ("NeXtVLAD", linrongc/youtube-8m). Both pool each
feature (rgb, audio) with its own VLAD and concatenate, audio with half the clusters (and for NeXtVLAD
half the groups) as in both papers. Padded frames get zero soft-assignment and are left out of the
batch-norm statistics, so neither training nor inference sees them.
"""
from __future__ import annotations

from typing import Mapping

import tensorflow as tf
import tf_keras as keras

from trainer.models.frame_level import FrameSampler, ValidFrameMask, frame_inputs, normal_init
from trainer.models.video_level import DEFAULT_L2_PENALTY, KERAS_PACKAGE, moe_head, moe_num_mixtures



def _is_audio(name: str) -> bool:
    return name.startswith("audio")


def _masked_batch_norm(name: str):
    # Only the unfused implementation honours `mask` (fused ignores it with a warning).
    return keras.layers.BatchNormalization(fused=False, name=name)


@keras.utils.register_keras_serializable(package=KERAS_PACKAGE)
class VladPooling(keras.layers.Layer):
    """[frames [B, T, D], assignment logits [B, T, K], mask [B, T]] -> VLAD [B, D * K].

    Sum over valid frames of soft-assignment x (frame - centre), each cluster's residual L2-normalised
    (intra-normalisation), then the whole vector L2-normalised.
    """

    def __init__(self, cluster_size: int, **kwargs):
        super().__init__(**kwargs)
        self.cluster_size = int(cluster_size)

    def build(self, input_shape):
        feature_size = int(input_shape[0][-1])
        self.centers = self.add_weight("cluster_weights2", shape=(1, feature_size, self.cluster_size),
                                       initializer=normal_init(feature_size))
        super().build(input_shape)

    def call(self, inputs):
        frames, logits, mask = inputs
        assignment = tf.nn.softmax(logits, axis=-1) * tf.cast(mask, logits.dtype)[:, :, None]
        residual_offset = tf.reduce_sum(assignment, axis=1, keepdims=True) * self.centers  # [B, D, K]
        vlad = tf.einsum("btk,btd->bdk", assignment, frames) - residual_offset
        vlad = tf.nn.l2_normalize(vlad, axis=1)
        vlad = tf.reshape(vlad, [-1, self.centers.shape[1] * self.cluster_size])
        return tf.nn.l2_normalize(vlad, axis=1)

    def get_config(self):
        return {**super().get_config(), "cluster_size": self.cluster_size}


@keras.utils.register_keras_serializable(package=KERAS_PACKAGE)
class NeXtVladPooling(keras.layers.Layer):
    """[expanded [B, T, L], logits [B, T, G*K], attention [B, T, G], mask [B, T]] -> [B, (L/G) * K].

    Each expanded frame is split into G groups of L/G; every group is softly assigned to the K shared
    clusters and weighted by its sigmoid attention, and all groups' residuals are summed together.
    """

    def __init__(self, cluster_size: int, groups: int, **kwargs):
        super().__init__(**kwargs)
        self.cluster_size = int(cluster_size)
        self.groups = int(groups)

    def build(self, input_shape):
        group_size = int(input_shape[0][-1]) // self.groups
        self.centers = self.add_weight("cluster_weights2", shape=(1, group_size, self.cluster_size),
                                       initializer="he_normal")
        super().build(input_shape)

    def call(self, inputs):
        expanded, logits, attention, mask = inputs
        batch_size = tf.shape(expanded)[0]
        group_size = self.centers.shape[1]
        weights = attention * tf.cast(mask, attention.dtype)[:, :, None]  # [B, T, G]
        assignment = tf.nn.softmax(tf.reshape(logits, [batch_size, -1, self.groups, self.cluster_size]), axis=-1)
        assignment = assignment * weights[:, :, :, None]
        residual_offset = tf.reduce_sum(assignment, axis=[1, 2])[:, None, :] * self.centers  # [B, d, K]
        grouped = tf.reshape(expanded, [batch_size, -1, self.groups, group_size])
        vlad = tf.einsum("btgk,btgd->bdk", assignment, grouped) - residual_offset
        vlad = tf.nn.l2_normalize(vlad, axis=1)
        return tf.reshape(vlad, [batch_size, group_size * self.cluster_size])

    def get_config(self):
        return {**super().get_config(), "cluster_size": self.cluster_size, "groups": self.groups}


def _maybe_sample(frames, num_frames, hparams, key):
    iterations = int(hparams.get(key, 0) or 0)
    if not iterations:
        return frames, num_frames
    sampler = FrameSampler(iterations, random=bool(hparams.get("sample_random_frames", True)), name="frame_sampler")
    *frames, num_frames = sampler(frames + [num_frames])
    return frames, num_frames


def netvlad_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    cluster_size = int(hparams.get("netvlad_cluster_size", 64))
    hidden_size = int(hparams.get("netvlad_hidden_size", 1024))
    add_batch_norm = bool(hparams.get("netvlad_add_batch_norm", True))
    relu = bool(hparams.get("netvlad_relu", True))
    gating = bool(hparams.get("gating", True))

    inputs, frames, num_frames = frame_inputs(input_sizes, hparams)
    # 0 (default) pools every valid frame; N > 0 samples N frames like DbofModel (WILLOW's --iterations).
    frames, num_frames = _maybe_sample(frames, num_frames, hparams, "netvlad_iterations")
    mask = ValidFrameMask(name="valid_frames")([frames[0], num_frames])
    vlads = []
    for name, x in zip(sorted(input_sizes), frames):
        size = input_sizes[name]
        clusters = max(1, cluster_size // 2) if _is_audio(name) else cluster_size
        if add_batch_norm:
            x = _masked_batch_norm(f"{name}_input_bn")(x, mask=mask)
        logits = keras.layers.Dense(clusters, use_bias=not add_batch_norm, kernel_initializer=normal_init(size),
                                    bias_initializer=normal_init(size), name=f"{name}_cluster")(x)
        if add_batch_norm:
            logits = _masked_batch_norm(f"{name}_cluster_bn")(logits, mask=mask)
        vlads.append(VladPooling(clusters, name=f"{name}_vlad")([x, logits, mask]))
    x = vlads[0] if len(vlads) == 1 else keras.layers.Concatenate(name="vlad")(vlads)

    hidden_bn = add_batch_norm and relu
    # WILLOW scales this init by the cluster count, not the (much larger) VLAD width: kept as published.
    x = keras.layers.Dense(hidden_size, use_bias=not hidden_bn, kernel_initializer=normal_init(cluster_size),
                           bias_initializer=keras.initializers.RandomNormal(stddev=0.01), name="hidden1")(x)
    if hidden_bn:
        x = keras.layers.BatchNormalization(name="hidden1_bn")(x)
    if relu:
        x = keras.layers.ReLU(max_value=6.0, name="hidden1_relu6")(x)
    if gating:
        # Context gating: re-weight each hidden unit by a sigmoid of the whole hidden vector.
        gates = keras.layers.Dense(hidden_size, use_bias=not add_batch_norm, kernel_initializer=normal_init(hidden_size),
                                   bias_initializer=normal_init(hidden_size), name="gating")(x)
        if add_batch_norm:
            gates = keras.layers.BatchNormalization(name="gating_bn")(gates)
        gates = keras.layers.Activation("sigmoid", name="gating_sigmoid")(gates)
        x = keras.layers.Multiply(name="context_gating")([x, gates])
    outputs = moe_head(x, num_classes, moe_num_mixtures(hparams),
                       hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="NetVLADModel")


def nextvlad_model(input_sizes: Mapping[str, int], num_classes: int, hparams: Mapping = None):
    hparams = hparams or {}
    expansion = int(hparams.get("nextvlad_expansion", 2))
    groups = int(hparams.get("nextvlad_groups", 8))
    cluster_size = int(hparams.get("nextvlad_cluster_size", 128))
    hidden_size = int(hparams.get("nextvlad_hidden_size", 2048))
    gating_reduction = int(hparams.get("gating_reduction", 8))
    drop_rate = float(hparams.get("drop_rate", 0.5))

    inputs, frames, num_frames = frame_inputs(input_sizes, hparams)
    mask = ValidFrameMask(name="valid_frames")([frames[0], num_frames])
    vlads = []
    for name, x in zip(sorted(input_sizes), frames):
        width = expansion * input_sizes[name]
        feature_groups = max(1, groups // 2) if _is_audio(name) else groups
        clusters = max(1, cluster_size // 2) if _is_audio(name) else cluster_size
        if width % feature_groups:
            raise ValueError(f"NeXtVLAD: {name} expanded to {width} does not split into {feature_groups} groups")
        expanded = keras.layers.Dense(width, kernel_initializer="he_normal", name=f"{name}_expand")(x)
        attention = keras.layers.Dense(feature_groups, activation="sigmoid", kernel_initializer="he_normal",
                                       name=f"{name}_attention")(expanded)
        logits = keras.layers.Dense(feature_groups * clusters, use_bias=False, kernel_initializer="he_normal",
                                    name=f"{name}_cluster")(expanded)
        logits = _masked_batch_norm(f"{name}_cluster_bn")(logits, mask=mask)
        vlad = NeXtVladPooling(clusters, feature_groups, name=f"{name}_nextvlad")([expanded, logits, attention, mask])
        vlads.append(keras.layers.BatchNormalization(name=f"{name}_vlad_bn")(vlad))
    x = vlads[0] if len(vlads) == 1 else keras.layers.Concatenate(name="vlad")(vlads)
    if drop_rate > 0:
        x = keras.layers.Dropout(drop_rate, name="vlad_dropout")(x)
    x = keras.layers.Dense(hidden_size, use_bias=False, kernel_initializer="he_normal", name="hidden1")(x)
    x = keras.layers.BatchNormalization(name="hidden1_bn")(x)
    # Squeeze-and-excitation gating: a bottleneck of hidden_size / gating_reduction keeps it cheap.
    gates = keras.layers.Dense(max(1, hidden_size // gating_reduction), use_bias=False, kernel_initializer="he_normal",
                               name="gating_squeeze")(x)
    gates = keras.layers.BatchNormalization(name="gating_bn")(gates)
    gates = keras.layers.ReLU(name="gating_relu")(gates)
    gates = keras.layers.Dense(hidden_size, use_bias=False, activation="sigmoid", kernel_initializer="he_normal",
                               name="gating_excite")(gates)
    x = keras.layers.Multiply(name="context_gating")([x, gates])
    outputs = moe_head(x, num_classes, moe_num_mixtures(hparams),
                       hparams.get("l2_penalty", DEFAULT_L2_PENALTY))
    return keras.Model(inputs=inputs, outputs=outputs, name="NeXtVLADModel")
