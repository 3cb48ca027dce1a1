"""TFX Trainer entry point (`run_fn`): datasets from the DataAccessor, fit, export signatures.

Exported signatures, all over serialized raw tf.Examples (the Transform graph is inside the model):
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

from trainer import losses
from trainer.config import TrainerConfig
from trainer.distribution import make_strategy
from trainer.models import get_model_builder
from transform.preprocessing import (NUM_LABELS_BUCKET_KEY, NUM_LABELS_BUCKET_MAX, RGB_NORM_BUCKET_KEY,
                                     labels_to_multi_hot)
from yt8m_tfx import features


def model_input_sizes(config: TrainerConfig):
    """{transformed feature name: size} for the features the model consumes."""
    selected = features.select_features(config.feature_names, config.frame_features)
    return {features.transformed_name(name): size for name, size in selected.items()}


def input_fn(file_pattern, data_accessor, tf_transform_output, batch_size: int, config: TrainerConfig):
    """(features, multi-hot labels) batches from transformed examples, repeated forever."""
    input_names = list(model_input_sizes(config))

    def split(batch):
        return ({name: batch[name] for name in input_names},
                labels_to_multi_hot(batch[features.LABELS_KEY]))

    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size),
        tf_transform_output.transformed_metadata.schema)
    return dataset.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def build_compiled_model(config: TrainerConfig):
    builder = get_model_builder(config.model)
    model = builder(model_input_sizes(config), features.NUM_CLASSES, config.hparams)
    decay_steps = max(1, config.learning_rate_decay_examples // config.batch_size)
    learning_rate = keras.optimizers.schedules.ExponentialDecay(
        config.base_learning_rate, decay_steps, config.learning_rate_decay, staircase=True)
    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=config.clip_gradient_norm)
    model.compile(optimizer=optimizer, loss=losses.get_loss(config.label_loss))
    return model


def _raw_feature_spec_without(tf_transform_output, *drop):
    spec = dict(tf_transform_output.raw_feature_spec())
    for key in drop:
        spec.pop(key, None)
    return spec


def make_signatures(model, tf_transform_output, config: TrainerConfig):
    model.tft_layer = tf_transform_output.transform_features_layer()
    input_names = list(model_input_sizes(config))
    examples_spec = tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")

    def predict(serialized):
        spec = _raw_feature_spec_without(tf_transform_output, features.LABELS_KEY)
        raw = tf.io.parse_example(serialized, spec)
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
        raw = tf.io.parse_example(examples, _raw_feature_spec_without(tf_transform_output))
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
    """Called by the TFX Trainer with fn_args (files, transform graph, steps, custom_config)."""
    config = TrainerConfig.from_custom_config(fn_args.custom_config)
    keras.utils.set_random_seed(config.seed)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train_dataset = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                             config.batch_size, config)
    eval_dataset = input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                            config.batch_size, config)
    with make_strategy(config.distribution_strategy).scope():
        model = build_compiled_model(config)
    tensorboard = keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch")
    model.fit(train_dataset, steps_per_epoch=fn_args.train_steps, epochs=1,
              validation_data=eval_dataset, validation_steps=fn_args.eval_steps,
              callbacks=[tensorboard], verbose=2)
    os.makedirs(fn_args.serving_model_dir, exist_ok=True)
    model.save(fn_args.serving_model_dir, save_format="tf",
               signatures=make_signatures(model, tf_transform_output, config))
