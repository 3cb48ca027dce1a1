"""Training hyper-parameters: the starter code's defaults, passed to run_fn via custom_config."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    model: str = "LogisticModel"
    feature_names: str = ""          # "" = every feature of the chosen level
    frame_features: bool = False
    label_loss: str = "CrossEntropyLoss"
    batch_size: int = 1024
    base_learning_rate: float = 0.01
    learning_rate_decay: float = 0.95
    learning_rate_decay_examples: int = 4_000_000
    clip_gradient_norm: float = 1.0
    regularization_penalty: float = 1.0
    top_k: int = 20
    distribution_strategy: str = "auto"  # trainer/distribution.py
    seed: int = 0                    # weights init and shuffling; reruns give the same model
    hparams: Dict[str, Any] = dataclasses.field(default_factory=dict)  # model-specific, e.g. moe_num_mixtures

    def to_custom_config(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_custom_config(cls, custom_config: Mapping[str, Any] | None) -> "TrainerConfig":
        custom_config = dict(custom_config or {})
        custom_config.pop("code_fingerprint", None)  # cache key only (pipeline/code_fingerprint.py)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(custom_config) - known)
        if unknown:
            raise ValueError(f"Unknown trainer settings {unknown}; known: {sorted(known)}")
        return cls(**custom_config)
