"""The TFMA plugin's combiners run in a real Beam pipeline and agree with the numpy math."""
import apache_beam as beam
import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from apache_beam.testing import util as beam_testing
from tensorflow_model_analysis.metrics import metric_types, metric_util

from evaluator_ext import tfma_metrics
from yt8m_tfx import metrics_math
from tests.reference_metrics import reference_gap, reference_hit_at_one, reference_mean_ap, reference_perr


def _extracts(predictions, labels):
    return [{"labels": l.astype(np.float32), "predictions": p.astype(np.float32),
             "example_weights": np.array([1.0], np.float32)} for p, l in zip(predictions, labels)]


def _run_metric(metric, predictions, labels, check, num_shards=3):
    """Runs the metric's combiner over interleaved shards in Beam; check({name: value}) runs on the result.

    The check runs inside the pipeline (beam's assert_that), so its assertions fail the pipeline.
    """
    computation, = metric.computations()

    def check_single_slice(results):
        assert len(results) == 1
        _, values = results[0]
        check({key.name: value for key, value in values.items()})

    extracts = _extracts(predictions, labels)
    with beam.Pipeline() as p:
        shards = [p | f"Create{i}" >> beam.Create(extracts[i::num_shards]) for i in range(num_shards)]
        result = (shards
                  | beam.Flatten()
                  | beam.Map(metric_util.to_standard_metric_inputs)
                  | beam.Map(lambda x: ((), x))
                  | beam.CombinePerKey(computation.combiner))
        beam_testing.assert_that(result, check_single_slice)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(3)
    predictions = rng.random((700, 300))
    labels = (rng.random((700, 300)) < 0.02).astype(np.int64)
    predictions = 0.7 * predictions + 0.3 * labels * rng.random((700, 300))
    return predictions.astype(np.float32), labels


@pytest.mark.parametrize("metric, name, reference", [
    (tfma_metrics.GlobalAveragePrecision, "gap", reference_gap),
    (tfma_metrics.MeanAveragePrecision, "map", reference_mean_ap),
])
def test_average_precision_combiners_match_reference(case, metric, name, reference):
    predictions, labels = case
    expected = reference(predictions, labels)

    def check(got):
        assert got[name] == pytest.approx(expected, abs=1e-6)
        assert got[f"{name}_error_bound"] == 0.0
    _run_metric(metric(), predictions, labels, check)


def test_gap_combiner_top_k_is_configurable(case):
    predictions, labels = case
    expected = reference_gap(predictions, labels, top_k=5)
    assert abs(expected - reference_gap(predictions, labels)) > 0.005  # top_k really changes GAP

    def check(got):
        assert got["gap"] == pytest.approx(expected, abs=1e-6)
    _run_metric(tfma_metrics.GlobalAveragePrecision(top_k=5), predictions, labels, check)


def test_gap_combiner_switches_to_bins_with_an_honest_bound(case):
    predictions, labels = case
    exact = reference_gap(predictions, labels)

    def check(got):
        assert 0 < got["gap_error_bound"] < 0.01
        assert abs(got["gap"] - exact) <= got["gap_error_bound"]
    _run_metric(tfma_metrics.GlobalAveragePrecision(max_exact_pairs=500, num_bins=5000),
                predictions, labels, check)


def test_hit_at_one_and_perr_combiners_match_reference(case):
    predictions, labels = case
    hit, perr = reference_hit_at_one(predictions, labels), reference_perr(predictions, labels)

    def check_hit(got):
        assert got["hit_at_one"] == pytest.approx(hit, abs=1e-12)

    def check_perr(got):
        assert got["perr"] == pytest.approx(perr, abs=1e-12)
    _run_metric(tfma_metrics.HitAtOne(), predictions, labels, check_hit)
    _run_metric(tfma_metrics.PrecisionAtEqualRecallRate(), predictions, labels, check_perr)


def test_a_failing_check_fails_the_pipeline(case):
    """Guards the harness itself: a wrong expectation must not pass silently."""
    predictions, labels = case

    def wrong(got):
        assert got["gap"] == pytest.approx(0.0)
    with pytest.raises(Exception):
        _run_metric(tfma_metrics.GlobalAveragePrecision(), predictions, labels, wrong)


def test_metrics_load_from_an_eval_config_by_module_path():
    """The Evaluator instantiates the plugin from MetricConfig(class_name, module, config)."""
    spec = tfma.MetricsSpec(metrics=[tfma.MetricConfig(
        class_name="GlobalAveragePrecision", module="evaluator_ext.tfma_metrics", config='{"top_k": 7}')])
    metrics = tfma.metrics.metric_specs.metric_instance(spec.metrics[0])
    assert isinstance(metrics, tfma_metrics.GlobalAveragePrecision)
    assert metrics.get_config()["top_k"] == 7
    assert isinstance(metrics, metric_types.Metric) and metrics_math.DEFAULT_TOP_K == 20


@pytest.mark.parametrize("model_name", ["", "candidate", "baseline"])
def test_the_direct_label_and_prediction_lookup_agrees_with_tfmas(case, model_name):
    predictions, labels = case
    prediction = predictions[0] if not model_name else {"candidate": predictions[0], "baseline": predictions[1]}
    element = metric_util.to_standard_metric_inputs(
        {"labels": labels[0].astype(np.float32), "predictions": prediction,
         "example_weights": np.array([1.0], np.float32)})
    eval_config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(name=model_name)] if model_name else [])
    label, scores = tfma_metrics._label_and_prediction(element, eval_config, model_name, "")
    tfma_label, tfma_scores, _ = next(metric_util.to_label_prediction_example_weight(
        element, eval_config=eval_config, model_name=model_name, output_name="", flatten=False, squeeze=False,
        example_weighted=False))
    np.testing.assert_array_equal(label, np.asarray(tfma_label).reshape(-1))
    np.testing.assert_array_equal(scores, np.asarray(tfma_scores).reshape(-1))
    np.testing.assert_array_equal(scores, predictions[1 if model_name == "baseline" else 0])
