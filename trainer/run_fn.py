"""TFX Trainer entry point (`run_fn`): datasets from the DataAccessor, fit, export with the signatures of
trainer/signatures.py.
"""
from __future__ import annotations

import dataclasses
import os
import time

import yt8m_tfx  # noqa: F401  (sets TF_USE_LEGACY_KERAS before tensorflow loads)

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx_bsl.public import tfxio

from absl import logging

from trainer import checkpoints, data_split, frame_sampling, keep_best, losses, precision
from trainer.config import TrainerConfig, apply_hyperparameters, hyperparameter_values
from trainer.distribution import WorkerRole, make_strategy
from trainer.models import check_model_matches_data, default_learning_rate, ensemble, get_model_builder
from trainer.optimizers import MultiRateAdam, learning_rate_schedule
from trainer.progress import TrainingProgress
from trainer.score_calibration import class_corrections
from trainer.signatures import make_signatures
from trainer.step_callbacks import LossCurve
from trainer.models.video_level import DEFAULT_L2_PENALTY
from transform.preprocessing import labels_to_multi_hot
from yt8m_tfx import class_names, features, heap, record_batches


def model_input_sizes(config: TrainerConfig):
    """{transformed feature name: size} for the features the model consumes."""
    selected = features.select_features(config.feature_names, config.frame_features, config.dataset)
    return {features.transformed_name(name): size for name, size in selected.items()}


def model_input_names(config: TrainerConfig):
    """Every transformed tensor the model reads: the features, plus num_frames for frame-level models."""
    names = list(model_input_sizes(config))
    return names + [features.NUM_FRAMES_KEY] if config.frame_features else names


def input_fn(file_pattern, data_accessor, tf_transform_output, batch_size: int, config: TrainerConfig,
             seed=None, part: str = "all", num_epochs=None):
    """(features, multi-hot labels) batches, repeated forever unless num_epochs is given.

    part: "all", or "train" / "validation" for the two sides of the id-hash validation split of the
    training data (trainer/data_split.py); each batch is filtered, so it holds about batch_size x the
    share of that side. Video-level reads Transform's materialized examples. Frame-level reads the raw
    SequenceExamples and applies the Transform graph here (Transform does not materialize 1.4 MB of
    floats a video).
    """
    input_names = model_input_names(config)

    def split(batch):
        inputs = {name: batch[name] for name in input_names}
        labels = labels_to_multi_hot(batch[features.LABELS_KEY], config.num_classes)
        if part == "all":
            return inputs, labels
        keep = data_split.validation_mask(batch[features.TRANSFORMED_VIDEO_ID_KEY], config.validation_percent)
        keep = keep if part == "validation" else tf.logical_not(keep)
        return {k: tf.boolean_mask(v, keep) for k, v in inputs.items()}, tf.boolean_mask(labels, keep)

    options = tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size, shuffle=seed is not None, shuffle_seed=seed, num_epochs=num_epochs,
        shuffle_buffer_size=shuffle_buffer_records(config.frame_features, config.max_frames, config.dataset))
    if not config.frame_features:
        dataset = data_accessor.tf_dataset_factory(
            file_pattern, options, tf_transform_output.transformed_metadata.schema)
        return dataset.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    tft_layer = tf_transform_output.transform_features_layer()
    dataset = data_accessor.tf_dataset_factory(file_pattern, options, tf_transform_output.raw_metadata.schema)

    def transform(raw):
        if not config.sample_frames:
            return tft_layer(raw)
        # Random frames in training (a seeded run), evenly spaced ones when reading the validation part.
        # The Transform graph pads to sample_frames (TransformConfig.output_frames), not max_frames.
        return tft_layer(frame_sampling.sample_raw_frames(raw, config.sample_frames, config.max_frames,
                                                          random=part != "validation", seed=seed))

    # One batch decoded at a time (its ops are multi-threaded already) and one prefetched: each holds
    # batch x model_frames x 1152 floats. Two parallel decodes measured the same steady rate and ~0.1 GiB more.
    return dataset.map(lambda raw: split(transform(raw)), num_parallel_calls=1).prefetch(1)


SHUFFLE_BUFFER_BYTES = 256 * 2**20  # raw records held for shuffling: bounded whatever the record size


def shuffle_buffer_records(frame_features: bool, max_frames: int, dataset: str = features.DEFAULT_DATASET) -> int:
    """tfxio's default of 10,000 records, fewer when they would exceed SHUFFLE_BUFFER_BYTES: 10,000
    frame-level videos are ~3.5 GB of raw bytes (776 fit in 256 MiB at 300 frames; video-level keeps 10,000)."""
    return max(64, min(10_000, SHUFFLE_BUFFER_BYTES // features.record_bytes(frame_features, max_frames, dataset)))


def validation_input_fn(file_pattern, data_accessor, tf_transform_output, config: TrainerConfig):
    """The held-out videos among the first `validation_batches` train batches, one pass, cached in memory:
    each keep-best evaluation (or Tuner trial) would otherwise re-read the whole train split to filter them."""
    return input_fn(file_pattern, data_accessor, tf_transform_output, config.batch_size, config,
                    part="validation", num_epochs=1).take(config.validation_batches).cache()


def count_examples(file_patterns, at_most: int = 0) -> int:
    """Records in the (GZIP) TFRecord files TFX hands the Trainer: the train split's size for --num_epochs.
    at_most > 0 stops counting there (enough to know the split is not small)."""
    files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
    dataset = tf.data.TFRecordDataset(files, compression_type=record_batches.compression_of(files),
                                      num_parallel_reads=4)
    if at_most:
        dataset = dataset.take(at_most)
    return int(dataset.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1).numpy())


def keep_best_for_the_data(fn_args, config: TrainerConfig):
    """(config, why keep-best is off or None): config with validation_percent 0 when the validation split
    would hold too few videos to select a step on (keep_best.MIN_VALIDATION_VIDEOS)."""
    if config.validation_percent <= 0:
        return config, None
    enough = int(keep_best.MIN_VALIDATION_VIDEOS * 100 / config.validation_percent) + 1
    videos = count_examples(fn_args.train_files, at_most=enough)
    if not keep_best.validation_too_small(videos, config.validation_percent):
        return config, None
    reason = (f"off: {config.validation_percent:g} % of {videos} training videos is fewer than "
              f"{keep_best.MIN_VALIDATION_VIDEOS} to select a step on; every step trains on all of them")
    logging.warning("Keep-best %s", reason)
    return dataclasses.replace(config, validation_percent=0.0), reason


def total_train_steps(fn_args, config: TrainerConfig):
    """(total steps, steps per epoch or None): --num_epochs over the training part of the train split (at
    least --min_train_steps), else the Trainer's train_steps."""
    if config.num_epochs > 0:
        num_examples = count_examples(fn_args.train_files)
        steps = data_split.steps_for_epochs(num_examples, config.num_epochs, config.batch_size,
                                            config.validation_percent)
        logging.info("%g epochs of %d training videos (%g%% held out for validation), batch %d: %d steps%s",
                     config.num_epochs, num_examples, config.validation_percent, config.batch_size, steps,
                     f", raised to --min_train_steps={config.min_train_steps}"
                     if steps < config.min_train_steps else "")
        return max(steps, config.min_train_steps), max(1, round(steps / config.num_epochs))
    if not fn_args.train_steps:
        raise ValueError("give --train_steps or --num_epochs")
    return fn_args.train_steps, None


def build_compiled_model(config: TrainerConfig, total_steps: int = 0):
    """The model with its loss and optimizer, built under config.precision's Keras policy; total_steps (the
    whole training's) shapes a cosine schedule."""
    with precision.policy_scope(precision.this_machines_precision(config.precision)):
        return _build_compiled_model(config, total_steps)


def _build_compiled_model(config: TrainerConfig, total_steps: int):
    check_model_matches_data(config.model, config.frame_features)
    builder = get_model_builder(config.model)
    hparams = dict(config.hparams)
    if config.frame_features:
        hparams["max_frames"] = config.model_frames
    # The starter code adds regularization_penalty x the models' L2 terms to the label loss.
    hparams["l2_penalty"] = hparams.get("l2_penalty", DEFAULT_L2_PENALTY) * config.regularization_penalty
    base_learning_rate = config.base_learning_rate or default_learning_rate(config.model, hparams)
    model = builder(model_input_sizes(config), config.num_classes, hparams)
    learning_rate = learning_rate_schedule(config.learning_rate_schedule, base_learning_rate, total_steps,
                                           config.batch_size, config.learning_rate_decay,
                                           config.learning_rate_decay_examples)
    optimizer = MultiRateAdam(learning_rate, clipnorm=config.clip_gradient_norm,
                              weight_decay=config.weight_decay or None,
                              rate_multipliers=ensemble.rate_multipliers(model, base_learning_rate))
    # Under mixed_float16, compile wraps the optimizer in a LossScaleOptimizer (bfloat16 needs none).
    model.compile(optimizer=optimizer, loss=losses.get_loss(config.label_loss))
    return model


def run_fn(fn_args):
    """Called by the TFX Trainer with fn_args (files, transform graph, steps, custom_config).

    The total step count comes from --num_epochs (train split size) or fn_args.train_steps; a resumed model
    trains only the remaining steps. With a validation split (validation_percent > 0) the best weights on it
    are exported and training stops after `patience` evaluations without improvement.
    """
    tuned = hyperparameter_values(fn_args.hyperparameters)  # from the Tuner stage (--tune), if any
    config = apply_hyperparameters(TrainerConfig.from_custom_config(fn_args.custom_config), tuned)
    # MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs in this process.
    strategy = make_strategy(config.distribution_strategy)
    role = WorkerRole.from_environment()
    try:
        _train_and_export(fn_args, config, tuned, strategy, role)
    finally:
        role.clean_up()
        # LocalDagRunner runs the Trainer in the pipeline process: the input pipeline's freed heap
        # (shuffle buffer, decoded batches) goes back to the OS before the next component.
        heap.return_freed_memory()


def _train_and_export(fn_args, config: TrainerConfig, tuned, strategy, role: WorkerRole):
    if tuned:
        logging.info("Tuned hyperparameters: %s", tuned)
    if strategy.num_replicas_in_sync > 1 or not role.chief:
        logging.info("%s of %d replicas (%s)", role.name, strategy.num_replicas_in_sync,
                     "chief: writes the outputs" if role.chief else f"scratch space {role.scratch}")
    model_run_dir = role.output_path(fn_args.model_run_dir, "model_run")
    keras.utils.set_random_seed(config.seed)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    config, keep_best_off = keep_best_for_the_data(fn_args, config)
    model, state = _fit(fn_args, config, tuned, strategy, role, tf_transform_output, model_run_dir)
    if keep_best_off:
        state["keep_best"] = keep_best_off
    _export(fn_args, config, model, state, strategy, role, tf_transform_output, model_run_dir)


def _resume(fn_args, config: TrainerConfig, tuned, role: WorkerRole, model, callbacks):
    """(the step the checkpoints resume from, their directory or None); adds the checkpoint callback."""
    if not config.checkpoint_dir:
        return 0, None
    key = checkpoints.checkpoint_key({**fn_args.custom_config, "tuned": tuned}, fn_args.transform_output,
                                     fn_args.train_files)
    checkpoint_dir = os.path.join(config.checkpoint_dir, key)
    saver = checkpoints.TrainingCheckpoints(model, checkpoint_dir,
                                            save_directory=role.output_path(checkpoint_dir, "checkpoints"))
    callbacks.append(checkpoints.SaveEverySteps(saver, config.checkpoint_steps))
    return saver.restore_or_start(config.start_new_model), checkpoint_dir


def _fit(fn_args, config: TrainerConfig, tuned, strategy, role: WorkerRole, tf_transform_output, model_run_dir):
    """(the trained model with its kept weights, the training state for training_state.json)."""
    total_steps, steps_per_epoch = total_train_steps(fn_args, config)
    holdout = config.validation_percent > 0
    train_dataset = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                             config.batch_size, config, seed=config.seed, part="train" if holdout else "all")
    with strategy.scope():
        model = build_compiled_model(config, total_steps)
        callbacks = [keras.callbacks.TensorBoard(log_dir=model_run_dir, update_freq="epoch"),
                     LossCurve(os.path.join(model_run_dir, "train_loss"), every=max(1, total_steps // 100))]
        initial_step, checkpoint_dir = _resume(fn_args, config, tuned, role, model, callbacks)
    if initial_step:
        logging.info("Resuming %s from step %d (%s); --start_new_model starts over.",
                     config.model, initial_step, checkpoint_dir)
    selector = None
    if holdout:
        every = config.eval_every_steps or keep_best.evaluation_interval(
            steps_per_epoch or _steps_per_epoch(fn_args, config), total_steps)
        selector = keep_best.KeepBest(
            validation_input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, config),
            config.validation_batches, every=every,
            patience=config.patience, top_k=config.top_k, directory=checkpoint_dir,
            log_dir=os.path.join(model_run_dir, "validation_metrics"),
            top_score_exponent=config.top_score_exponent, read_only=not role.chief)
        selector.load(model)
        # Keep-best runs before the checkpoint callback, so a checkpoint never lags its keep-best state.
        callbacks.insert(1, selector)
    remaining, fit_seconds = max(0, total_steps - initial_step), 0.0
    progress = TrainingProgress(total_steps, initial_step, config.batch_size, selector)
    callbacks.append(progress)
    if selector and selector.state.stopped_early:
        logging.info("This training already stopped early at step %d: exporting its best step %d.",
                     initial_step, selector.state.best_step)
    elif remaining:
        started = time.monotonic()
        model.fit(train_dataset, steps_per_epoch=remaining, epochs=1, callbacks=callbacks, verbose=0)
        fit_seconds = round(time.monotonic() - started, 2)
    else:
        logging.info("Checkpoint is already at step %d >= %d steps: exporting it as is.", initial_step, total_steps)
    state = {"initial_step": initial_step, "final_step": int(model.optimizer.iterations.numpy()),
             "total_steps": total_steps, "checkpoint_dir": checkpoint_dir, "tuned_hyperparameters": tuned,
             "precision": model.dtype_policy.name,
             "fit_seconds": fit_seconds,  # model.fit alone (with its callbacks), not start-up or export
             "videos_per_second_after_first_step": progress.steady_videos_per_second()}
    if selector:
        selector.restore_best()
        state.update(best_step=selector.state.best_step, best_validation_gap=selector.state.best_gap,
                     stopped_early=selector.state.stopped_early, validation_percent=config.validation_percent,
                     evaluations=selector.state.history)
    if strategy.num_replicas_in_sync > 1:
        state["replicas"] = strategy.num_replicas_in_sync
    return model, state


def _export(fn_args, config: TrainerConfig, model, state, strategy, role: WorkerRole, tf_transform_output,
            model_run_dir):
    """training_state.json, then the serving SavedModel with the class corrections in its signatures."""
    # Only the chief exports, so only it reads the training labels once more to count them.
    class_shift, class_scale, corrections = (class_corrections_for(fn_args, tf_transform_output, config)
                                             if role.chief else (None, None, None))
    if corrections:
        state["class_corrections"] = corrections
    checkpoints.write_training_state(model_run_dir, **state)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # Reading a sync-on-read variable (BatchNorm's moving statistics) of the distributed model is an
        # all-reduce across workers: traced into the signatures, the SavedModel could not be served alone.
        # Every worker reads the weights together; the chief exports them in a plain single-process copy.
        weights = model.get_weights()
        if not role.chief:
            return
        model = build_compiled_model(config, state["total_steps"])
        model.set_weights(weights)
    serving_model_dir = role.output_path(fn_args.serving_model_dir, "serving_model")
    tf.io.gfile.makedirs(serving_model_dir)
    model.save(serving_model_dir, save_format="tf",
               signatures=make_signatures(model, tf_transform_output, config, model_input_names(config),
                                          class_shift, class_scale))


def train_label_counts(file_pattern, data_accessor, tf_transform_output, config: TrainerConfig):
    """([C] videos per class, number of videos) in the training part of the train split (one unshuffled
    pass over it)."""
    part = "train" if config.validation_percent > 0 else "all"
    batches = input_fn(file_pattern, data_accessor, tf_transform_output, config.batch_size, config, part=part,
                       num_epochs=1).map(lambda _, multi_hot: (tf.reduce_sum(multi_hot, 0), tf.shape(multi_hot)[0]))
    counts, videos = batches.reduce((tf.zeros([config.num_classes]), 0),
                                    lambda total, batch: (total[0] + batch[0], total[1] + batch[1]))
    return counts.numpy(), int(videos)


def class_corrections_for(fn_args, tf_transform_output, config: TrainerConfig):
    """(the exported model's per-class log-odds shift for --class_prior_strength and factor for
    --class_frequency_exponent, each None when off; their summary for training_state.json); all None when
    both are off or no published class counts are shipped (2017)."""
    if not (config.class_prior_strength or config.class_frequency_exponent):
        return None, None, None
    published = class_names.release_class_counts(config.dataset)
    if published is None:
        logging.warning("--class_prior_strength=%g / --class_frequency_exponent=%g ignored: no published class "
                        "counts are shipped for %s", config.class_prior_strength,
                        config.class_frequency_exponent, config.dataset)
        return None, None, None
    seen, videos = (train_label_counts(fn_args.train_files, fn_args.data_accessor, tf_transform_output, config)
                    if config.class_prior_strength else (None, 0))  # only the shift needs the training labels
    shift, scale = class_corrections(published, config.class_prior_strength, config.class_frequency_exponent, seen)
    summary = {}
    if shift is not None:
        summary.update(strength=config.class_prior_strength, training_videos=videos, training_labels=int(seen.sum()),
                       classes_seen=int((seen > 0).sum()), shift_min=float(shift.min()),
                       shift_max=float(shift.max()))
    if scale is not None:
        summary.update(frequency_exponent=config.class_frequency_exponent, scale_min=float(scale.min()),
                       scale_max=float(scale.max()))
    logging.info("Class corrections: %s", summary)
    return shift, scale, summary


def _steps_per_epoch(fn_args, config: TrainerConfig) -> int:
    return data_split.steps_for_epochs(count_examples(fn_args.train_files), 1, config.batch_size,
                                       config.validation_percent)
