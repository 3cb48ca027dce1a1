"""Per-video top-score normalisation (trainer/score_calibration.py): order within a video kept, GAP's pooled
order changed as the numpy formula says, and the exported signatures apply it."""
import numpy as np
import pytest

from evaluator_ext import metrics_math
from trainer.score_calibration import check_top_score_exponent, normalize_by_top_score


def test_normalisation_matches_numpy_and_keeps_each_videos_order():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, (50, 40)) ** 3
    q = normalize_by_top_score(p, 0.25).numpy()
    np.testing.assert_allclose(q, p * p.max(1, keepdims=True) ** -0.25, rtol=1e-6)
    np.testing.assert_array_equal(np.argsort(-q, 1), np.argsort(-p, 1))
    np.testing.assert_allclose(q.max(1), p.max(1) ** 0.75, rtol=1e-6)
    assert q.min() >= 0 and q.max() <= 1
    assert metrics_math.hit_at_one(q, p > 0.5) == metrics_math.hit_at_one(p, p > 0.5)
    np.testing.assert_array_equal(normalize_by_top_score(p, 0.0).numpy(), p)
    np.testing.assert_array_equal(normalize_by_top_score(np.zeros((2, 3)), 0.25).numpy(), 0)  # no division by 0


def test_an_unsure_videos_positives_move_up_the_pooled_ranking():
    # Video 0 is sure of its label and half-believes a wrong one; video 1 is unsure but right. Pooled, video 1's
    # positive (0.45) ranks below video 0's negative (0.5) until its scores are lifted by its low top score.
    p = np.array([[0.95, 0.50, 0.0], [0.0, 0.0, 0.45]])
    labels = np.array([[1, 0, 0], [0, 0, 1]])
    assert metrics_math.gap(p, labels, 3) == pytest.approx((1 + 2 / 3) / 2)
    assert metrics_math.gap(normalize_by_top_score(p, 0.5).numpy(), labels, 3) == pytest.approx(1.0)


def test_exponent_range_is_checked():
    from trainer.config import TrainerConfig
    check_top_score_exponent(0.0)
    with pytest.raises(ValueError, match=r"--top_score_exponent must be in \[0, 1\)"):
        TrainerConfig(top_score_exponent=1.0)
