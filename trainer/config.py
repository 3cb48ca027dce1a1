"""Training hyper-parameters: the starter code's defaults, passed to run_fn via custom_config."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping

from yt8m_tfx import features

# Guard for frame-level batches: the padded float input alone is batch x max_frames x 1152 x 4 bytes,
# and the input pipeline holds a few batches at once (decode, pad, prefetch) next to the model.
MAX_FRAME_BATCH_BYTES = 4 * 2**30


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    model: str = "LogisticModel"
    feature_names: str = ""          # "" = every feature of the chosen level
    frame_features: bool = False
    max_frames: int = features.MAX_FRAMES  # frame-level: frames kept per video (truncate / zero-pad)
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
    # Resume (trainer/checkpoints.py): "" disables checkpoints; the pipeline sets <pipeline_root>/checkpoints.
    checkpoint_dir: str = ""
    checkpoint_steps: int = 100      # save (and log eval GAP to TensorBoard) this often
    start_new_model: bool = False    # the starter code's --start_new_model: ignore existing checkpoints
    hparams: Dict[str, Any] = dataclasses.field(default_factory=dict)  # model-specific, e.g. moe_num_mixtures

    def __post_init__(self):
        if self.frame_features:
            batch_bytes = features.frame_batch_bytes(self.batch_size, self.max_frames)
            if batch_bytes > MAX_FRAME_BATCH_BYTES:
                raise ValueError(
                    f"frame-level batch of {self.batch_size} videos x {self.max_frames} frames is "
                    f"{batch_bytes / 2**30:.1f} GiB of floats; use --batch_size <= "
                    f"{MAX_FRAME_BATCH_BYTES // features.frame_batch_bytes(1, self.max_frames)} "
                    f"or a smaller --max_frames")

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
