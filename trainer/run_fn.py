"""TFX Trainer entry point (`run_fn`): datasets from the DataAccessor, fit, export signatures.

Exported signatures, all over serialized raw records — tf.Example (video-level) or tf.SequenceExample
(frame-level) — with the Transform graph inside the model:
  serving_default     -> {"probabilities": [B, NUM_CLASSES]}            used by TFMA
  transform_features  -> {"labels_multi_hot": [B, C], "num_labels_bucket", "rgb_norm_bucket"}  TFMA labels, slices
  predict_top_k       -> {"video_id" [B,1], "top_k_indices" [B,k], "top_k_scores" [B,k]}  used by BulkInferrer
"""
from __future__ import annotations

import os

import yt8m_tfx  # noqa: F401  (sets TF_USE_LEGACY_KERAS before tensorflow loads)

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx_bsl.public import tfxio

from absl import logging

from trainer import checkpoints, eval_summaries, losses
from trainer.config import TrainerConfig
from trainer.distribution import make_strategy
from trainer.models import get_model_builder, is_frame_level
from trainer.models.video_level import DEFAULT_L2_PENALTY
from transform.preprocessing import (NUM_LABELS_BUCKET_KEY, NUM_LABELS_BUCKET_MAX, RGB_NORM_BUCKET_KEY,
                                     labels_to_multi_hot)
from yt8m_tfx import features


def model_input_sizes(config: TrainerConfig):
    """{transformed feature name: size} for the features the model consumes."""
    selected = features.select_features(config.feature_names, config.frame_features)
    return {features.transformed_name(name): size for name, size in selected.items()}


def model_input_names(config: TrainerConfig):
    """Every transformed tensor the model reads: the features, plus num_frames for frame-level models."""
    names = list(model_input_sizes(config))
    return names + [features.NUM_FRAMES_KEY] if config.frame_features else names


def check_model_matches_data(config: TrainerConfig):
    if is_frame_level(config.model) != config.frame_features:
        level = "frame-level (--frame_features)" if config.frame_features else "video-level"
        raise ValueError(f"--model={config.model} does not take {level} input; frame-level models need "
                         f"--frame_features, video-level models must not have it")


def input_fn(file_pattern, data_accessor, tf_transform_output, batch_size: int, config: TrainerConfig,
             seed=None):
    """(features, multi-hot labels) batches, repeated forever.

    Video-level reads Transform's materialized examples. Frame-level reads the raw SequenceExamples
    and applies the Transform graph here (Transform does not materialize 1.4 MB of floats a video).
    """
    input_names = model_input_names(config)

    def split(batch):
        return ({name: batch[name] for name in input_names},
                labels_to_multi_hot(batch[features.LABELS_KEY]))

    options = tfxio.TensorFlowDatasetOptions(batch_size=batch_size, shuffle_seed=seed)
    if not config.frame_features:
        dataset = data_accessor.tf_dataset_factory(
            file_pattern, options, tf_transform_output.transformed_metadata.schema)
        return dataset.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    tft_layer = tf_transform_output.transform_features_layer()
    dataset = data_accessor.tf_dataset_factory(file_pattern, options, tf_transform_output.raw_metadata.schema)
    # One batch prefetched: each holds batch x max_frames x 1152 floats.
    return dataset.map(lambda raw: split(tft_layer(raw)), num_parallel_calls=2).prefetch(1)


def build_compiled_model(config: TrainerConfig):
    check_model_matches_data(config)
    builder = get_model_builder(config.model)
    hparams = dict(config.hparams)
    if config.frame_features:
        hparams["max_frames"] = config.max_frames
    # The starter code adds regularization_penalty x the models' L2 terms to the label loss.
    hparams["l2_penalty"] = hparams.get("l2_penalty", DEFAULT_L2_PENALTY) * config.regularization_penalty
    model = builder(model_input_sizes(config), features.NUM_CLASSES, hparams)
    decay_steps = max(1, config.learning_rate_decay_examples // config.batch_size)
    learning_rate = keras.optimizers.schedules.ExponentialDecay(
        config.base_learning_rate, decay_steps, config.learning_rate_decay, staircase=True)
    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=config.clip_gradient_norm)
    model.compile(optimizer=optimizer, loss=losses.get_loss(config.label_loss))
    return model


def parse_raw_records(serialized, frame_features: bool, with_labels: bool = True):
    """Serialized tf.Examples / tf.SequenceExamples -> the raw tensors the Transform graph expects."""
    if frame_features:
        context_spec, sequence_spec = features.frame_level_feature_specs(tf)
        if not with_labels:
            context_spec.pop(features.LABELS_KEY)
        context, sequence, _ = tf.io.parse_sequence_example(serialized, context_spec, sequence_spec)
        return {**context, **sequence}
    spec = dict(features.video_level_feature_spec(tf))
    if not with_labels:
        spec.pop(features.LABELS_KEY)
    return tf.io.parse_example(serialized, spec)


def make_signatures(model, tf_transform_output, config: TrainerConfig):
    model.tft_layer = tf_transform_output.transform_features_layer()
    input_names = model_input_names(config)
    examples_spec = tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")

    def predict(serialized):
        # Serving inputs carry no labels; the Transform graph passes labels through, so none are needed.
        raw = parse_raw_records(serialized, config.frame_features, with_labels=False)
        transformed = model.tft_layer(raw)
        return raw, model({name: transformed[name] for name in input_names})

    @tf.function(input_signature=[examples_spec])
    def serve(examples):
        _, probabilities = predict(examples)
        return {"probabilities": probabilities}

    @tf.function(input_signature=[examples_spec])
    def predict_top_k(examples):
        raw, probabilities = predict(examples)
        top = tf.math.top_k(probabilities, k=config.top_k)
        return {
            # [B, 1], not [B]: tfx_bsl's PredictionLog writer needs an array per example.
            "video_id": tf.expand_dims(raw[features.VIDEO_ID_KEY], 1),
            "top_k_indices": tf.cast(top.indices, tf.int64),
            "top_k_scores": top.values,
        }

    @tf.function(input_signature=[examples_spec])
    def transform_features(examples):
        raw = parse_raw_records(examples, config.frame_features)
        transformed = model.tft_layer(raw)
        multi_hot = labels_to_multi_hot(raw[features.LABELS_KEY])
        return {
            features.LABELS_MULTI_HOT_KEY: multi_hot,
            # 1, 2, 3, 4 labels, and 5 for "5 or more": every slice keeps enough videos to mean something.
            NUM_LABELS_BUCKET_KEY: tf.minimum(tf.cast(tf.reduce_sum(multi_hot, axis=1), tf.int64),
                                              NUM_LABELS_BUCKET_MAX),
            RGB_NORM_BUCKET_KEY: transformed[RGB_NORM_BUCKET_KEY],
        }

    return {
        "serving_default": serve.get_concrete_function(),
        "predict_top_k": predict_top_k.get_concrete_function(),
        "transform_features": transform_features.get_concrete_function(),
    }


def run_fn(fn_args):
    """Called by the TFX Trainer with fn_args (files, transform graph, steps, custom_config).

    fn_args.train_steps is the total step count: a resumed model trains only the remaining steps.
    """
    config = TrainerConfig.from_custom_config(fn_args.custom_config)
    keras.utils.set_random_seed(config.seed)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train_dataset = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                             config.batch_size, config, seed=config.seed)
    eval_dataset = input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                            config.batch_size, config)
    with make_strategy(config.distribution_strategy).scope():
        model = build_compiled_model(config)
        callbacks = [keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch")]
        initial_step, checkpoint_dir = 0, None
        if config.checkpoint_dir:
            key = checkpoints.checkpoint_key(fn_args.custom_config, fn_args.transform_output, fn_args.train_files)
            checkpoint_dir = os.path.join(config.checkpoint_dir, key)
            saver = checkpoints.TrainingCheckpoints(model, checkpoint_dir)
            initial_step = saver.restore_or_start(config.start_new_model)
            callbacks.append(checkpoints.SaveEverySteps(saver, config.checkpoint_steps))
    if initial_step:
        logging.info("Resuming %s from step %d (%s); --start_new_model starts over.",
                     config.model, initial_step, checkpoint_dir)
    remaining = max(0, fn_args.train_steps - initial_step)
    eval_summary = eval_summaries.EvalMetricsSummary(
        eval_dataset, fn_args.eval_steps, os.path.join(fn_args.model_run_dir, "eval_metrics"),
        every=max(config.checkpoint_steps, fn_args.train_steps // 10), top_k=config.top_k)
    if remaining:
        model.fit(train_dataset, steps_per_epoch=remaining, epochs=1,
                  validation_data=eval_dataset, validation_steps=fn_args.eval_steps,
                  callbacks=callbacks + [eval_summary], verbose=2)
    else:
        logging.info("Checkpoint is already at step %d >= train_steps %d: exporting it as is.",
                     initial_step, fn_args.train_steps)
    checkpoints.write_training_state(fn_args.model_run_dir, initial_step=initial_step,
                                     final_step=int(model.optimizer.iterations.numpy()),
                                     checkpoint_dir=checkpoint_dir, eval_metrics=eval_summary.last)
    tf.io.gfile.makedirs(fn_args.serving_model_dir)
    model.save(fn_args.serving_model_dir, save_format="tf",
               signatures=make_signatures(model, tf_transform_output, config))
