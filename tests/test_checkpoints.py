"""Resume-from-checkpoint (trainer/checkpoints.py) and eval summaries, with real tf_keras training."""
import glob
import os

import numpy as np
import tensorflow as tf
import tf_keras as keras

from evaluator_ext import metrics_math
from trainer import checkpoints, eval_summaries, losses
from trainer.models import get_model_builder


def _model():
    model = get_model_builder("MoeModel")({"x": 6}, num_classes=5, hparams={"moe_num_mixtures": 2})
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
                checkpoint_dir="/b")
    assert checkpoints.checkpoint_key(same, "/tg/1", ["/ex/train/*"]) == key
    assert checkpoints.checkpoint_key(dict(config, model="LogisticModel"), "/tg/1", ["/ex/train/*"]) != key
    assert checkpoints.checkpoint_key(dict(config, code_fingerprint="abd"), "/tg/1", ["/ex/train/*"]) != key
    assert checkpoints.checkpoint_key(config, "/tg/2", ["/ex/train/*"]) != key  # new Transform output
    assert checkpoints.checkpoint_key(config, "/tg/1", ["/ex2/train/*"]) != key  # new data


def test_eval_summary_writes_the_metrics_math_values(tmp_path):
    x, y = _data(n=48, seed=1)
    model = _model()
    dataset = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16)
    callback = eval_summaries.EvalMetricsSummary(dataset, steps=3, log_dir=str(tmp_path / "tb"), every=1000,
                                                 top_k=3)
    model.fit({"x": x}, y, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    predictions = model.predict({"x": x}, verbose=0)
    np.testing.assert_allclose(callback.last["gap"], metrics_math.gap(predictions, y, 3), atol=1e-6)
    written = {}
    for event_file in glob.glob(os.path.join(str(tmp_path / "tb"), "events.*")):
        for event in tf.compat.v1.train.summary_iterator(event_file):
            for value in event.summary.value:
                written[value.tag] = float(tf.make_ndarray(value.tensor))
    assert set(written) == {"eval/gap", "eval/hit_at_one", "eval/perr"}
    np.testing.assert_allclose(written["eval/gap"], metrics_math.gap(predictions, y, 3), atol=1e-6)
