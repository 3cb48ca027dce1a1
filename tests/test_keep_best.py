"""Keep-best training (trainer/keep_best.py), the id-hash validation split and --num_epochs step counts."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from yt8m_tfx import metrics_math
from trainer import data_split, keep_best, losses
from trainer.models import get_model_builder


def test_validation_split_is_a_stable_share_of_ids():
    ids = tf.constant([f"video{i}".encode() for i in range(20000)])
    mask = data_split.validation_mask(ids, 10).numpy()
    assert 0.09 < mask.mean() < 0.11
    np.testing.assert_array_equal(mask, data_split.validation_mask(ids, 10).numpy())  # same every time
    # A larger share contains the smaller one: growing it never moves a video into training.
    assert np.all(data_split.validation_mask(ids, 20).numpy()[mask])
    assert not data_split.validation_mask(ids, 0).numpy().any()


@pytest.mark.parametrize("examples, epochs, batch, percent, expected", [
    (23091, 30, 1024, 0, 677),     # ceil(30 * 23091 / 1024)
    (23091, 30, 1024, 10, 609),    # ceil(30 * 20781.9 / 1024)
    (2000, 1, 1024, 10, 2),
    (10, 0.01, 1024, 0, 1),        # at least one step
])
def test_steps_for_epochs(examples, epochs, batch, percent, expected):
    assert data_split.steps_for_epochs(examples, epochs, batch, percent) == expected


def test_the_step_floor_must_not_be_negative():
    from trainer.config import TrainerConfig
    assert TrainerConfig(min_train_steps=300).min_train_steps == 300
    with pytest.raises(ValueError, match="--min_train_steps must be >= 0"):
        TrainerConfig(min_train_steps=-1)


def test_evaluation_interval_is_about_an_epoch_and_bounded():
    assert keep_best.evaluation_interval(steps_per_epoch=20, total_steps=600) == 20
    assert keep_best.evaluation_interval(steps_per_epoch=5000, total_steps=150000) == 1000
    assert keep_best.evaluation_interval(steps_per_epoch=200, total_steps=300) == 30  # at least ~10 evaluations


def _model():
    model = get_model_builder("LogisticModel")({"x": 8}, num_classes=6, hparams={})
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=losses.get_loss("CrossEntropyLoss"))
    return model


def _data(n, seed, noise):
    """Labels follow the first 6 inputs; `noise` flips a share of them (a model can overfit the flips)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    y = (x[:, :6] > 0.7).astype(np.float32)
    flips = rng.random(y.shape) < noise
    return x, np.where(flips, 1 - y, y).astype(np.float32)


def test_keep_best_exports_the_peak_and_stops_after_patience(tmp_path):
    """Training data whose labels are mostly noise: validation GAP peaks early, then falls as the model
    memorises the noise. The kept weights must score exactly the recorded best GAP."""
    x, y = _data(64, seed=0, noise=0.45)
    val_x, val_y = _data(256, seed=1, noise=0.0)
    validation = tf.data.Dataset.from_tensor_slices(({"x": val_x}, val_y)).batch(64)
    model = _model()
    selector = keep_best.KeepBest(validation, validation_steps=4, every=2, patience=3, top_k=3,
                                  directory=str(tmp_path / "ckpt"), log_dir=str(tmp_path / "tb"))
    model.fit({"x": x}, y, batch_size=8, epochs=50, verbose=0, callbacks=[selector])
    state = selector.state
    gaps = [h["gap"] for h in state.history]
    assert state.stopped_early and int(model.optimizer.iterations.numpy()) < 400
    assert state.best_gap == pytest.approx(max(gaps), abs=1e-6) and gaps[-1] < state.best_gap
    assert state.evaluations_without_improvement == 3 and state.history[-4]["step"] == state.best_step
    selector.restore_best()
    kept = metrics_math.gap(model.predict({"x": val_x}, verbose=0), val_y, 3)
    assert kept == pytest.approx(state.best_gap, abs=1e-5)
    # The state and the best weights are on disk for a resumed run: a new model loads the same best.
    saved = json.load(open(tmp_path / "ckpt" / keep_best.KEEP_BEST_STATE_FILE))
    assert saved["best_step"] == state.best_step and saved["stopped_early"]
    fresh = _model()
    reloaded = keep_best.KeepBest(validation, 4, every=2, patience=3, top_k=3, directory=str(tmp_path / "ckpt"))
    reloaded.load(fresh)
    assert reloaded.state.best_step == state.best_step
    reloaded.restore_best()
    np.testing.assert_allclose(fresh.predict({"x": val_x}, verbose=0), model.predict({"x": val_x}, verbose=0),
                               atol=1e-6)
    # TensorBoard gets the validation metrics computed by yt8m_tfx.metrics_math.
    written = {}
    for event_file in glob.glob(os.path.join(str(tmp_path / "tb"), "events.*")):
        for event in tf.compat.v1.train.summary_iterator(event_file):
            for value in event.summary.value:
                written.setdefault(value.tag, []).append(float(tf.make_ndarray(value.tensor)))
    assert set(written) == {"validation/gap", "validation/hit_at_one", "validation/perr"}
    np.testing.assert_allclose(written["validation/gap"], gaps, atol=1e-5)


def test_keep_best_without_patience_trains_every_step():
    x, y = _data(64, seed=0, noise=0.45)
    validation = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(64)
    model = _model()
    selector = keep_best.KeepBest(validation, 1, every=4, patience=0, top_k=3)
    model.fit({"x": x}, y, batch_size=8, epochs=3, verbose=0, callbacks=[selector])
    assert not selector.state.stopped_early and int(model.optimizer.iterations.numpy()) == 24
    assert [h["step"] for h in selector.state.history] == [4, 8, 12, 16, 20, 24]


def test_tuned_values_reach_the_trainer_config():
    from trainer.config import TrainerConfig, apply_hyperparameters, hyperparameter_values
    config = TrainerConfig(model="MoeModel", hparams={"moe_num_mixtures": 2})
    tuned = hyperparameter_values({"space": [], "values": {"base_learning_rate": 0.02,
                                                           "hparams.moe_num_mixtures": 4}})
    applied = apply_hyperparameters(config, tuned)
    assert applied.base_learning_rate == 0.02 and applied.hparams == {"moe_num_mixtures": 4}
    assert apply_hyperparameters(config, {}) is config
    with pytest.raises(ValueError, match="neither a trainer setting"):
        apply_hyperparameters(config, {"learning_rat": 0.1})


def test_search_space_is_around_the_models_learning_rate():
    from trainer.config import TrainerConfig
    from trainer.tuning import search_space
    space = {hp.name: hp for hp in search_space(TrainerConfig(model="MoeModel")).space}
    assert space["base_learning_rate"].min_value == pytest.approx(0.05 / 4)
    assert space["base_learning_rate"].max_value == pytest.approx(0.1)
    assert "hparams.moe_num_mixtures" in space
    assert "hparams.moe_num_mixtures" not in {hp.name for hp in search_space(TrainerConfig()).space}


def test_the_same_tuning_seed_samples_the_same_trials():
    # KerasTuner draws a random seed for seed=0 (the default): each run would search different values.
    from trainer.config import TrainerConfig, TuningConfig
    from trainer.tuning import make_oracle

    def first_trials(seed):
        oracle = make_oracle(TrainerConfig(model="MoeModel"), TuningConfig(seed=seed))
        return [oracle.populate_space(f"t{i}")["values"] for i in range(3)]

    assert first_trials(0) == first_trials(0)
    assert first_trials(0) != first_trials(1)


def test_keep_best_needs_enough_validation_videos():
    """A split of a handful of videos cannot pick a step: the Trainer then trains every step on all videos."""
    assert keep_best.validation_too_small(116, 10)          # 12 videos
    assert not keep_best.validation_too_small(2000, 10)     # make run's 200
    assert not keep_best.validation_too_small(240, 25)      # 60
    assert not keep_best.validation_too_small(116, 0)       # keep-best already off
