"""TFMA plugin: the YouTube-8M metrics as `tfma.metrics.Metric`s backed by Beam CombineFns.

Each combiner only adapts TFMA's per-example (label, prediction) inputs to the numpy code in
metrics_math; there is no second implementation of the math. Use from an EvalConfig with
  tfma.MetricConfig(class_name="GlobalAveragePrecision", module="evaluator_ext.tfma_metrics",
                    config='{"top_k": 20}')
"""
from __future__ import annotations

from typing import Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

from yt8m_tfx import metrics_math

GAP_NAME = "gap"
HIT_AT_ONE_NAME = "hit_at_one"
PERR_NAME = "perr"
MAP_NAME = "map"


# The last lookup: TFMA hands the same example object to every metric's combiner in turn, so three of
# four lookups are repeats. One tuple, replaced whole, so concurrent bundles never see a torn entry.
_last_lookup = (None, None, None)


def _label_and_prediction(element, eval_config, model_name, output_name):
    """(labels [C], predictions [C]) of one example, unflattened."""
    global _last_lookup
    last_element, last_names, last_result = _last_lookup
    if last_element is element and last_names == (model_name, output_name):
        return last_result
    result = _lookup_label_and_prediction(element, eval_config, model_name, output_name)
    _last_lookup = (element, (model_name, output_name), result)
    return result


def _lookup_label_and_prediction(element, eval_config, model_name, output_name):
    label, prediction = _own_value(element.label, model_name, output_name), \
        _own_value(element.prediction, model_name, output_name)
    if not (isinstance(label, np.ndarray) and isinstance(prediction, np.ndarray)):
        # TFMA's general lookup (label/prediction keys, vocabularies); ~50 us an example, so only when needed.
        label, prediction, _ = next(metric_util.to_label_prediction_example_weight(
            element, eval_config=eval_config, model_name=model_name, output_name=output_name,
            flatten=False, squeeze=False, example_weighted=False))
    return np.asarray(label).reshape(-1), np.asarray(prediction).reshape(-1)


def _own_value(value, model_name, output_name):
    """A model's (and output's) entry of TFMA's per-model / per-output dicts; arrays pass through."""
    for name in (model_name, output_name):
        if isinstance(value, dict) and name in value:
            value = value[name]
    return value


class _PerExampleCombiner(beam.CombineFn):
    """Base: collects a row batch of (labels, predictions) and hands it to `_add_batch`."""

    BATCH = 256  # examples converted to numpy at once (per-example numpy calls are slow)

    def __init__(self, keys, eval_config, model_name, output_name):
        self._keys = keys
        self._eval_config = eval_config
        self._model_name = model_name
        self._output_name = output_name

    def add_input(self, accumulator, element):
        labels, predictions = _label_and_prediction(element, self._eval_config, self._model_name,
                                                    self._output_name)
        accumulator["pending"].append((labels, predictions))
        if len(accumulator["pending"]) >= self.BATCH:
            self._flush(accumulator)
        return accumulator

    def _flush(self, accumulator):
        if accumulator["pending"]:
            labels = np.stack([l for l, _ in accumulator["pending"]])
            predictions = np.stack([p for _, p in accumulator["pending"]])
            accumulator["pending"] = []
            self._add_batch(accumulator, predictions, labels)
        return accumulator

    def compact(self, accumulator):
        return self._flush(accumulator)


class _ApStateCombiner(_PerExampleCombiner):
    """Wraps a metrics_math GapState / MapState; outputs (value, error bound)."""

    def __init__(self, keys, eval_config, model_name, output_name, state_class, top_k, max_exact_pairs,
                 num_bins):
        super().__init__(keys, eval_config, model_name, output_name)
        self._state_class = state_class
        self._top_k = top_k
        self._max_exact_pairs = max_exact_pairs
        self._num_bins = num_bins

    def create_accumulator(self):
        return {"pending": [], "state": self._state_class(self._max_exact_pairs, self._num_bins)}

    def _add_batch(self, accumulator, predictions, labels):
        accumulator["state"].add_videos(predictions, labels, self._top_k)

    def merge_accumulators(self, accumulators: Iterable[dict]):
        accumulators = iter(accumulators)
        result = self._flush(next(accumulators))
        for accumulator in accumulators:
            result["state"].merge(self._flush(accumulator)["state"])
        return result

    def compact(self, accumulator):
        self._flush(accumulator)
        accumulator["state"].compact()
        return accumulator

    def extract_output(self, accumulator):
        state = self._flush(accumulator)["state"]
        value_key, bound_key = self._keys
        return {value_key: state.result(), bound_key: state.error_bound()}


class _MeanPerVideoCombiner(_PerExampleCombiner):
    """Mean over videos of a per-video score: the accumulator is just (sum, count)."""

    def __init__(self, keys, eval_config, model_name, output_name, per_video_fn):
        super().__init__(keys, eval_config, model_name, output_name)
        self._per_video_fn = per_video_fn

    def create_accumulator(self):
        return {"pending": [], "sum": 0.0, "count": 0}

    def _add_batch(self, accumulator, predictions, labels):
        values = self._per_video_fn(predictions, labels)
        accumulator["sum"] += float(np.sum(values))
        accumulator["count"] += int(values.size)

    def merge_accumulators(self, accumulators):
        accumulators = iter(accumulators)
        result = self._flush(next(accumulators))
        for accumulator in accumulators:
            self._flush(accumulator)
            result["sum"] += accumulator["sum"]
            result["count"] += accumulator["count"]
        return result

    def extract_output(self, accumulator):
        self._flush(accumulator)
        value = accumulator["sum"] / accumulator["count"] if accumulator["count"] else float("nan")
        return {self._keys[0]: value}


def _key(name, model_name, output_name, sub_key=None):
    return metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                  sub_key=sub_key)


def _ap_state_computations(state_class):
    def computations(name=None, eval_config=None, model_name="", output_name="", sub_key=None,
                     top_k=metrics_math.DEFAULT_TOP_K, max_exact_pairs=metrics_math.DEFAULT_MAX_EXACT_PAIRS,
                     num_bins=metrics_math.DEFAULT_NUM_BINS):
        keys = [_key(name, model_name, output_name, sub_key),
                _key(name + "_error_bound", model_name, output_name, sub_key)]
        return [metric_types.MetricComputation(
            keys=keys, preprocessors=None,
            combiner=_ApStateCombiner(keys, eval_config, model_name, output_name, state_class, top_k,
                                      max_exact_pairs, num_bins))]
    return computations


class GlobalAveragePrecision(metric_types.Metric):
    """Kaggle GAP@top_k. Also reports `gap_error_bound` (0 unless it had to switch to bins)."""

    def __init__(self, name: str = GAP_NAME, top_k: int = metrics_math.DEFAULT_TOP_K,
                 max_exact_pairs: int = metrics_math.DEFAULT_MAX_EXACT_PAIRS,
                 num_bins: int = metrics_math.DEFAULT_NUM_BINS, code_fingerprint: str = ""):
        del code_fingerprint  # the Evaluator's cache key (pipeline.create_eval_config), not a setting
        super().__init__(metric_util.merge_per_key_computations(_ap_state_computations(metrics_math.GapState)),
                         name=name, top_k=top_k, max_exact_pairs=max_exact_pairs, num_bins=num_bins)


class MeanAveragePrecision(metric_types.Metric):
    """The seed's MAP over top_k predictions, mean over classes with positives; plus `map_error_bound`."""

    def __init__(self, name: str = MAP_NAME, top_k: int = metrics_math.DEFAULT_TOP_K,
                 max_exact_pairs: int = metrics_math.DEFAULT_MAX_EXACT_PAIRS, num_bins: int = 1000,
                 code_fingerprint: str = ""):
        del code_fingerprint
        super().__init__(metric_util.merge_per_key_computations(_ap_state_computations(metrics_math.MapState)),
                         name=name, top_k=top_k, max_exact_pairs=max_exact_pairs, num_bins=num_bins)


def _mean_per_video_computations(per_video_fn):
    def computations(name=None, eval_config=None, model_name="", output_name="", sub_key=None):
        keys = [_key(name, model_name, output_name, sub_key)]
        return [metric_types.MetricComputation(
            keys=keys, preprocessors=None,
            combiner=_MeanPerVideoCombiner(keys, eval_config, model_name, output_name, per_video_fn))]
    return computations


class HitAtOne(metric_types.Metric):
    """Fraction of videos whose top prediction is a true label (the seed's Avg_Hit@1)."""

    def __init__(self, name: str = HIT_AT_ONE_NAME, code_fingerprint: str = ""):
        del code_fingerprint
        super().__init__(metric_util.merge_per_key_computations(
            _mean_per_video_computations(metrics_math.hit_at_one_per_video)), name=name)


class PrecisionAtEqualRecallRate(metric_types.Metric):
    """The seed's Avg_PERR: precision of each video's top-L scores, L = its number of labels."""

    def __init__(self, name: str = PERR_NAME, code_fingerprint: str = ""):
        del code_fingerprint
        super().__init__(metric_util.merge_per_key_computations(
            _mean_per_video_computations(metrics_math.perr_per_video)), name=name)


for _metric in (GlobalAveragePrecision, MeanAveragePrecision, HitAtOne, PrecisionAtEqualRecallRate):
    metric_types.register_metric(_metric)
