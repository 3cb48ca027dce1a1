"""Benchmark (not a test): the same models trained WITHOUT TFX, to show the pipeline loses no quality.

Same data as bench/real_data_pipeline.py (validate0000-0063 train, validate0064-0079 eval), read with
tf.data and parsed with yt8m_tfx.features.video_level_feature_spec. Preprocessing matches
transform/preprocessing.py: per-dimension z-score of mean_rgb and mean_audio with the mean and population
variance of the train split (computed here in numpy; a zero-variance dimension is only centred, like
tft.scale_to_z_score). Model, optimizer, loss and learning-rate schedule come from
trainer.run_fn.build_compiled_model(TrainerConfig(...)); same seed, batch size and number of steps, and the
same input pipeline shape as the Trainer's (repeat, 10,000-example shuffle buffer seeded with the config
seed, batch). The eval split is predicted once and scored with yt8m_tfx.metrics_math (GAP, hit@1,
PERR, MAP: the functions the TFMA plugin uses). Writes bench/results/plain_keras_<model>.json.

  .venv/bin/python -m bench.plain_keras --model=LogisticModel --train_steps=300
"""
import argparse
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

import numpy as np

from bench import common

SHUFFLE_BUFFER = 10_000  # tfx_bsl TensorFlowDatasetOptions default, what the Trainer's input_fn gets


def parsed_dataset(tf, files, batch_size):
    from yt8m_tfx import features
    spec = features.video_level_feature_spec(tf)
    return tf.data.TFRecordDataset(files).batch(batch_size).map(
        lambda serialized: tf.io.parse_example(serialized, spec), num_parallel_calls=tf.data.AUTOTUNE)


def to_model_inputs(tf, batch, mean, scale):
    """Raw parsed batch -> ({"<name>_xf": z-scored [B, size]}, multi-hot labels [B, NUM_CLASSES])."""
    from yt8m_tfx import features
    inputs = {features.transformed_name(name): (batch[name] - mean[name]) / scale[name]
              for name in features.VIDEO_FEATURE_SIZES}
    labels = batch[features.LABELS_KEY]
    labels = tf.sparse.SparseTensor(labels.indices, labels.values, labels.dense_shape)
    multi_hot = tf.cast(tf.sparse.to_indicator(labels, features.NUM_CLASSES), tf.float32)
    return inputs, multi_hot


def z_score_stats(tf, files):
    """Per-dimension mean and scale (population std, 1 where it is 0) of each feature over the files."""
    from yt8m_tfx import features
    sums = {name: np.zeros(size) for name, size in features.VIDEO_FEATURE_SIZES.items()}
    squares = {name: np.zeros(size) for name, size in features.VIDEO_FEATURE_SIZES.items()}
    count = 0
    for batch in parsed_dataset(tf, files, 4096).as_numpy_iterator():
        for name in sums:
            values = batch[name].astype(np.float64)
            sums[name] += values.sum(axis=0)
            squares[name] += np.square(values).sum(axis=0)
        count += len(batch[features.VIDEO_ID_KEY])
    mean = {name: sums[name] / count for name in sums}
    variance = {name: np.maximum(squares[name] / count - np.square(mean[name]), 0.0) for name in sums}
    scale = {name: np.where(variance[name] > 0, np.sqrt(variance[name]), 1.0) for name in sums}
    as_f32 = lambda d: {k: tf.constant(v, tf.float32) for k, v in d.items()}  # noqa: E731
    return as_f32(mean), as_f32(scale), count


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="LogisticModel")
    p.add_argument("--train_steps", type=int, default=300)
    p.add_argument("--batch_size", type=int, default=1024)
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    p.add_argument("--train_shards", type=int, default=len(common.TRAIN_SHARDS))
    p.add_argument("--seed", type=int, default=0, help="TrainerConfig.seed (the pipeline uses 0)")
    p.add_argument("--output", help="result file name under bench/results (default by model)")
    args = p.parse_args(argv)
    if not common.sample_available(args.sample_dir):
        return 0
    machine = common.machine()
    import tensorflow as tf
    import tf_keras as keras
    from trainer.config import TrainerConfig
    from trainer.run_fn import build_compiled_model

    train_files = common.shard_paths(args.sample_dir, range(args.train_shards))
    eval_files = common.shard_paths(args.sample_dir, common.EVAL_SHARDS)
    config = TrainerConfig(model=args.model, batch_size=args.batch_size, seed=args.seed,
                           hparams={"moe_num_mixtures": 2})  # local_runner's default flags
    started = time.time()
    mean, scale, train_examples = z_score_stats(tf, train_files)
    stats_seconds = time.time() - started

    keras.utils.set_random_seed(config.seed)  # as run_fn does
    from yt8m_tfx import features
    spec = features.video_level_feature_spec(tf)
    train = (tf.data.TFRecordDataset(train_files).repeat().shuffle(SHUFFLE_BUFFER, seed=config.seed)
             .batch(args.batch_size)
             .map(lambda s: to_model_inputs(tf, tf.io.parse_example(s, spec), mean, scale),
                  num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    model = build_compiled_model(config)
    started = time.time()
    history = model.fit(train, steps_per_epoch=args.train_steps, epochs=1, verbose=2)
    fit_seconds = time.time() - started

    started = time.time()
    predictions, labels = [], []
    for batch in parsed_dataset(tf, eval_files, args.batch_size):
        inputs, multi_hot = to_model_inputs(tf, batch, mean, scale)
        predictions.append(model.predict_on_batch(inputs))
        labels.append(multi_hot.numpy())
    predictions, labels = np.concatenate(predictions), np.concatenate(labels)
    predict_seconds = time.time() - started
    top_k = config.top_k
    metrics = common.quality_metrics(predictions, labels, top_k)
    import resource
    result = {
        "benchmark": "plain_keras", "date": common.now(), "machine": machine,
        "model": args.model, "params": int(model.count_params()), "train_steps": args.train_steps,
        "batch_size": args.batch_size, "seed": config.seed,
        "train_shards": f"validate0000-{args.train_shards - 1:04d}", "eval_shards": "validate0064-0079",
        "train_examples": train_examples, "eval_examples": int(len(labels)),
        "final_train_loss": float(history.history["loss"][-1]),
        "z_score_stats_seconds": round(stats_seconds, 1),
        "fit_seconds": round(fit_seconds, 1),
        "train_examples_per_s": round(args.train_steps * args.batch_size / fit_seconds, 1),
        "predict_seconds": round(predict_seconds, 1),
        "predict_examples_per_s": round(len(labels) / predict_seconds, 1),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "load_1min_at_end": round(os.getloadavg()[0], 2),
        "metrics": metrics,
    }
    common.write_result(args.output or f"plain_keras_{args.model}.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
