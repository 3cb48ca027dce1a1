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
