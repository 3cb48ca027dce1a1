import numpy as np
import pytest

from evaluator_ext import evaluate
from yt8m_tfx import metrics_math
from tests.reference_metrics import reference_gap


def test_streaming_metrics_over_batches_equal_the_whole_array_numbers():
    rng = np.random.default_rng(0)
    predictions = rng.random((230, 50)).astype(np.float32)
    labels = (rng.random((230, 50)) < 0.05).astype(np.float32)
    labels[np.arange(230), rng.integers(0, 50, 230)] = 1.0  # every video has a label
    metrics = evaluate.StreamingMetrics(top_k=20)
    for start in range(0, 230, 64):
        metrics.add(predictions[start:start + 64], labels[start:start + 64])
    result = metrics.result()
    assert result["example_count"] == 230
    assert result["gap"] == pytest.approx(reference_gap(predictions, labels, 20), abs=1e-6)
    assert result["hit_at_one"] == pytest.approx(metrics_math.hit_at_one(predictions, labels), abs=1e-9)
    assert result["perr"] == pytest.approx(metrics_math.perr(predictions, labels), abs=1e-9)
    assert result["map"] == pytest.approx(metrics_math.mean_ap(predictions, labels, 20), abs=1e-6)
    assert result["gap_error_bound"] == 0.0


def test_missing_files_are_a_clear_error(tmp_path):
    from yt8m_tfx.command_line import UserError
    with pytest.raises(UserError, match=r"^--eval_data_pattern=.*none\*.tfrecord: no file matches it$"):
        evaluate.evaluate(str(tmp_path), str(tmp_path / "none*.tfrecord"))
