"""bench/precision.py's FLOP count of a training step, and the README table generated from its results."""

import pytest

from bench import precision as bench_precision, report
from tests.conftest import assert_readme_table_current
from trainer.config import TrainerConfig
from trainer.run_fn import build_compiled_model

RGB_AUDIO, CLASSES = 1024 + 128, 3862


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_a_training_step_counts_each_dense_layers_forward_and_gradient_matmuls(policy):
    """LogisticModel: the forward matmul and the kernel's gradient (no gradient to the inputs); MlpModel's
    second layer adds the gradient to its input, the hidden units: 2 + 3 times each layer's forward FLOPs."""
    batch = 8
    logistic = build_compiled_model(TrainerConfig(model="LogisticModel", precision=policy))
    assert bench_precision.training_step_flops(logistic, batch) == 2 * (2 * batch * RGB_AUDIO * CLASSES)
    mlp = build_compiled_model(TrainerConfig(model="MlpModel", precision=policy))
    assert bench_precision.training_step_flops(mlp, batch) == (2 * (2 * batch * RGB_AUDIO * 2048)
                                                               + 3 * (2 * batch * 2048 * CLASSES))


def test_readme_precision_table_is_generated_from_the_results():
    assert_readme_table_current("precision", report.render_precision, "precision")


def test_profiled_op_time_is_grouped_by_the_layer_class_of_each_op():
    """A real profile of an ensemble of a LogisticModel and a MoeModel: the mixture's ops fall under its
    layer class, the matrix products under matmul, the weight update under optimizer, and shares add to 1."""
    import numpy as np
    import tensorflow as tf
    config = TrainerConfig(model="EnsembleModel", batch_size=64, feature_names="mean_audio",
                           hparams={"ensemble_members": "LogisticModel,MoeModel"})
    model = build_compiled_model(config)
    rng = np.random.default_rng(0)
    x = {"mean_audio_xf": rng.standard_normal((64, 128)).astype(np.float32)}
    y = (rng.random((64, CLASSES)) < 0.001).astype(np.float32)
    shares = bench_precision.profiled_shares(model, tf.data.Dataset.from_tensors((x, y)).repeat())
    assert shares.pop("op_cpu_seconds_per_step") > 0
    assert sum(shares.values()) == pytest.approx(1, abs=0.01)
    for category in ("matmul", "optimizer", "MixtureOfExpertsLogits", "Dropout"):
        assert shares.get(category, 0) > 0, (category, shares)


def test_op_category_takes_the_innermost_layer_of_a_member_and_its_gradient():
    classes = {"MoeModel_member": "Functional", "MoeModel_member/predictions_logits": "MixtureOfExpertsLogits",
               "MlpModel_member/predictions_logits": "Dense", "predictions": "MeanOfSigmoids"}
    category = lambda name: bench_precision.op_category(name, classes, "Adam")
    assert category("EnsembleModel/MoeModel_member/predictions_logits/transpose:Transpose") == "MixtureOfExpertsLogits"
    assert category("gradient_tape/EnsembleModel/MoeModel_member/predictions_logits/Softplus:SoftplusGrad") \
        == "MixtureOfExpertsLogits"
    assert category("EnsembleModel/MlpModel_member/predictions_logits/BiasAdd:BiasAdd") == "Dense"
    assert category("EnsembleModel/MlpModel_member/predictions_logits/BiasAdd:_MklNativeFusedMatMul") == "matmul"
    assert category("EnsembleModel/predictions/Sigmoid:Sigmoid") == "MeanOfSigmoids"
    assert category("Adam/ResourceApplyAdam_3:ResourceApplyAdam") == "optimizer"
    assert category("cross_entropy_loss/Mean:Mean") == "loss and other"


def test_only_op_events_count_not_the_executor_spans_around_them():
    assert bench_precision.is_op_event("AddN_13:AddN")
    assert bench_precision.is_op_event("gradient_tape/EnsembleModel/MoeModel_member/predictions_logits/Neg:Neg")
    for span in ("ExecutorState::Process", "ParallelFor", "Iterator::Prefetch"):
        assert not bench_precision.is_op_event(span)


def test_scoring_speed_is_marginal_so_start_up_cancels():
    from bench import scoring
    small = {"scored_videos": 1000, "stage_seconds": {"Evaluator": 20.0, "BulkInferrer": 10.0,
                                                      "PredictionsCsvExporter": 15.0}}
    large = {"scored_videos": 5000, "stage_seconds": {"Evaluator": 22.0, "BulkInferrer": 14.0,
                                                      "PredictionsCsvExporter": 15.0}}
    assert scoring.marginal_videos_per_second(small, large) == {
        "Evaluator": 2000, "BulkInferrer": 1000, "PredictionsCsvExporter": None}  # None: no growth seen
    large["stage_seconds"]["BulkInferrer"] = None  # a run where the stage did not run
    assert "BulkInferrer" not in scoring.marginal_videos_per_second(small, large)


def test_scoring_runs_each_recipe_with_its_flags_but_not_its_training_length():
    from bench import scoring
    flags = scoring.recipe_flags("video_level_best")
    assert "--model=EnsembleModel" in flags and "--input_normalization=l2" in flags
    assert not [f for f in flags if f.startswith(("--num_epochs", "--min_train_steps", "#"))]
