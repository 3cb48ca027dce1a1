"""bench/cross_validation.py: the folds, the flags it accepts, and one fold trained with the project's code."""
import numpy as np
import pytest

from bench import cross_validation
from bench.video_models import recipe_path


def test_folds_are_whole_consecutive_shards_each_held_out_once():
    folds = cross_validation.fold_shards(10)
    assert len(folds) == 10 and all(len(fold) == 8 for fold in folds)
    assert folds[0] == list(range(0, 8)) and folds[-1] == list(range(72, 80))
    assert sorted(s for fold in folds for s in fold) == list(range(80))
    with pytest.raises(ValueError, match="divide"):
        cross_validation.fold_shards(3)


def test_a_recipe_gives_its_model_and_normalisation():
    config, normalization = cross_validation.training_setup(["@" + recipe_path("video_level_best")])
    assert config.model == "EnsembleModel" and config.num_epochs == 18
    assert config.learning_rate_schedule == "cosine" and normalization == "l2"
    # A later flag overrides the recipe, as on the local_runner.py command line.
    config, _ = cross_validation.training_setup(["@" + recipe_path("video_level_best"), "--num_epochs=3"])
    assert config.num_epochs == 3


def test_setups_that_hold_videos_out_for_keep_best_are_refused():
    with pytest.raises(SystemExit, match="validation_percent=0"):
        cross_validation.training_setup(["--model=LogisticModel", "--num_epochs=2"])


def test_one_fold_trains_and_predicts_scores_as_the_pipeline_exports_them():
    flags = ["--model=LogisticModel", "--num_epochs=1", "--validation_percent=0", "--batch_size=64"]
    rng = np.random.default_rng(0)
    unit = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731  (as l2)
    inputs = lambda n: {"mean_rgb_xf": unit(rng.normal(size=(n, 1024))),  # noqa: E731
                        "mean_audio_xf": unit(rng.normal(size=(n, 128)))}
    train, test = inputs(200), inputs(30)
    scores = {}
    for exponent in (0.0, 0.25):
        config, _ = cross_validation.training_setup([*flags, f"--top_score_exponent={exponent}"])
        labels = (np.random.default_rng(1).random((200, config.num_classes)) < 0.001).astype(np.uint8)
        scores[exponent] = cross_validation.train_and_predict(config, train, labels, test, seed=0)
    raw = scores[0.0]
    assert raw.shape == (30, config.num_classes) and ((raw > 0) & (raw < 1)).all()
    # Same seed, same model; the exported scores are divided by each video's top score^0.25.
    np.testing.assert_allclose(scores[0.25], raw / raw.max(axis=1, keepdims=True) ** 0.25, rtol=1e-5)
    # With the class prior correction: each class's log-odds scaled by its published frequency's factor, then
    # moved by the shift from this fold's training labels.
    from trainer.score_calibration import class_log_odds_scale, class_prior_shift
    from yt8m_tfx import class_names
    config, _ = cross_validation.training_setup([*flags, "--top_score_exponent=0", "--class_prior_strength=0.5",
                                                 "--class_frequency_exponent=0.03"])
    corrected = cross_validation.train_and_predict(config, train, labels, test, seed=0)
    published = class_names.release_class_counts(config.dataset)
    shift = class_prior_shift(labels.sum(axis=0), published, 0.5)
    scale = class_log_odds_scale(published, 0.03)
    from scipy.special import logit as log_odds  # scipy ships with TFMA
    np.testing.assert_allclose(log_odds(corrected.astype(np.float64)) - scale * log_odds(raw.astype(np.float64)),
                               np.broadcast_to(shift, raw.shape), atol=2e-3)


def test_the_benchmarks_load_real_shards_as_features_and_multi_hot_labels():
    from bench.video_models import load_split
    from tests.conftest import real_shards
    rgb, audio, labels = load_split(real_shards([0]))
    assert rgb.shape[1:] == (1024,) and audio.shape[1:] == (128,) and labels.shape == (len(rgb), 3862)
    assert set(np.unique(labels)) == {0, 1} and labels.sum(axis=1).min() >= 1  # every video has a label
    assert np.isfinite(rgb).all() and (np.linalg.norm(rgb, axis=1) > 0).all()


def test_results_name_the_recipe_file_not_this_machines_path():
    from bench import common
    assert common.portable_flags(["@" + recipe_path("video_level_best"), "--num_epochs=3", "@/elsewhere/x.flags"]) \
        == ["@recipes/video_level_best.flags", "--num_epochs=3", "@/elsewhere/x.flags"]


def test_a_subset_of_folds_is_named_apart_from_the_full_ten_fold_row():
    assert cross_validation.parse_fold_list("0-3,20-23", 40) == [0, 1, 2, 3, 20, 21, 22, 23]
    assert cross_validation.parse_fold_list("7", 10) == [7]
    for bad in ("0-3,2", "38-40", ""):
        with pytest.raises(ValueError, match="run_folds"):
            cross_validation.parse_fold_list(bad, 40)
    assert cross_validation.run_name("video_level_best", None, 10, None) == "recipe:video_level_best"
    assert cross_validation.run_name("video_level_best", None, 40, "0-3") == "recipe:video_level_best (40-fold, folds 0-3)"
    assert cross_validation.run_name(None, "mlp", 10, "2") == "mlp (folds 2)"


def test_more_training_videos_a_fold_are_compared_with_the_ten_fold_run_on_the_same_videos():
    # 40-fold folds 0-3 hold out validate0000-0007, the 10-fold run's fold 0: scored together they are
    # compared with that fold; the 10-fold folds this run did not score in full are left out.
    rng = np.random.default_rng(0)
    shard = np.repeat(np.arange(80), 5)
    labels = (rng.random((400, 6)) < 0.3).astype(np.uint8)
    labels[:, 0] = 1
    scores = rng.random((400, 6)).astype(np.float32)
    scored = shard < 10  # all of 0000-0007, part of 0008-0015
    gaps = cross_validation.gap_by_reference_fold(scores, labels, shard, scored, top_k=3)
    from yt8m_tfx import metrics_math
    assert list(gaps) == ["validate0000-0007"]
    assert gaps["validate0000-0007"] == pytest.approx(metrics_math.gap(scores[:40], labels[:40], 3))
    reference = {"train_videos_per_fold": 20781,
                 "fold_runs": [{"held_out_shards": "validate0000-0007", "gap": 0.5},
                               {"held_out_shards": "validate0008-0015", "gap": 0.9}]}
    paired = cross_validation.paired_gain({"gap_by_reference_fold": gaps}, reference)
    assert paired["mean_gain"] == pytest.approx(gaps["validate0000-0007"] - 0.5)
    assert [p["held_out_shards"] for p in paired["folds"]] == ["validate0000-0007"]


def test_the_report_states_the_paired_gain_under_the_cross_validation_table():
    from bench import report
    run = {"train_videos_per_fold": 22497, "videos": 4584, "seconds": 10.0, "fold_gap_mean": 0.72,
           "fold_gap_std": 0.01, "pooled": {"gap": 0.72, "hit_at_one": 0.8, "perr": 0.67, "map": 0.2},
           "paired": {"reference_train_videos_per_fold": 20781, "mean_gain": 0.0042,
                      "folds": [{"held_out_shards": "validate0000-0007", "reference_gap": 0.7158, "gap": 0.72}]}}
    text = "\n".join(report.full_size_lines({"cross_validation": {"runs": {"recipe:x (40-fold, folds 0-3)": run}}}))
    assert "| recipe `x` (40-fold, folds 0-3) | 22,497 | 4,584 | 0.7200 |" in text
    assert "20,781 → 22,497 training videos a fold: **+0.0042 GAP** (validate0000-0007 0.7158 → 0.7200)" in text
