"""Frame-level model zoo (trainer/models/frame_level.py, vlad.py) on tiny shapes, real TF."""
import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS before tensorflow)

import functools

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tf_keras.src.saving.serialization_lib import SafeModeScope

from trainer import losses
from trainer.models import MODELS, check_model_matches_data, get_model_builder, is_frame_level, model_names
from trainer.models.frame_level import FrameSampler
from yt8m_tfx import features

SIZES = {"rgb_xf": 8, "audio_xf": 4}
MAX_FRAMES = 12
NUM_CLASSES = 10
HPARAMS = {
    "max_frames": MAX_FRAMES, "dbof_iterations": 6, "dbof_cluster_size": 16, "dbof_hidden_size": 32,
    "lstm_cells": 16, "netvlad_cluster_size": 16, "netvlad_hidden_size": 32,
    "nextvlad_cluster_size": 16, "nextvlad_hidden_size": 32,
    "drop_rate": 0.0,  # so NeXtVLAD is deterministic in training mode too
}
NUM_FRAMES = [3, MAX_FRAMES, 1, 7]  # per video in the test batch: short, full, single frame, middling
# Models that see every valid frame (Dbof samples a few instead).
MASKED_MODELS = ["FrameLevelLogisticModel", "LstmModel", "NetVLADModel", "NeXtVLADModel"]


def build(name, **overrides):
    keras.utils.set_random_seed(0)
    return get_model_builder(name)(SIZES, NUM_CLASSES, {**HPARAMS, **overrides})


@functools.lru_cache(maxsize=None)
def shared(name):
    """One model per name for the tests that only call it: rebuilding retraces (LSTM, ~seconds each)."""
    return build(name)


def batch(num_frames, max_frames=MAX_FRAMES, seed=0):
    rng = np.random.default_rng(seed)
    num_frames = np.asarray(num_frames, np.int64)
    x = {name: rng.standard_normal((len(num_frames), max_frames, size)).astype(np.float32)
         for name, size in SIZES.items()}
    valid = np.arange(max_frames)[None, :] < num_frames[:, None]
    for name in SIZES:
        x[name] *= valid[:, :, None]  # zero padding, as Transform produces
    x[features.NUM_FRAMES_KEY] = num_frames
    return x


def with_noisy_padding(x, seed=1):
    rng = np.random.default_rng(seed)
    noisy = dict(x)
    valid = np.arange(MAX_FRAMES)[None, :] < x[features.NUM_FRAMES_KEY][:, None]
    for name in SIZES:
        noise = 5.0 * rng.standard_normal(x[name].shape).astype(np.float32)
        noisy[name] = np.where(valid[:, :, None], x[name], noise)
    return noisy


def test_registry_marks_frame_level_models():
    assert model_names(frame_level=True) == ["DbofModel", "FrameLevelLogisticModel", "LstmModel", "NeXtVLADModel",
                                             "NetVLADModel"]
    assert sorted(model_names(frame_level=True) + model_names(frame_level=False)) == sorted(MODELS)
    assert is_frame_level("NeXtVLADModel") and not is_frame_level("MoeModel")
    with pytest.raises(ValueError, match=r"choose one of \['EnsembleModel', 'LogisticModel', 'MlpModel', "
                                         r"'MoeModel'\] \(frame-level models need --frame_features"):
        check_model_matches_data("DbofModel", frame_features=False)
    check_model_matches_data("MoeModel", frame_features=False)


def one_step(model, run_eagerly):
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=losses.get_loss("CrossEntropyLoss"),
                  run_eagerly=run_eagerly)
    x = batch(NUM_FRAMES)
    y = np.zeros((len(NUM_FRAMES), NUM_CLASSES), np.float32)
    y[np.arange(len(NUM_FRAMES)), [1, 4, 4, 9]] = 1
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    return x, before, loss


@pytest.mark.parametrize("name", model_names(frame_level=True))
def test_trains_one_step_and_outputs_probabilities(name):
    model = build(name)
    assert sorted(model.input_names) == sorted([*SIZES, features.NUM_FRAMES_KEY])
    # Eager: tracing a Keras train step costs ~10 s a model on 2 CPUs; graph mode is covered below.
    x, before, loss = one_step(model, run_eagerly=True)
    assert np.isfinite(loss)
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    out = model(x, training=False).numpy()
    assert out.shape == (len(NUM_FRAMES), NUM_CLASSES)
    assert np.all((out >= 0) & (out <= 1))


def test_dbof_fit_in_graph_mode():
    """The pipeline trains with model.fit (a traced train step): random frame sampling must trace."""
    model = build("DbofModel")
    x, before, loss = one_step(model, run_eagerly=False)
    assert np.isfinite(loss)
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("name", MASKED_MODELS)
def test_padded_frame_values_do_not_change_outputs(name, training):
    """Training mode too: batch-norm statistics must come from valid frames only."""
    model = shared(name)
    x = batch(NUM_FRAMES)
    clean = model(x, training=training).numpy()
    noisy = model(with_noisy_padding(x), training=training).numpy()
    np.testing.assert_allclose(noisy, clean, rtol=1e-5, atol=1e-6)
    # ...while the valid frames do matter (the mask is not hiding everything).
    other_videos = batch(NUM_FRAMES, seed=2)
    assert not np.allclose(model(other_videos, training=training).numpy(), clean, atol=1e-4)


@pytest.mark.parametrize("name", MASKED_MODELS + ["DbofModel"])
def test_padded_video_predicts_like_the_unpadded_one(name):
    """Same weights, max_frames 12 vs 5: e.g. the LSTM output must be its state at the last valid frame."""
    padded, unpadded = shared(name), build(name, max_frames=5)
    unpadded.set_weights(padded.get_weights())
    x = batch([5, 5, 5])
    short = {k: (v[:, :5] if k in SIZES else v) for k, v in x.items()}
    np.testing.assert_allclose(padded(with_noisy_padding(x), training=False).numpy(),
                               unpadded(short, training=False).numpy(), rtol=1e-5, atol=1e-6)


def test_dbof_inference_is_deterministic_and_training_samples_randomly():
    model = shared("DbofModel")
    x = batch(NUM_FRAMES)
    np.testing.assert_array_equal(model(x, training=False).numpy(), model(x, training=False).numpy())
    assert not np.allclose(model(x, training=True).numpy(), model(x, training=True).numpy())


def test_frame_sampler_picks_only_valid_frames():
    num_frames = tf.constant([1, 4, 12], tf.int64)
    frame_index = tf.tile(tf.range(MAX_FRAMES, dtype=tf.float32)[None, :, None], [3, 1, 2])
    sampler = FrameSampler(8)
    tf.random.set_seed(0)
    for _ in range(5):
        picked, count = sampler([frame_index, num_frames], training=True)
        picked = picked.numpy()[:, :, 0]
        assert np.all(picked < num_frames.numpy()[:, None]) and np.all(picked >= 0)
        np.testing.assert_array_equal(count.numpy(), [8, 8, 8])
    evenly, _ = sampler([frame_index, num_frames], training=False)
    np.testing.assert_array_equal(evenly.numpy()[:, :, 0], [[0] * 8, [0, 0, 1, 1, 2, 2, 3, 3],
                                                            [0, 2, 3, 5, 6, 8, 9, 11]])
    assert len(set(sampler([frame_index, num_frames], training=True)[0].numpy()[2, :, 0])) > 1


@pytest.mark.parametrize("name", model_names(frame_level=True))
def test_config_round_trip_rebuilds_the_same_model(name):
    """Every custom layer is registered and its get_config complete (what keras load_model relies on)."""
    model = shared(name)
    # moe_head's Lambda (video_level.py) only deserialises with safe mode off; SavedModel loading is unaffected.
    with SafeModeScope(False):
        rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    x = batch(NUM_FRAMES)
    np.testing.assert_allclose(rebuilt(x, training=False).numpy(), model(x, training=False).numpy(), rtol=1e-5)


# Saving traces every layer (~10 s a model here): two models cover the sampling and the masked-BN paths.
@pytest.mark.parametrize("name", ["DbofModel", "NeXtVLADModel"])
def test_saved_model_round_trip_and_serving_style_call(name, tmp_path):
    model = shared(name)
    x = batch(NUM_FRAMES)
    expected = model(x, training=False).numpy()  # not predict(): tracing Keras' predict step costs ~15 s
    # The lead's serving signatures call model(dict) inside a tf.function with an unknown batch size.
    spec = {k: tf.TensorSpec([None, MAX_FRAMES, s], tf.float32, name=k) for k, s in SIZES.items()}
    spec[features.NUM_FRAMES_KEY] = tf.TensorSpec([None], tf.int64, name=features.NUM_FRAMES_KEY)
    serve = tf.function(lambda inputs: model(inputs), input_signature=[spec])
    np.testing.assert_allclose(serve(x).numpy(), expected, rtol=1e-5, atol=1e-6)

    path = str(tmp_path / name)
    model.save(path, save_format="tf")
    restored = tf.saved_model.load(path)
    np.testing.assert_allclose(restored(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-6)
    reloaded = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(reloaded(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_bad_hparams_are_clear_errors():
    with pytest.raises(ValueError, match="dbof_pooling_method"):
        build("DbofModel", dbof_pooling_method="attention")
    with pytest.raises(ValueError, match="groups"):
        build("NeXtVLADModel", nextvlad_groups=3)  # rgb expanded to 16 values cannot split into 3 groups
