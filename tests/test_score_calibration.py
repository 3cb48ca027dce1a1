"""Prediction-time score calibration (trainer/score_calibration.py): the per-video top-score normalisation
keeps each video's order and changes GAP's pooled order as the numpy formula says; the class prior shift
and the class frequency scale follow their formulas. The e2e tests check that the exported signatures apply them."""
import numpy as np
import pytest

from yt8m_tfx import metrics_math
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


def test_class_prior_shift_moves_each_class_towards_its_published_frequency():
    from trainer.score_calibration import class_prior_shift
    seen = np.array([30.0, 10, 0, 60])          # 100 training labels
    published = np.array([1000.0, 3000, 2000, 4000])  # the release's shares: 10 / 30 / 20 / 40 %
    shift = class_prior_shift(seen, published, 0.5)
    np.testing.assert_allclose(shift, 0.5 * np.log((np.array([10, 30, 20, 40]) + 1) / (seen + 1)), rtol=1e-6)
    assert shift[0] < 0 < shift[1] and shift[2] > shift[1] and shift[3] < 0  # over-seen down, under-seen up
    np.testing.assert_array_equal(class_prior_shift(seen, published, 0.0), 0)
    with pytest.raises(ValueError, match="class counts do not match"):
        class_prior_shift(seen, published[:3], 0.5)
    with pytest.raises(ValueError, match="all zero"):
        class_prior_shift(seen, np.zeros(4), 0.5)


def test_shifted_log_odds_match_numpy_and_fix_a_pooled_ranking():
    from trainer.score_calibration import class_prior_shift, correct_class_log_odds
    p = np.array([[0.6, 0.5], [0.7, 0.05]])
    shift = np.array([-1.0, 0.5], np.float32)
    logit = np.log(p / (1 - p)) + shift
    np.testing.assert_allclose(correct_class_log_odds(p, shift).numpy(), 1 / (1 + np.exp(-logit)), rtol=1e-5)
    np.testing.assert_array_equal(correct_class_log_odds(p, None).numpy(), p)
    # Class 0 was over-represented in training (its scores run high), class 1 under-represented: video 0's
    # true class 1 ranks below its own wrong class 0 until the prior correction.
    labels = np.array([[0, 1], [1, 0]])
    assert metrics_math.gap(p, labels, 2) < 1.0
    corrected = correct_class_log_odds(p, class_prior_shift([30, 1], [10, 10], 1.0)).numpy()
    assert metrics_math.gap(corrected, labels, 2) == pytest.approx(1.0)


def test_frequency_scale_stretches_frequent_classes_log_odds_and_flattens_rare_ones():
    from trainer.score_calibration import class_log_odds_scale, correct_class_log_odds
    published = np.array([10000.0, 1000, 10, 0])
    scale = class_log_odds_scale(published, 0.05)
    log_count = np.log(published + 1)
    typical = (log_count * published).sum() / published.sum()  # the mean over the release's labels
    np.testing.assert_allclose(scale, np.exp(0.05 * (log_count - typical)), rtol=1e-6)
    assert scale[0] > 1 > scale[1] > scale[2] > scale[3] > 0
    np.testing.assert_array_equal(class_log_odds_scale(published, 0.0), 1)
    with pytest.raises(ValueError, match="all zero"):
        class_log_odds_scale(np.zeros(4), 0.05)
    # Scale first, then shift: sigmoid(scale x log-odds + shift), as numpy.
    p = np.array([[0.9, 0.2, 0.01, 0.3], [0.05, 0.6, 0.4, 0.002]])
    shift = np.array([0.0, 0.5, -0.5, 1.0], np.float32)
    expected = 1 / (1 + np.exp(-(scale * np.log(p / (1 - p)) + shift)))
    np.testing.assert_allclose(correct_class_log_odds(p, shift, scale).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(correct_class_log_odds(p, None, scale).numpy(),
                               1 / (1 + np.exp(-scale * np.log(p / (1 - p)))), rtol=1e-5)


def test_class_corrections_turn_on_each_correction_by_its_own_setting():
    from trainer.score_calibration import class_corrections, class_log_odds_scale, class_prior_shift
    published, seen = np.array([10000.0, 1000, 10, 0]), np.array([50.0, 3, 1, 0])
    assert class_corrections(published, 0.0, 0.0) == (None, None)
    shift, scale = class_corrections(published, 0.5, 0.0, seen)
    np.testing.assert_array_equal(shift, class_prior_shift(seen, published, 0.5))
    assert scale is None
    shift, scale = class_corrections(published, 0.0, 0.03)  # the scale needs no training labels
    assert shift is None
    np.testing.assert_array_equal(scale, class_log_odds_scale(published, 0.03))


def test_published_class_counts_ship_for_2018_only_and_strength_is_checked():
    from trainer.config import TrainerConfig
    from yt8m_tfx import class_names
    counts = class_names.release_class_counts("yt8m-2018")
    assert len(counts) == 3862 and counts[0] == 788288 and min(counts) > 0
    assert class_names.release_class_counts("yt8m-2017") is None
    with pytest.raises(ValueError, match=r"--class_prior_strength must be in \[0, 1\]"):
        TrainerConfig(class_prior_strength=1.5)
    with pytest.raises(ValueError, match=r"--class_frequency_exponent must be in \[0, 0.2\]"):
        TrainerConfig(class_frequency_exponent=0.5)
