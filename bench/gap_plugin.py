"""Benchmark (not a test): the GAP accumulator the TFMA plugin uses vs the one-shot numpy function.

Feeds N videos x 3862 classes in chunks, as the Beam combiner sees them, into 8 partial GapStates that
are then merged (like Beam's combiner lifting), and compares time, accumulator memory and the value
with evaluator_ext.gap on the full arrays. Also runs the binned mode to show its error bound.
Memory: the merged accumulator's size, and each method's peak working memory above the input arrays
(numpy allocations traced with tracemalloc).

  .venv/bin/python -m bench.gap_plugin --videos 100000
"""
import argparse
import time
import tracemalloc

import numpy as np

from bench import common
from yt8m_tfx import metrics_math
from yt8m_tfx.features import NUM_CLASSES


def synthetic_predictions(videos, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros((videos, NUM_CLASSES), np.int8)
    rows = np.repeat(np.arange(videos), 3)
    labels[rows, rng.integers(0, 200, size=rows.size)] = 1
    predictions = rng.random((videos, NUM_CLASSES), dtype=np.float32) * 0.7
    predictions += 0.3 * labels * rng.random((videos, NUM_CLASSES), dtype=np.float32)
    return predictions, labels


def state_bytes(state):
    arrays = list(state.scores) + list(state.positives)
    if state.binned:
        arrays += [state.bin_positives, state.bin_negatives]
    return sum(a.nbytes for a in arrays)


def run_states(predictions, labels, chunk=1000, partials=8, **state_args):
    started = time.perf_counter()
    states = [metrics_math.GapState(**state_args) for _ in range(partials)]
    for i, start in enumerate(range(0, len(labels), chunk)):
        states[i % partials].add_videos(predictions[start:start + chunk], labels[start:start + chunk])
    merged = states[0]
    for other in states[1:]:
        merged.merge(other)
    value, bound = merged.result(), merged.error_bound()
    return value, bound, time.perf_counter() - started, state_bytes(merged)


def traced(fn, *args, **kwargs):
    """(fn's result, peak bytes allocated while it ran, over what was allocated before)."""
    tracemalloc.start()
    try:
        result = fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def timed_gap(predictions, labels):
    started = time.perf_counter()
    return metrics_math.gap(predictions, labels), time.perf_counter() - started


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--videos", type=int, default=100_000)
    args = p.parse_args(argv)
    predictions, labels = synthetic_predictions(args.videos)
    (reference, numpy_seconds), numpy_peak = traced(timed_gap, predictions, labels)
    (exact, exact_bound, exact_seconds, exact_bytes), exact_peak = traced(run_states, predictions, labels)
    (binned, binned_bound, binned_seconds, binned_bytes), binned_peak = traced(
        run_states, predictions, labels, max_exact_pairs=100_000)
    result = {
        "benchmark": "gap_plugin", "date": common.now(), "machine": common.machine(),
        "videos": args.videos, "classes": NUM_CLASSES,
        "numpy_gap": reference, "numpy_seconds": round(numpy_seconds, 2), "numpy_peak_working_bytes": numpy_peak,
        "input_bytes": int(predictions.nbytes + labels.nbytes),
        "exact_state_gap": exact, "exact_abs_diff": abs(exact - reference), "exact_seconds": round(exact_seconds, 2),
        "exact_state_bytes": exact_bytes, "exact_peak_working_bytes": exact_peak,
        "binned_state_gap": binned, "binned_error_bound": binned_bound, "binned_abs_diff": abs(binned - reference),
        "binned_seconds": round(binned_seconds, 2), "binned_state_bytes": binned_bytes,
        "binned_peak_working_bytes": binned_peak,
    }
    common.write_result("gap_plugin.json", result)


if __name__ == "__main__":
    main()
