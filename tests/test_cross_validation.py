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
