import numpy as np
import pytest

from yt8m_tfx import metrics_math
from tests.conftest import real_shards
from tests.reference_metrics import reference_gap, reference_hit_at_one, reference_mean_ap, reference_perr

# Two videos, three classes; worked by hand in the comments below.
PREDICTIONS = np.array([[0.9, 0.8, 0.1],
                        [0.3, 0.7, 0.6]])
LABELS = np.array([[1, 0, 1],
                   [0, 1, 0]])


def test_gap_by_hand_counts_positives_outside_the_top_k():
    # top-2 pairs pooled: 0.9+ 0.8- 0.7+ 0.6-; precision at the hits 1/1 and 2/3;
    # 3 positive labels in total (class 2 of video 1 is outside its top 2) -> (1 + 2/3) / 3.
    assert metrics_math.gap(PREDICTIONS, LABELS, top_k=2) == pytest.approx(5 / 9, abs=1e-12)
    # With top_k=3 the missed positive is found at rank 6: (1 + 2/3 + 3/6) / 3.
    assert metrics_math.gap(PREDICTIONS, LABELS, top_k=3) == pytest.approx((1 + 2 / 3 + 0.5) / 3, abs=1e-12)


def test_hit_at_one_and_perr_by_hand():
    assert metrics_math.hit_at_one(PREDICTIONS, LABELS) == 1.0
    # video 1: two labels, top 2 = classes 0,1 -> 1/2; video 2: one label, top 1 = class 1 -> 1.
    assert metrics_math.perr(PREDICTIONS, LABELS) == pytest.approx(0.75)
    assert metrics_math.hit_at_one(PREDICTIONS, 1 - LABELS) == 0.0


def test_perr_gives_zero_to_videos_without_labels_like_the_seed():
    labels = np.array([[1, 0, 0], [0, 0, 0]])
    assert metrics_math.perr(PREDICTIONS, labels) == pytest.approx(0.5)


def _random_case(rng, videos=300, classes=500):
    predictions = rng.random((videos, classes)).astype(np.float32)
    labels = (rng.random((videos, classes)) < 0.01).astype(np.int64)
    labels[np.arange(videos), rng.integers(classes, size=videos)] = 1
    # Make true classes score higher on average so the metrics are far from 0 and 1.
    predictions = (0.6 * predictions + 0.4 * labels * rng.random((videos, classes))).astype(np.float32)
    return predictions, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_the_naive_reference_on_random_data(seed):
    predictions, labels = _random_case(np.random.default_rng(seed))
    assert metrics_math.gap(predictions, labels) == pytest.approx(reference_gap(predictions, labels), abs=1e-6)
    assert metrics_math.hit_at_one(predictions, labels) == pytest.approx(
        reference_hit_at_one(predictions, labels), abs=1e-12)
    assert metrics_math.perr(predictions, labels) == pytest.approx(reference_perr(predictions, labels), abs=1e-12)


@pytest.mark.parametrize("decimals", [1, 2])
def test_perr_ranks_ties_like_a_stable_full_sort(decimals):
    # Coarse scores tie across each video's top-L boundary, up to whole rows of zeros; label counts vary.
    rng = np.random.default_rng(decimals)
    predictions, labels = _random_case(rng, videos=200, classes=60)
    predictions = np.round(predictions, decimals)
    predictions[:5] = 0.0
    labels[10:20, :12] = 1
    expected = [reference_perr(predictions[i:i + 1], labels[i:i + 1]) for i in range(len(labels))]
    np.testing.assert_allclose(metrics_math.perr_per_video(predictions, labels), expected, atol=1e-12)


def test_gap_state_is_independent_of_batching_and_merge_order():
    rng = np.random.default_rng(7)
    predictions, labels = _random_case(rng, videos=400)
    expected = metrics_math.gap(predictions, labels)
    chunks = np.array_split(np.arange(400), 7)
    states = [metrics_math.GapState().add_videos(predictions[c], labels[c]) for c in chunks]
    for order in (range(7), reversed(range(7)), rng.permutation(7)):
        merged = metrics_math.GapState()
        for i in order:
            merged.merge(states[i])
        assert merged.result() == pytest.approx(expected, abs=1e-9)
        assert merged.error_bound() == 0.0
    # A tree of merges, like a Beam combiner lifting partial accumulators.
    left = metrics_math.GapState().merge(states[0]).merge(states[1]).merge(states[2])
    right = metrics_math.GapState().merge(states[3]).merge(states[4])
    tail = metrics_math.GapState().merge(states[5]).merge(states[6])
    assert left.merge(tail.merge(right)).result() == pytest.approx(expected, abs=1e-9)


def test_gap_ties_are_ordered_the_same_whatever_the_merge_order():
    scores_a, pos_a = np.array([0.5, 0.5]), np.array([True, False])
    scores_b, pos_b = np.array([0.5]), np.array([True])
    ab = metrics_math.GapState().add(scores_a, pos_a, 2).merge(metrics_math.GapState().add(scores_b, pos_b, 1))
    ba = metrics_math.GapState().add(scores_b, pos_b, 1).merge(metrics_math.GapState().add(scores_a, pos_a, 2))
    assert ab.result() == ba.result() == pytest.approx((1 / 2 + 2 / 3) / 3)  # negatives first in a tie


def test_binned_mode_stays_within_its_reported_error_bound():
    predictions, labels = _random_case(np.random.default_rng(11), videos=2000)
    exact = metrics_math.gap(predictions, labels)
    for bins in (100, 10_000):
        state = metrics_math.GapState(max_exact_pairs=1000, num_bins=bins)
        for chunk in np.array_split(np.arange(2000), 10):
            state.merge(metrics_math.GapState(max_exact_pairs=1000, num_bins=bins)
                        .add_videos(predictions[chunk], labels[chunk]))
        assert state.binned
        assert abs(state.result() - exact) <= state.error_bound() + 1e-12
    assert state.error_bound() < 1e-3  # 10k bins: tight


def test_exact_and_binned_states_merge():
    predictions, labels = _random_case(np.random.default_rng(5), videos=200)
    binned = metrics_math.GapState(max_exact_pairs=10).add_videos(predictions[:100], labels[:100])
    exact = metrics_math.GapState(max_exact_pairs=10**9).add_videos(predictions[100:], labels[100:])
    assert binned.binned and not exact.binned
    merged = exact.merge(binned)
    assert merged.binned
    assert abs(merged.result() - metrics_math.gap(predictions, labels)) <= merged.error_bound() + 1e-12


def _ridge_predictions_on_real_shards(train_idx, eval_idx):
    """A closed-form linear model on real shards: realistic (non-random) YT8M scores and labels."""
    import tensorflow as tf
    from yt8m_tfx import features

    def load(paths):
        spec = features.video_level_feature_spec(tf)
        xs, ys = [], []
        for record in tf.data.TFRecordDataset(paths):
            parsed = tf.io.parse_single_example(record, spec)
            xs.append(np.concatenate([parsed["mean_rgb"].numpy(), parsed["mean_audio"].numpy()]))
            y = np.zeros(features.NUM_CLASSES, np.float32)
            y[tf.sparse.to_dense(parsed["labels"]).numpy()] = 1
            ys.append(y)
        return np.stack(xs), np.stack(ys)

    x_train, y_train = load(real_shards(train_idx))
    x_eval, y_eval = load(real_shards(eval_idx))
    weights = np.linalg.solve(x_train.T @ x_train + 10.0 * np.eye(x_train.shape[1]), x_train.T @ y_train)
    # float32 like a model's output (so ties exist and the tie convention is exercised).
    return (1 / (1 + np.exp(-4 * (x_eval @ weights)))).astype(np.float32), y_eval


def test_gap_matches_reference_on_real_yt8m_shards():
    predictions, labels = _ridge_predictions_on_real_shards([0, 1, 2, 3], [64, 65])
    expected = reference_gap(predictions, labels)
    assert expected > 0.2  # a real signal, not noise
    assert metrics_math.gap(predictions, labels) == pytest.approx(expected, abs=1e-6)
    state = metrics_math.GapState()
    for chunk in np.array_split(np.arange(len(labels)), 5)[::-1]:
        state.merge(metrics_math.GapState().add_videos(predictions[chunk], labels[chunk]))
    assert state.result() == pytest.approx(expected, abs=1e-6)


def test_mean_ap_by_hand():
    # top-2 per video: v1 -> class0 0.9+, class1 0.8-; v2 -> class1 0.7+, class2 0.6-.
    # class0: AP 1/1; class1: items 0.8-, 0.7+ -> (1/2)/1; class2: 1 positive never retrieved -> 0.
    assert metrics_math.mean_ap(PREDICTIONS, LABELS, top_k=2) == pytest.approx((1 + 0.5 + 0) / 3)


@pytest.mark.parametrize("seed", [0, 1])
def test_mean_ap_matches_reference_and_merges_in_any_order(seed):
    predictions, labels = _random_case(np.random.default_rng(seed), videos=200, classes=60)
    expected = reference_mean_ap(predictions, labels, top_k=5)
    assert metrics_math.mean_ap(predictions, labels, top_k=5) == pytest.approx(expected, abs=1e-9)
    chunks = np.array_split(np.arange(200), 4)
    merged = metrics_math.MapState()
    for chunk in chunks[::-1]:
        merged.merge(metrics_math.MapState().add_videos(predictions[chunk], labels[chunk], top_k=5))
    assert merged.result() == pytest.approx(expected, abs=1e-9)


def test_mean_ap_binned_mode_within_bound():
    predictions, labels = _random_case(np.random.default_rng(4), videos=400, classes=60)
    exact = metrics_math.mean_ap(predictions, labels)
    state = metrics_math.MapState(max_exact_pairs=500, num_bins=2000)
    for chunk in np.array_split(np.arange(400), 5):
        state.merge(metrics_math.MapState(max_exact_pairs=500, num_bins=2000)
                    .add_videos(predictions[chunk], labels[chunk]))
    assert state.binned
    assert 0 < state.error_bound() < 0.01
    assert abs(state.result() - exact) <= state.error_bound() + 1e-12
