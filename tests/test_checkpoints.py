"""Resume-from-checkpoint (trainer/checkpoints.py), with real tf_keras training."""
import glob

import numpy as np
import tf_keras as keras

from trainer import checkpoints, losses
from trainer.models import get_model_builder


def _model():
    # No dropout: the resume test compares one more step of two models, which must be deterministic.
    model = get_model_builder("MoeModel")({"x": 6}, num_classes=5,
                                          hparams={"moe_num_mixtures": 2, "input_dropout": 0.0})
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=losses.get_loss("CrossEntropyLoss"))
    return model


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, :5] > 0.5).astype(np.float32)
    return x, y


def test_resume_continues_step_counter_weights_and_optimizer_state(tmp_path):
    x, y = _data()
    first = _model()
    saver = checkpoints.TrainingCheckpoints(first, str(tmp_path / "ckpt"))
    assert saver.restore_or_start(start_new_model=False) == 0  # nothing to resume yet
    first.fit({"x": x}, y, batch_size=16, epochs=2, verbose=0)  # 8 steps
    saver.save()

    second = _model()
    resumed = checkpoints.TrainingCheckpoints(second, str(tmp_path / "ckpt"))
    assert resumed.restore_or_start(start_new_model=False) == 8
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Adam's moments came back too: one more step from either model lands on the same weights.
    first.fit({"x": x[:16]}, y[:16], batch_size=16, epochs=1, verbose=0, shuffle=False)
    second.fit({"x": x[:16]}, y[:16], batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert int(second.optimizer.iterations.numpy()) == 9
    for a, b in zip(first.trainable_weights, second.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_start_new_model_ignores_and_removes_old_checkpoints(tmp_path):
    x, y = _data()
    model = _model()
    saver = checkpoints.TrainingCheckpoints(model, str(tmp_path / "ckpt"))
    model.fit({"x": x}, y, batch_size=16, epochs=1, verbose=0)
    saver.save()
    fresh = checkpoints.TrainingCheckpoints(_model(), str(tmp_path / "ckpt"))
    assert fresh.restore_or_start(start_new_model=True) == 0
    assert not glob.glob(str(tmp_path / "ckpt" / "ckpt-*"))


def test_save_every_steps_and_at_the_end(tmp_path):
    x, y = _data(n=112)
    model = _model()
    saver = checkpoints.TrainingCheckpoints(model, str(tmp_path / "ckpt"), max_to_keep=5)
    model.fit({"x": x}, y, batch_size=16, epochs=1, verbose=0,
              callbacks=[checkpoints.SaveEverySteps(saver, every=3)])  # 7 steps
    saved = sorted(int(p.split("-")[-1].split(".")[0]) for p in glob.glob(str(tmp_path / "ckpt" / "ckpt-*.index")))
    assert saved == [3, 6, 7]


def test_checkpoint_key_follows_what_is_trained_not_how():
    config = {"model": "MoeModel", "batch_size": 1024, "code_fingerprint": "abc", "start_new_model": False,
              "checkpoint_steps": 100, "distribution_strategy": "auto", "checkpoint_dir": "/a"}
    key = checkpoints.checkpoint_key(config, "/tg/1", ["/ex/train/*"])
    same = dict(config, start_new_model=True, checkpoint_steps=5, distribution_strategy="mirrored",
                checkpoint_dir="/b", num_epochs=50, patience=2)  # longer training of the same model resumes
    assert checkpoints.checkpoint_key(same, "/tg/1", ["/ex/train/*"]) == key
    assert checkpoints.checkpoint_key(dict(config, model="LogisticModel"), "/tg/1", ["/ex/train/*"]) != key
    assert checkpoints.checkpoint_key(dict(config, validation_percent=5), "/tg/1", ["/ex/train/*"]) != key
    assert checkpoints.checkpoint_key(dict(config, code_fingerprint="abd"), "/tg/1", ["/ex/train/*"]) != key
    assert checkpoints.checkpoint_key(config, "/tg/2", ["/ex/train/*"]) != key  # new Transform output
    assert checkpoints.checkpoint_key(config, "/tg/1", ["/ex2/train/*"]) != key  # new data
