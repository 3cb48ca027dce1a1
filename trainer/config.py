"""Training hyper-parameters: the starter code's defaults, passed to run_fn via custom_config."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional

from yt8m_tfx.code_fingerprint import CUSTOM_CONFIG_KEY
from trainer.hparam_keys import check_hparam_keys
from trainer.score_calibration import (DEFAULT_TOP_SCORE_EXPONENT, check_class_frequency_exponent,
                                       check_class_prior_strength, check_top_score_exponent)
from yt8m_tfx import features

# Guard for frame-level batches: the padded float input alone is batch x max_frames x 1152 x 4 bytes,
# and the input pipeline holds a few batches at once (decode, pad, prefetch) next to the model.
MAX_FRAME_BATCH_BYTES = 4 * 2**30
# Tuned model hyper-parameters are named "hparams.<key>" (e.g. hparams.moe_num_mixtures); others are fields.
HPARAM_PREFIX = "hparams."
# --learning_rate_schedule values (built by trainer/optimizers.learning_rate_schedule).
LEARNING_RATE_SCHEDULES = ("exponential", "cosine")


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    model: str = "LogisticModel"
    feature_names: str = ""          # "" = every feature of the chosen level
    frame_features: bool = False
    dataset: str = features.DEFAULT_DATASET  # the release (features.RELEASES): id feature, class count
    max_frames: int = features.MAX_FRAMES  # frame-level: frames kept per video (truncate / zero-pad)
    # Frame-level: the model sees this many frames of each video (random in training, evenly spaced at
    # serving), sampled before decoding (trainer/frame_sampling.py); 0 = all max_frames.
    sample_frames: int = 0
    label_loss: str = "CrossEntropyLoss"
    batch_size: int = 1024
    base_learning_rate: float = 0.0  # 0: the model's own default (trainer/models: ModelSpec.learning_rate)
    learning_rate_schedule: str = "exponential"  # or "cosine" (to 0 over the training): trainer/optimizers.py
    learning_rate_decay: float = 0.95
    learning_rate_decay_examples: int = 4_000_000
    clip_gradient_norm: float = 1.0
    regularization_penalty: float = 1.0
    # Decoupled weight decay (AdamW, Loshchilov & Hutter): every step shrinks each weight by learning rate x
    # weight_decay. 0 = plain Adam (the starter code). On real data one MlpModel gains 0.003 GAP at 0.5; the
    # recipes' ensemble and 1024-unit MLP gain nothing, so they do not use it (bench/results/video_models.json).
    weight_decay: float = 0.0
    top_k: int = features.TOP_K
    # Prediction-time per-video normalisation (trainer/score_calibration.py): scores / top score^this; 0 = off.
    top_score_exponent: float = DEFAULT_TOP_SCORE_EXPONENT
    # Prediction-time move of each class's log-odds towards the release's published class frequency
    # (trainer/score_calibration.py); 0 = off. Needs the release's vocabulary (2018); ignored without one.
    # Only the exported model applies it: keep-best and the Tuner compare the model's own scores.
    class_prior_strength: float = 0.0
    # Before that shift, each class's log-odds x (published frequency / a typical label's)^this; 0 = off.
    class_frequency_exponent: float = 0.0
    distribution_strategy: str = "auto"  # trainer/distribution.py
    seed: int = 0                    # weights init and shuffling; reruns give the same model
    # Resume (trainer/checkpoints.py): "" disables checkpoints; the pipeline sets <pipeline_root>/checkpoints.
    checkpoint_dir: str = ""
    checkpoint_steps: int = 100      # save a checkpoint this often
    # Training length: num_epochs > 0 derives the step count from the train split's size (the seed's
    # --num_epochs); 0 uses the Trainer's train_steps.
    num_epochs: float = 0
    # With num_epochs, at least this many steps: the recipes' fixed epochs are tuned for ~20k videos and
    # are too few steps for a few thousand (on 2.4k real videos 20 epochs are 47 steps: GAP 0.49; 300+: 0.58).
    min_train_steps: int = 0
    # Keep-best (trainer/keep_best.py): hold out this share of the training videos (by id hash), evaluate
    # GAP on it every eval_every_steps (0: about once an epoch), export the best weights and stop after
    # `patience` evaluations without improvement (0: never stop early). validation_percent=0 turns it off.
    validation_percent: float = 10.0
    eval_every_steps: int = 0
    patience: int = 5
    # Evaluate the held-out videos among the first this-many train batches (~10 % of each; cached in memory).
    validation_batches: int = 50
    start_new_model: bool = False    # the starter code's --start_new_model: ignore existing checkpoints
    hparams: Dict[str, Any] = dataclasses.field(default_factory=dict)  # model-specific, e.g. moe_num_mixtures

    def __post_init__(self):
        if self.min_train_steps < 0:
            raise ValueError(f"--min_train_steps must be >= 0, got {self.min_train_steps}")
        if not 0 <= self.validation_percent < 100:
            raise ValueError(f"--validation_percent must be in [0, 100), got {self.validation_percent}")
        check_hparam_keys(self.hparams)
        check_top_score_exponent(self.top_score_exponent)
        check_class_prior_strength(self.class_prior_strength)
        check_class_frequency_exponent(self.class_frequency_exponent)
        features.release(self.dataset)
        if self.learning_rate_schedule not in LEARNING_RATE_SCHEDULES:
            raise ValueError(f"--learning_rate_schedule must be one of {LEARNING_RATE_SCHEDULES}, "
                             f"got {self.learning_rate_schedule!r}")
        if self.num_epochs < 0 or self.patience < 0:
            raise ValueError("--num_epochs and --patience must not be negative")
        if self.sample_frames and not self.frame_features:
            raise ValueError("--sample_frames samples frames: it needs --frame_features")
        if not 0 <= self.sample_frames <= self.max_frames:
            raise ValueError(f"--sample_frames must be in [0, --max_frames={self.max_frames}], "
                             f"got {self.sample_frames}")
        if self.frame_features:
            batch_bytes = features.frame_batch_bytes(self.batch_size, self.model_frames)
            if batch_bytes > MAX_FRAME_BATCH_BYTES:
                raise ValueError(
                    f"frame-level batch of {self.batch_size} videos x {self.model_frames} frames is "
                    f"{batch_bytes / 2**30:.1f} GiB of floats; use --batch_size <= "
                    f"{MAX_FRAME_BATCH_BYTES // features.frame_batch_bytes(1, self.model_frames)} "
                    f"or fewer frames (--sample_frames, --max_frames)")

    @property
    def model_frames(self) -> int:
        """Frames per video in the model's input: the sample, else max_frames."""
        return self.sample_frames or self.max_frames

    @property
    def num_classes(self) -> int:
        return features.release(self.dataset).num_classes

    def to_custom_config(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_custom_config(cls, custom_config: Mapping[str, Any] | None) -> "TrainerConfig":
        custom_config = dict(custom_config or {})
        custom_config.pop(CUSTOM_CONFIG_KEY, None)  # cache key only
        # TFX's Vertex Trainer extension passes its own keys (ai_platform_*) through to run_fn.
        custom_config = {k: v for k, v in custom_config.items() if not k.startswith("ai_platform_")}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(custom_config) - known)
        if unknown:
            raise ValueError(f"Unknown trainer settings {unknown}; known: {sorted(known)}")
        return cls(**custom_config)


@dataclasses.dataclass(frozen=True)
class TuningConfig:
    """The Tuner stage's budget (trainer/tuning.py), passed in its custom_config under "tuning"."""
    trials: int = 6
    epochs_per_trial: float = 10   # each trial trains this many epochs (keep-best picks its best step)
    seed: int = 0


def apply_hyperparameters(config: TrainerConfig, values: Optional[Mapping[str, Any]]) -> TrainerConfig:
    """TrainerConfig with tuned values: fields by name, model hparams as "hparams.<key>"."""
    if not values:
        return config
    fields = {f.name for f in dataclasses.fields(TrainerConfig)}
    updates, hparams = {}, dict(config.hparams)
    for name, value in values.items():
        if name.startswith(HPARAM_PREFIX):
            hparams[name[len(HPARAM_PREFIX):]] = value
        elif name in fields:
            updates[name] = value
        else:
            raise ValueError(f"tuned hyperparameter {name!r} is neither a trainer setting nor 'hparams.<key>'")
    return dataclasses.replace(config, hparams=hparams, **updates)


def hyperparameter_values(fn_args_hyperparameters: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The values of a KerasTuner HyperParameters config (what the TFX Trainer hands run_fn)."""
    return dict((fn_args_hyperparameters or {}).get("values", {}))
