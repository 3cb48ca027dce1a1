"""bench/genuine_frames.py's folds and scores, and the README table generated from its results."""
import os

import numpy as np
import pytest

from bench import genuine_frames, report
from tests.conftest import PROJECT_ROOT


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
    results = report.load_results()
    if "genuine_frames" not in results:
        pytest.skip("no bench/results/genuine_frames.json")
    readme = open(os.path.join(PROJECT_ROOT, "README.md")).read()
    assert report.render_genuine_frames(results) in readme, "README frame-level table is stale: run `make bench-report`"
