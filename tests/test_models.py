import numpy as np
import pytest
import tensorflow as tf

from trainer import losses
from trainer.config import TrainerConfig
from trainer.models import get_model_builder, model_names
from trainer.run_fn import build_compiled_model, model_input_sizes
from yt8m_tfx import features


@pytest.mark.parametrize("name", model_names(frame_level=False))
def test_model_builds_trains_one_step_and_outputs_probabilities(name):
    config = TrainerConfig(model=name, batch_size=8)
    model = build_compiled_model(config)
    sizes = model_input_sizes(config)
    rng = np.random.default_rng(0)
    x = {k: rng.standard_normal((8, size)).astype(np.float32) for k, size in sizes.items()}
    y = np.zeros((8, features.NUM_CLASSES), np.float32)
    y[np.arange(8), rng.integers(features.NUM_CLASSES, size=8)] = 1
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    out = model.predict(x, verbose=0)
    assert out.shape == (8, features.NUM_CLASSES)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_moe_with_one_mixture_and_zero_gate_bias_halves_the_expert():
    """Gates are a softmax over [expert, dummy]; with all-zero weights each gets 1/2 and the expert says 1/2."""
    model = get_model_builder("MoeModel")({"x": 4}, num_classes=3, hparams={"moe_num_mixtures": 1})
    for w in model.weights:
        w.assign(tf.zeros_like(w))
    np.testing.assert_allclose(model.predict({"x": np.ones((2, 4), np.float32)}, verbose=0), 0.25, atol=1e-6)


def test_feature_names_select_model_inputs():
    assert model_input_sizes(TrainerConfig(feature_names="mean_audio")) == {"mean_audio_xf": 128}


def test_unknown_model_or_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown --model='Nope'"):
        get_model_builder("Nope")
    with pytest.raises(ValueError, match="Unknown --label_loss"):
        losses.get_loss("Nope")


def test_unknown_trainer_setting_is_rejected():
    with pytest.raises(ValueError, match="Unknown trainer settings"):
        TrainerConfig.from_custom_config({"modle": "MoeModel"})


def test_losses_by_hand():
    labels = tf.constant([[1.0, 0.0]])
    predictions = tf.constant([[0.8, 0.3]])
    expected_ce = -(np.log(0.8 + 1e-5) + np.log(1 - 0.3 + 1e-5))
    assert float(losses.cross_entropy_loss(labels, predictions)) == pytest.approx(expected_ce, rel=1e-6)
    # hinge: max(0, 1 - 0.8) + max(0, 1 + 0.3)
    assert float(losses.hinge_loss(labels, predictions)) == pytest.approx(0.2 + 1.3, rel=1e-6)
    log_softmax = np.log(np.exp([0.8, 0.3]) / np.exp([0.8, 0.3]).sum())
    assert float(losses.softmax_loss(labels, predictions)) == pytest.approx(-log_softmax[0], rel=1e-6)


def test_strategy_choice():
    from trainer.distribution import choose_strategy
    two_workers = '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}'
    assert choose_strategy("auto", None, num_gpus=0) == "none"
    assert choose_strategy("auto", None, num_gpus=4) == "mirrored"
    assert choose_strategy("auto", two_workers, num_gpus=0) == "multi_worker"
    assert choose_strategy("mirrored", None, num_gpus=0) == "mirrored"
    with pytest.raises(ValueError, match="Unknown distribution_strategy"):
        choose_strategy("tpu", None, 0)


def test_model_trains_under_mirrored_strategy_on_cpu():
    from trainer.distribution import make_strategy
    strategy = make_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    config = TrainerConfig(model="MoeModel", feature_names="mean_audio", batch_size=4)
    with strategy.scope():
        model = build_compiled_model(config)
    x = {"mean_audio_xf": np.random.default_rng(1).standard_normal((8, 128)).astype(np.float32)}
    y = np.zeros((8, features.NUM_CLASSES), np.float32)
    y[:, 5] = 1
    losses_seen = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history["loss"]
    assert losses_seen[1] < losses_seen[0]
    assert model.predict(x, verbose=0).shape == (8, features.NUM_CLASSES)


def test_regularization_penalty_scales_the_l2_loss_like_the_starter_code():
    def l2_loss(penalty):
        model = build_compiled_model(TrainerConfig(model="MoeModel", regularization_penalty=penalty))
        for w in model.trainable_weights:
            w.assign(tf.ones_like(w))
        return float(tf.add_n(model.losses))
    base = l2_loss(1.0)
    assert base > 0
    assert l2_loss(3.0) == pytest.approx(3 * base, rel=1e-5)
    assert l2_loss(0.0) == 0.0


def test_weight_decay_shrinks_every_weight_by_rate_times_decay_per_step():
    model = build_compiled_model(TrainerConfig(model="LogisticModel", base_learning_rate=0.1, weight_decay=0.5))
    kernel = model.get_layer("predictions_logits").kernel
    kernel.assign(tf.ones_like(kernel))
    # A zero gradient isolates the decay: w <- w - lr * decay * w.
    model.optimizer.apply_gradients([(tf.zeros_like(kernel), kernel)])
    np.testing.assert_allclose(kernel.numpy(), 1 - 0.1 * 0.5, rtol=1e-6)
    assert build_compiled_model(TrainerConfig(model="LogisticModel")).optimizer.weight_decay is None


def test_moe_log_space_mixture_equals_the_probability_formula():
    from trainer.models.video_level import MixtureOfExpertsLogits
    rng = np.random.default_rng(0)
    gates, experts = rng.normal(0, 3, (4, 5, 3)).astype(np.float32), rng.normal(0, 3, (4, 5, 2)).astype(np.float32)
    softmax = np.exp(gates) / np.exp(gates).sum(-1, keepdims=True)
    p = (softmax[..., :-1] / (1 + np.exp(-experts))).sum(-1)
    logits = MixtureOfExpertsLogits()([tf.constant(gates), tf.constant(experts)]).numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), p, rtol=1e-5, atol=1e-6)


def test_moe_mixture_gradient_equals_the_probability_formulas_including_exact_ties():
    """All-zero logits (a blank video at initialisation) tie every term: the gradient must still be exact."""
    from trainer.models.video_level import MixtureOfExpertsLogits
    rng = np.random.default_rng(1)
    gates, experts = rng.normal(0, 2, (6, 5, 3)), rng.normal(0, 2, (6, 5, 2))
    gates[:2], experts[:2] = 0.0, 0.0

    def probability_space(g, e):
        p = tf.reduce_sum(tf.nn.softmax(g)[..., :-1] * tf.sigmoid(e), -1)
        return tf.math.log(p) - tf.math.log(1 - p)

    weights = tf.constant(rng.normal(0, 1, (6, 5)))
    gradients = []
    for formula, dtype in ((MixtureOfExpertsLogits(), tf.float32), (probability_space, tf.float64)):
        g, e = tf.constant(gates, dtype), tf.constant(experts, dtype)
        with tf.GradientTape() as tape:
            tape.watch([g, e])
            loss = tf.reduce_sum(tf.cast(formula([g, e]) if dtype == tf.float32 else formula(g, e), tf.float64)
                                 * weights)
        gradients.append([t.numpy() for t in tape.gradient(loss, [g, e])])
    for ours, reference in zip(*gradients):
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)


def test_cross_entropy_uses_exact_log_odds_and_keeps_the_gradient_when_saturated():
    """A positive class scored at logit -30: the seed's log(p + 1e-5) is flat there, the exact loss is not."""
    import tf_keras as keras
    from trainer.models.video_level import logistic_head
    inputs = keras.Input((1,))
    model = keras.Model(inputs, logistic_head(inputs, 2))
    model.get_layer("predictions_logits").set_weights([np.array([[-30.0, 0.0]], np.float32), np.zeros(2, np.float32)])
    x, y = tf.ones((1, 1)), tf.constant([[1.0, 0.0]])

    @tf.function  # the Keras training path: a graph, where the sigmoid still knows its input
    def loss_and_gradient():
        with tf.GradientTape() as tape:
            loss = losses.cross_entropy_loss(y, model(x))
        return loss, tape.gradient(loss, model.trainable_weights)[0]

    loss, gradient = loss_and_gradient()
    assert float(loss) == pytest.approx(30.0 + np.log(2), rel=1e-4)  # -log sigmoid(-30) - log(1 - 0.5)
    assert abs(float(gradient[0, 0])) == pytest.approx(1.0, rel=1e-4)
    seed_style = losses.cross_entropy_loss(y, tf.constant(model(x).numpy()))  # plain probabilities
    assert float(seed_style) == pytest.approx(-np.log(1e-5) - np.log(0.5 + 1e-5), rel=1e-3)


def test_ensemble_members_each_get_their_own_loss_and_serving_averages_them():
    from trainer.models.ensemble import MEMBER_LOGITS_ATTRIBUTE
    config = TrainerConfig(model="EnsembleModel", feature_names="mean_audio", batch_size=4,
                           hparams={"ensemble_members": "LogisticModel,MoeModel", "input_dropout": 0.0})
    model = build_compiled_model(config)
    x = {"mean_audio_xf": np.random.default_rng(1).standard_normal((4, 128)).astype(np.float32)}
    y = np.zeros((4, features.NUM_CLASSES), np.float32)
    y[:, 7] = 1
    members = [model.get_layer(f"{name}_member") for name in ("LogisticModel", "MoeModel")]
    member_logits = [m(x).numpy() for m in members]
    probabilities = model(x).numpy()
    np.testing.assert_allclose(probabilities, np.mean([1 / (1 + np.exp(-z)) for z in member_logits], 0),
                               rtol=1e-5, atol=1e-6)
    expected = sum(float(tf.reduce_mean(tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(y, z), 1)))
                   for z in member_logits)
    eager = model(x)
    assert getattr(eager, MEMBER_LOGITS_ATTRIBUTE, None) is not None
    assert float(losses.cross_entropy_loss(y, eager)) == pytest.approx(expected, rel=1e-5)


def test_multi_rate_adam_moves_each_members_variables_at_its_own_rate():
    """Ensemble of LogisticModel (0.1) and MoeModel (0.05): trained at 0.05, the logistic member's weights
    take steps twice as long as plain Adam's."""
    from trainer.optimizers import MultiRateAdam
    config = TrainerConfig(model="EnsembleModel", feature_names="mean_audio", batch_size=4,
                           hparams={"ensemble_members": "LogisticModel,MoeModel", "input_dropout": 0.0})
    model = build_compiled_model(config)
    assert isinstance(model.optimizer, MultiRateAdam)
    logistic = model.get_layer("LogisticModel_member").trainable_variables
    moe = model.get_layer("MoeModel_member").trainable_variables
    before = [v.numpy().copy() for v in logistic]
    moe_before = moe[0].numpy().copy()
    x = {"mean_audio_xf": np.random.default_rng(2).standard_normal((4, 128)).astype(np.float32)}
    y = np.zeros((4, features.NUM_CLASSES), np.float32)
    y[:, 3] = 1
    with tf.GradientTape() as tape:
        loss = losses.cross_entropy_loss(y, model(x, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    # Adam's first step moves each weight by lr * g / (|g| + eps) ~ lr: 2 x 0.05 = 0.1 here.
    kernel_step = np.abs(logistic[0].numpy() - before[0])
    assert np.max(kernel_step) == pytest.approx(0.1, rel=1e-3)
    assert np.max(np.abs(moe[0].numpy() - moe_before)) == pytest.approx(0.05, rel=1e-3)  # the ensemble's rate


@pytest.mark.parametrize("multiplier", [1.0, 2.5])
def test_multi_rate_adam_is_keras_adam_with_its_step_scaled(multiplier):
    """The fused update against keras Adam over a few steps of a cosine schedule with gradient clipping."""
    import tf_keras as keras
    from trainer.optimizers import MultiRateAdam
    rng = np.random.default_rng(0)
    start = rng.standard_normal((50, 7)).astype(np.float32)
    keras_weights, our_weights = tf.Variable(start), tf.Variable(start)
    schedule = keras.optimizers.schedules.CosineDecay(0.01, 10)
    keras_adam = keras.optimizers.Adam(schedule, clipnorm=1.0)
    ours = MultiRateAdam(schedule, clipnorm=1.0, rate_multipliers=[([our_weights], multiplier)])
    for scale in (1, 0.01, 3, 1e-4, 1):
        gradient = tf.constant(rng.standard_normal((50, 7)).astype(np.float32) * scale)
        before = keras_weights.numpy()
        keras_adam.apply_gradients([(gradient, keras_weights)])
        keras_weights.assign(before + multiplier * (keras_weights.numpy() - before))
        ours.apply_gradients([(gradient, our_weights)])
    assert np.abs(our_weights.numpy() - start).max() > 0.03 * multiplier  # it moved
    np.testing.assert_allclose(our_weights.numpy(), keras_weights.numpy(), atol=1e-5 * multiplier)


def test_ensemble_can_hold_two_copies_of_a_model_with_their_own_weights():
    from trainer.models.ensemble import rate_multipliers
    model = get_model_builder("EnsembleModel")({"x": 4}, num_classes=3, hparams={
        "ensemble_members": "LogisticModel,LogisticModel,MoeModel"})
    first, second = model.get_layer("LogisticModel_member"), model.get_layer("LogisticModel_2_member")
    assert not np.allclose(first.trainable_weights[0].numpy(), second.trainable_weights[0].numpy())
    assert [m for _, m in rate_multipliers(model, 0.05)] == [pytest.approx(2.0), pytest.approx(2.0), 1.0]


def test_cosine_schedule_falls_from_the_base_rate_to_zero_over_the_training():
    from trainer.optimizers import learning_rate_schedule
    schedule = learning_rate_schedule("cosine", 0.1, total_steps=200, batch_size=1024)
    assert [float(schedule(step)) for step in (0, 100, 200, 300)] == pytest.approx([0.1, 0.05, 0.0, 0.0], abs=1e-7)
    config = TrainerConfig(model="LogisticModel", feature_names="mean_audio", learning_rate_schedule="cosine")
    assert float(build_compiled_model(config, total_steps=200).optimizer.learning_rate) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="needs the training length"):
        build_compiled_model(config)


def test_exponential_schedule_is_the_starter_codes_staircase():
    from trainer.optimizers import learning_rate_schedule
    schedule = learning_rate_schedule("exponential", 0.01, total_steps=0, batch_size=1000,
                                      decay=0.95, decay_examples=4_000_000)
    assert [float(schedule(step)) for step in (0, 3999, 4000, 8000)] == pytest.approx(
        [0.01, 0.01, 0.0095, 0.009025])
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        TrainerConfig(learning_rate_schedule="linear")


def test_the_known_hparam_keys_are_exactly_those_the_models_read():
    import glob
    import os
    import re
    from tests.conftest import PROJECT_ROOT
    from trainer.hparam_keys import INTERNAL_HPARAMS, KNOWN_HPARAMS
    read = set()
    for path in glob.glob(os.path.join(PROJECT_ROOT, "trainer", "models", "*.py")):
        source = open(path).read()
        read |= set(re.findall(r'hparams\.get\("(\w+)"', source))
        read |= set(re.findall(r'_maybe_sample\([^)]*"(\w+)"\)', source))
    assert read == KNOWN_HPARAMS | INTERNAL_HPARAMS


def test_an_unknown_hparam_key_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown --hparam key\(s\) \['mlp_droput'\]; known: .*'mlp_dropout'"):
        TrainerConfig(model="MlpModel", hparams={"mlp_droput": 0.5})
    assert TrainerConfig(model="MlpModel", hparams={"mlp_dropout": 0.5}).hparams["mlp_dropout"] == 0.5
