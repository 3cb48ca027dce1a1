"""Every model hyper-parameter key that `--hparam KEY=VALUE` may set (some model in trainer/models reads it).

A typo in a flag or a recipe (`mlp_droput=0.5`) would otherwise be silently ignored and the run would train
with the default; TrainerConfig rejects unknown keys instead. tests/test_models.py checks this list against
the keys the model code actually reads.
"""
from __future__ import annotations

from typing import Iterable

KNOWN_HPARAMS = frozenset({
    # every model
    "l2_penalty", "input_dropout",
    # MoeModel, MlpModel (mlp_head=moe), frame-level MoE heads
    "moe_num_mixtures",
    # MlpModel
    "mlp_hidden_size", "mlp_dropout", "mlp_context_gating", "mlp_head",
    # EnsembleModel
    "ensemble_members",
    # frame-level
    "dbof_cluster_size", "dbof_hidden_size", "dbof_iterations", "dbof_add_batch_norm", "dbof_pooling_method",
    "lstm_cells", "lstm_layers",
    "netvlad_cluster_size", "netvlad_hidden_size", "netvlad_relu", "netvlad_add_batch_norm", "netvlad_iterations",
    "nextvlad_cluster_size", "nextvlad_hidden_size", "nextvlad_groups", "nextvlad_expansion",
    "gating", "gating_reduction", "drop_rate", "sample_random_frames",
})
# Set by the Trainer from its own flags, not by --hparam.
INTERNAL_HPARAMS = frozenset({"max_frames"})


def check_hparam_keys(keys: Iterable[str]) -> None:
    unknown = sorted(set(keys) - KNOWN_HPARAMS - INTERNAL_HPARAMS)
    if unknown:
        raise ValueError(f"Unknown --hparam key(s) {unknown}; known: {sorted(KNOWN_HPARAMS)}")
