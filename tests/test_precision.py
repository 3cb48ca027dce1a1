"""--precision: the policy choice (pure), every video-level model training under each mixed policy, and the
exported signatures keeping their dtypes."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from trainer import precision
from trainer.config import TrainerConfig
from trainer.models import model_names
from trainer.run_fn import build_compiled_model, model_input_sizes
from yt8m_tfx import features

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni
processor\t: 1
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni
"""


def test_cpu_flags_are_read_from_cpuinfo():
    assert precision.cpu_flags(CPUINFO) == {"fpu", "sse2", "avx2", "avx512f", "avx512_bf16", "avx512_vnni"}
    assert precision.cpu_flags("processor : 0\n") == frozenset()


@pytest.mark.parametrize("requested, cpu, gpus, chosen", [
    ("auto", {"avx512f", "avx512_bf16"}, (), "mixed_bfloat16"),
    ("auto", {"amx_bf16", "amx_tile"}, (), "mixed_bfloat16"),
    ("auto", {"avx2", "avx512f"}, (), "float32"),
    ("auto", {"avx512_bf16"}, [(7, 5)], "float32"),  # the GPU trains, and a T4 has no native bfloat16
    ("auto", set(), [(8, 0), (9, 0)], "mixed_bfloat16"),
    ("auto", set(), [(8, 6), (7, 0)], "float32"),
    ("mixed_float16", set(), (), "mixed_float16"),
    ("float32", {"avx512_bf16"}, (), "float32"),
])
def test_auto_picks_bfloat16_only_where_the_hardware_computes_it(requested, cpu, gpus, chosen):
    assert precision.choose_precision(requested, cpu, gpus) == chosen


def test_an_unknown_precision_is_a_clear_error():
    with pytest.raises(ValueError, match=r"--precision must be one of .*'float64'"):
        TrainerConfig(precision="float64")
    with pytest.raises(ValueError, match="--precision must be one of"):
        precision.choose_precision("bf16")


def _batch(config, rng, size=8):
    x = {k: rng.standard_normal((size, n)).astype(np.float32) for k, n in model_input_sizes(config).items()}
    y = np.zeros((size, features.NUM_CLASSES), np.float32)
    y[np.arange(size), rng.integers(features.NUM_CLASSES, size=size)] = 1
    return x, y


@pytest.mark.parametrize("policy", [precision.MIXED_BFLOAT16, precision.MIXED_FLOAT16])
@pytest.mark.parametrize("name", model_names(frame_level=False))
def test_each_video_level_model_trains_a_step_under_each_mixed_policy(name, policy):
    config = TrainerConfig(model=name, batch_size=8, precision=policy)
    model = build_compiled_model(config)
    assert keras.mixed_precision.global_policy().name == "float32"  # only this model's layers changed
    compute_dtype = policy.split("_", 1)[1]
    dense = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    assert dense and all(layer.compute_dtype == compute_dtype for layer in dense)
    assert all(v.dtype == tf.float32 for v in model.weights)  # variables stay float32
    x, y = _batch(config, np.random.default_rng(0))
    before = [w.numpy().copy() for w in model.trainable_weights]
    # float16's dynamic loss scale starts high and skips the steps whose gradients overflow while it halves.
    epochs = 12 if policy == precision.MIXED_FLOAT16 else 1
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    out = model(x, training=False)
    assert out.dtype == tf.float32 and out.shape == (8, features.NUM_CLASSES)
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
    if policy == precision.MIXED_FLOAT16:  # float16 needs loss scaling; compile adds it
        assert isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)


def test_bfloat16_scores_agree_with_float32_on_the_same_weights():
    """The same weights under both policies give nearly the same probabilities: bfloat16 changes the
    arithmetic, not the model."""
    rng = np.random.default_rng(1)
    float32 = build_compiled_model(TrainerConfig(model="MoeModel"))
    bfloat16 = build_compiled_model(TrainerConfig(model="MoeModel", precision="mixed_bfloat16"))
    bfloat16.set_weights(float32.get_weights())
    x, _ = _batch(TrainerConfig(), rng, 64)
    x = {k: v / np.linalg.norm(v, axis=1, keepdims=True) for k, v in x.items()}
    exact, rounded = float32(x, training=False).numpy(), bfloat16(x, training=False).numpy()
    np.testing.assert_allclose(rounded, exact, atol=0.01)


def test_a_bfloat16_pipeline_serves_the_same_signature_dtypes(tmp_path, synthetic_video_dir, monkeypatch):
    """The whole pipeline under mixed_bfloat16: the Trainer records the policy, and the exported signatures
    take serialized examples and return float32 probabilities and scores, as under float32."""
    monkeypatch.setattr("sys.argv", ["local_runner.py"])  # Beam/absl parse sys.argv: not pytest's -v -rs
    import local_runner
    from pipeline import outputs
    from trainer import signatures
    root = str(tmp_path / "root")
    local_runner.main(["--data_dir", synthetic_video_dir, "--pipeline_root", root, "--model", "MoeModel",
                       "--precision", "mixed_bfloat16", "--train_steps", "30", "--batch_size", "32",
                       "--gap_threshold", "0.05", "--beam_direct_running_mode", "in_memory"])
    state = json.load(open(os.path.join(outputs.latest_artifact_uri(root, "ModelRun"), "training_state.json")))
    assert state["precision"] == "mixed_bfloat16"
    assert outputs.validation_ok(outputs.latest_artifact_uri(root, "ModelEvaluation"))
    model = tf.saved_model.load(os.path.join(outputs.latest_artifact_uri(root, "Model"), "Format-Serving"))
    expected = {
        signatures.SERVING_SIGNATURE: {signatures.PROBABILITIES_OUTPUT: tf.float32},
        signatures.TOP_K_SIGNATURE: {signatures.VIDEO_ID_OUTPUT: tf.string,
                                     signatures.TOP_K_INDICES_OUTPUT: tf.int64,
                                     signatures.TOP_K_SCORES_OUTPUT: tf.float32}}
    for name, dtypes in expected.items():
        signature = model.signatures[name]
        assert [spec.dtype for spec in signature.structured_input_signature[1].values()] == [tf.string]
        assert {key: spec.dtype for key, spec in signature.structured_outputs.items()} == dtypes


@pytest.mark.parametrize("name", model_names(frame_level=True))
def test_each_frame_level_model_trains_a_step_under_bfloat16(name):
    config = TrainerConfig(model=name, frame_features=True, max_frames=12, batch_size=4, precision="mixed_bfloat16")
    model = build_compiled_model(config)
    rng = np.random.default_rng(0)
    x = {k: rng.standard_normal((4, 12, n)).astype(np.float32) for k, n in model_input_sizes(config).items()}
    x[features.NUM_FRAMES_KEY] = np.array([12, 5, 3, 12], np.int64)  # padded frames are masked in bfloat16 too
    y = np.zeros((4, features.NUM_CLASSES), np.float32)
    y[:, 3] = 1
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][0])
    out = model(x, training=False)
    assert out.dtype == tf.float32 and 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
