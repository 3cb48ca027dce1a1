"""Benchmark (not a test): size and CPU throughput of every registered model with its DEFAULT hparams.

For each model: parameter count, training examples/s (train_on_batch on random data after one warm-up
step that also traces) and inference examples/s (predict_on_batch, likewise). Video-level models get
{"mean_rgb_xf": 1024, "mean_audio_xf": 128} in batches of 1024; frame-level models get
{"rgb_xf": 1024, "audio_xf": 128} x 300 frames (1.4 MB a video) in batches of 32 (LSTM: 8). Each timed
loop stops after a time budget (at least one step), so a model costs one to two minutes.

  nice -n 10 .venv/bin/python -m bench.models [--models DbofModel,LstmModel] [--frame_batch_size 32]

Writes bench/results/models.json (runs with --models replace only their own rows) and prints a table.
"""
import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS before tensorflow)

import argparse
import json
import os
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

from trainer import losses
from trainer.models import MODELS, get_model_builder, is_frame_level
from yt8m_tfx import features

VIDEO_SIZES = {"mean_rgb_xf": 1024, "mean_audio_xf": 128}
FRAME_SIZES = {"rgb_xf": 1024, "audio_xf": 128}
# One LSTM train step over 300 frames costs ~5 s per video here (2 layers x 1024 cells, 300 sequential steps),
# so a batch of 32 alone would take minutes; throughput per video barely depends on the batch (8 vs 32: 5.3
# vs 5.0 s a video), so a smaller batch keeps the measurement short without flattering the number.
FRAME_BATCH_OVERRIDES = {"LstmModel": 8}
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "models.json")


def random_batch(frame_level: bool, batch_size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    if not frame_level:
        x = {k: rng.standard_normal((batch_size, s), dtype=np.float32) for k, s in VIDEO_SIZES.items()}
    else:
        num_frames = rng.integers(1, features.MAX_FRAMES + 1, size=batch_size)
        valid = (np.arange(features.MAX_FRAMES)[None, :] < num_frames[:, None])[:, :, None]
        x = {k: rng.standard_normal((batch_size, features.MAX_FRAMES, s), dtype=np.float32) * valid
             for k, s in FRAME_SIZES.items()}
        x[features.NUM_FRAMES_KEY] = num_frames.astype(np.int64)
    y = np.zeros((batch_size, features.NUM_CLASSES), np.float32)
    y[np.repeat(np.arange(batch_size), 3), rng.integers(0, features.NUM_CLASSES, size=3 * batch_size)] = 1
    return x, y


def timed_loop(step, budget_s: float, max_steps: int):
    """Runs step() at least once, then until the budget is spent; returns (steps, seconds)."""
    started = time.perf_counter()
    steps = 0
    while steps < max_steps and (steps == 0 or time.perf_counter() - started < budget_s):
        step()
        steps += 1
    return steps, time.perf_counter() - started


def _three_digits(value: float) -> float:
    return float(f"{value:.3g}")  # 2510 and 0.187, not 2512.9 and 0.2


def measure(name: str, batch_size: int, train_budget_s: float, predict_budget_s: float):
    frame_level = is_frame_level(name)
    keras.utils.set_random_seed(0)
    model = get_model_builder(name)(FRAME_SIZES if frame_level else VIDEO_SIZES, features.NUM_CLASSES, {})
    # The trainer's defaults (base_learning_rate 0.01, clip_gradient_norm 1.0): clipping costs a norm per step.
    model.compile(optimizer=keras.optimizers.Adam(0.01, clipnorm=1.0), loss=losses.get_loss("CrossEntropyLoss"))
    x, y = random_batch(frame_level, batch_size)
    # Tensors once, so the loops time the model rather than copying 44 MB of numpy per frame-level step.
    x, y = {k: tf.constant(v) for k, v in x.items()}, tf.constant(y)
    started = time.perf_counter()
    model.train_on_batch(x, y)  # warm-up: traces the train step
    warmup_s = time.perf_counter() - started
    train_steps, train_s = timed_loop(lambda: model.train_on_batch(x, y), train_budget_s, max_steps=20)
    model.predict_on_batch(x)
    predict_steps, predict_s = timed_loop(lambda: model.predict_on_batch(x), predict_budget_s, max_steps=50)
    return {
        "model": name,
        "level": "frame" if frame_level else "video",
        "params": int(model.count_params()),
        "batch_size": batch_size,
        "train_examples_per_s": _three_digits(train_steps * batch_size / train_s),
        "predict_examples_per_s": _three_digits(predict_steps * batch_size / predict_s),
        "train_steps": train_steps,
        "predict_steps": predict_steps,
        "warmup_s": round(warmup_s, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # other processes on the box skew throughput
    }


def markdown_table(rows):
    lines = ["| model | level | params | batch | train ex/s | predict ex/s |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['level']} | {r['params']:,} | {r['batch_size']} | "
                     f"{r['train_examples_per_s']:,} | {r['predict_examples_per_s']:,} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="", help="comma-separated names; default every model in MODELS")
    p.add_argument("--video_batch_size", type=int, default=1024)
    p.add_argument("--frame_batch_size", type=int, default=32)
    p.add_argument("--train_seconds", type=float, default=20.0, help="time budget of the timed train loop")
    p.add_argument("--predict_seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()] or list(MODELS)
    for name in names:
        get_model_builder(name)  # unknown names fail before any model is built
    rows = []
    for name in names:
        if is_frame_level(name):
            batch_size = FRAME_BATCH_OVERRIDES.get(name, args.frame_batch_size)
        else:
            batch_size = args.video_batch_size
        rows.append(measure(name, batch_size, args.train_seconds, args.predict_seconds))
        print(json.dumps(rows[-1]), flush=True)
        keras.backend.clear_session()

    previous = []
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            previous = [r for r in json.load(f) if r["model"] not in names and r["model"] in MODELS]
    order = list(MODELS)
    merged = sorted(previous + rows, key=lambda r: order.index(r["model"]))
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(merged, f, indent=2)
    print(markdown_table(merged))


if __name__ == "__main__":
    main()
