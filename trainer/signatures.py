"""The exported model's signatures and their names: the one place the Trainer, Evaluator config,
BulkInferrer, CSV export and `inference.predict` take them from.

All three take serialized raw records — tf.Example (video-level) or tf.SequenceExample (frame-level) — and
run the Transform graph inside the model:
  serving_default     -> {"probabilities": [B, num_classes of the release]}                   TFMA
  transform_features  -> {"labels_multi_hot": [B, C], "num_labels_bucket", "rgb_norm_bucket",
                          "first_label_vertical"}                                          TFMA labels, slices
  predict_top_k       -> {"video_id": [B, 1], "top_k_indices": [B, k], "top_k_scores": [B, k]}  BulkInferrer, CSV
                         (video_id: the record's id, whichever name the release gives it)
"""
from __future__ import annotations

import yt8m_tfx  # noqa: F401  (sets TF_USE_LEGACY_KERAS before tensorflow loads)

import tensorflow as tf

from trainer import frame_sampling
from trainer.config import TrainerConfig
from trainer.score_calibration import normalize_by_top_score, correct_class_log_odds
from transform.preprocessing import (FIRST_LABEL_VERTICAL_KEY, NO_LABEL_VERTICAL, NUM_LABELS_BUCKET_KEY,
                                     UNKNOWN_VERTICAL,
                                     NUM_LABELS_BUCKET_MAX, RGB_NORM_BUCKET_KEY, labels_to_multi_hot)
from yt8m_tfx import class_names, features

SERVING_SIGNATURE = "serving_default"
TRANSFORM_FEATURES_SIGNATURE = "transform_features"
TOP_K_SIGNATURE = "predict_top_k"
PROBABILITIES_OUTPUT = "probabilities"
VIDEO_ID_OUTPUT = "video_id"
TOP_K_INDICES_OUTPUT = "top_k_indices"
TOP_K_SCORES_OUTPUT = "top_k_scores"


def parse_raw_records(serialized, frame_features: bool, with_labels: bool = True,
                      dataset: str = features.DEFAULT_DATASET):
    """Serialized tf.Examples / tf.SequenceExamples -> the raw tensors the Transform graph expects."""
    if frame_features:
        context_spec, sequence_spec = features.frame_level_feature_specs(tf, dataset)
        if not with_labels:
            context_spec.pop(features.LABELS_KEY)
        context, sequence, _ = tf.io.parse_sequence_example(serialized, context_spec, sequence_spec)
        return {**context, **sequence}
    spec = dict(features.video_level_feature_spec(tf, dataset))
    if not with_labels:
        spec.pop(features.LABELS_KEY)
    return tf.io.parse_example(serialized, spec)


def first_label_vertical(labels: tf.sparse.SparseTensor, dataset: str) -> tf.Tensor:
    """[B] string: the release vocabulary's vertical of each video's first label; NO_LABEL_VERTICAL without
    labels, UNKNOWN_VERTICAL for a release without a shipped vocabulary (2017)."""
    vocabulary = class_names.vocabulary_of(dataset)
    if vocabulary is None:
        return tf.fill(labels.dense_shape[:1], UNKNOWN_VERTICAL)
    verticals = tf.constant([info.vertical for info in vocabulary])
    first = tf.RaggedTensor.from_sparse(labels).to_tensor(default_value=-1, shape=[None, 1])[:, 0]
    return tf.where(first >= 0, tf.gather(verticals, tf.maximum(first, 0)), NO_LABEL_VERTICAL)


def make_signatures(model, tf_transform_output, config: TrainerConfig, input_names, class_shift=None,
                    class_scale=None):
    """class_shift / class_scale: [C] log-odds added / multiplied by at prediction (score_calibration's
    class_prior_shift / class_log_odds_scale), or None."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    examples_spec = tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")

    def predict(serialized):
        # Serving inputs carry no labels; the Transform graph passes labels through, so none are needed.
        raw = parse_raw_records(serialized, config.frame_features, with_labels=False, dataset=config.dataset)
        if config.sample_frames:  # evenly spaced frames, as many as the model was trained on
            raw = frame_sampling.sample_raw_frames(raw, config.sample_frames, config.max_frames, random=False)
        transformed = model.tft_layer(raw)
        probabilities = correct_class_log_odds(model({name: transformed[name] for name in input_names}), class_shift,
                                       class_scale)
        return raw, normalize_by_top_score(probabilities, config.top_score_exponent)

    @tf.function(input_signature=[examples_spec])
    def serve(examples):
        _, probabilities = predict(examples)
        return {PROBABILITIES_OUTPUT: probabilities}

    @tf.function(input_signature=[examples_spec])
    def predict_top_k(examples):
        raw, probabilities = predict(examples)
        top = tf.math.top_k(probabilities, k=config.top_k)
        return {
            # [B, 1], not [B]: tfx_bsl's PredictionLog writer needs an array per example.
            VIDEO_ID_OUTPUT: tf.expand_dims(raw[features.release(config.dataset).id_key], 1),
            TOP_K_INDICES_OUTPUT: tf.cast(top.indices, tf.int64),
            TOP_K_SCORES_OUTPUT: top.values,
        }

    @tf.function(input_signature=[examples_spec])
    def transform_features(examples):
        raw = parse_raw_records(examples, config.frame_features, dataset=config.dataset)
        transformed = model.tft_layer(raw)
        multi_hot = labels_to_multi_hot(raw[features.LABELS_KEY], config.num_classes)
        return {
            features.LABELS_MULTI_HOT_KEY: multi_hot,
            # 1, 2, 3, 4 labels, and 5 for "5 or more": every slice keeps enough videos to mean something.
            NUM_LABELS_BUCKET_KEY: tf.minimum(tf.cast(tf.reduce_sum(multi_hot, axis=1), tf.int64),
                                              NUM_LABELS_BUCKET_MAX),
            RGB_NORM_BUCKET_KEY: transformed[RGB_NORM_BUCKET_KEY],
            FIRST_LABEL_VERTICAL_KEY: first_label_vertical(raw[features.LABELS_KEY], config.dataset),
        }

    return {
        SERVING_SIGNATURE: serve.get_concrete_function(),
        TOP_K_SIGNATURE: predict_top_k.get_concrete_function(),
        TRANSFORM_FEATURES_SIGNATURE: transform_features.get_concrete_function(),
    }
