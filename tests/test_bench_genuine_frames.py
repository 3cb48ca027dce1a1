"""bench/genuine_frames.py's folds and scores, and the README table generated from its results."""

import numpy as np
import pytest

from bench import genuine_frames, report
from tests.conftest import assert_readme_table_current


def test_folds_hold_every_file_out_once_by_position():
    files = [f"clippedtrain{i:04d}.tfrecord" for i in range(32)]
    folds = genuine_frames.fold_files(reversed(files))
    assert [len(fold) for fold in folds] == [8] * 4
    assert sorted(f for fold in folds for f in fold) == files
    assert folds[3] == files[3::4]  # the tests' held-out split (conftest.genuine_frame_split) is fold 3


def test_average_precision_is_sklearns():
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores, positive = rng.random(50), rng.random(50) < 0.3
        if positive.any():
            assert genuine_frames.average_precision(scores, positive) == pytest.approx(
                average_precision_score(positive, scores), abs=1e-12)
    assert genuine_frames.average_precision(np.ones(3), np.zeros(3, bool)) is None  # no positive: no AP


def test_pooled_quality_by_hand():
    probabilities = np.zeros((3, 3862))
    probabilities[0, 170], probabilities[0, 709] = 0.9, 0.1   # Cat video, Cat first: a hit
    probabilities[1, 709], probabilities[1, 170] = 0.8, 0.3   # Cat video, Bear first: a miss
    probabilities[2, 709], probabilities[2, 170] = 0.7, 0.2   # Bear video: a hit
    quality = genuine_frames.pooled_quality(probabilities, [[170], [170], [709]])
    assert quality["hit_at_one"] == pytest.approx(2 / 3, abs=1e-4)
    assert quality["majority_class_hit_at_one"] == pytest.approx(2 / 3, abs=1e-4)
    # Cat scores 0.9 (Cat), 0.3 (Cat), 0.2 (Bear): AP 1; Bear scores 0.8 (Cat), 0.7 (Bear), 0.1: AP 1/2.
    assert quality["class_ap"]["Cat"] == 1.0 and quality["class_ap"]["Bear"] == 0.5
    assert quality["class_ap"]["Tiger"] is None and quality["mean_class_ap"] is None  # not every class has one


def test_readme_table_is_generated_from_the_results():
    assert_readme_table_current("genuine_frames", report.render_genuine_frames, "frame-level")


def test_folds_measured_apart_pool_to_the_quality_of_all_videos_at_once():
    """A slow setting's folds run in separate sittings: the scores each fold keeps pool to the same quality
    as all the folds' probabilities together; only same-flag folds not run now are kept."""
    rng = np.random.default_rng(0)
    classes = list(genuine_frames.CLASSES)
    probabilities = rng.random((40, 3862)) * 0.5
    labels = [[classes[i % 5]] + ([classes[(i + 1) % 5]] if i % 3 == 0 else []) for i in range(40)]
    for i, video in enumerate(labels):
        probabilities[i, video[0]] += rng.random()  # a learnable signal, sometimes beaten by noise
    rows = [{"fold": k, "scores": genuine_frames.fold_scores(probabilities[k::4], [f"v{i}" for i in range(k, 40, 4)],
                                                             labels[k::4])} for k in range(4)]
    flags = genuine_frames.setting_flags("LstmModel", "defaults")
    previous = {"flags": flags, "fold_runs": rows[:3] + [{"fold": 3, "scores": None}]}
    kept = genuine_frames.kept_folds(previous, flags, running=[2])
    assert sorted(kept) == [0, 1]  # fold 2 is being run again; fold 3 kept no scores
    assert genuine_frames.kept_folds(previous, flags + ["--sample_frames=60"], running=[]) == {}
    order = [i for k in range(4) for i in range(k, 40, 4)]
    pooled = genuine_frames.scores_quality(genuine_frames.pooled_scores(rows))
    assert pooled == genuine_frames.pooled_quality(probabilities[order], [labels[i] for i in order])
    assert pooled["videos"] == 40 and pooled["mean_class_ap"] is not None


def test_a_model_that_ranks_one_class_first_for_every_video_is_named_in_the_notes():
    names = {"170": "Cat", "709": "Bear"}
    constant = {"fold_runs": [{"scores": {"top_class": [170, 170]}}, {"scores": {"top_class": [170]}}]}
    varied = {"fold_runs": [{"scores": {"top_class": [170, 709]}}]}
    assert report.one_top_class(constant, names) == "Cat"
    assert report.one_top_class(varied, names) is None
    assert report.one_top_class({"fold_runs": [{}]}, names) is None  # an older row without per-video scores
