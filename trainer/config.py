"""Training hyper-parameters: the starter code's defaults, passed to run_fn via custom_config."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional

from yt8m_tfx.code_fingerprint import CUSTOM_CONFIG_KEY
from trainer.hparam_keys import check_hparam_keys
from trainer.precision import PRECISIONS, check_precision
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


# Flag groups of the runners' --help (pipeline/cli.py).
FEATURE_FLAGS = "features (like the starter code)"
TRAINING_FLAGS = "model and training"
TUNING_FLAGS = "hyperparameter search (TFX Tuner + KerasTuner)"
_FLAG = "flag"  # dataclass field metadata key of a setting that is also a flag


def setting(default, help: str, *, group: str = TRAINING_FLAGS, choices=None, flag: str = "",
            flag_default=dataclasses.MISSING):
    """A config field that is also a command-line flag, declared once: pipeline/cli.py adds `--<flag or field
    name>` (type from the default, this help, choices) to both runners and copies its value back, and the
    README's flag table is generated from the runner's flags. flag_default: the flag's default when it differs
    (None: decided from other flags, e.g. the batch size by the data level)."""
    return dataclasses.field(default=default, metadata={_FLAG: {
        "help": help, "group": group, "choices": tuple(choices) if choices else None, "flag": flag,
        "flag_default": default if flag_default is dataclasses.MISSING else flag_default}})


def flag_settings(config_class):
    """(field name, flag name, flag declaration) of each config field that is a flag, in declaration order."""
    return [(f.name, f.metadata[_FLAG]["flag"] or f.name, f.metadata[_FLAG])
            for f in dataclasses.fields(config_class) if _FLAG in f.metadata]


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    model: str = setting("LogisticModel", "the starter code's --model. Video-level: LogisticModel, MoeModel, "
                         "MlpModel, EnsembleModel; frame-level (with --frame_features): FrameLevelLogisticModel, "
                         "DbofModel, LstmModel, NetVLADModel, NeXtVLADModel (default %(default)s)")
    feature_names: str = setting("", "comma-separated features, e.g. mean_rgb or rgb,audio (2016 release: "
                                 "mean_inc3 or inc3; default: every feature of the release at the chosen level)", group=FEATURE_FLAGS)
    frame_features: bool = setting(False, "frame-level SequenceExample input; needs a frame-level --model",
                                   group=FEATURE_FLAGS)
    dataset: str = features.DEFAULT_DATASET  # the release (features.RELEASES): id feature, class count
    max_frames: int = setting(features.MAX_FRAMES, "frame-level: frames kept per video, longer ones truncated, "
                              "shorter ones zero-padded (default %(default)s)", group=FEATURE_FLAGS)
    sample_frames: int = setting(0, "frame-level: the model sees N of each video's frames, random in training "
                                 "and evenly spaced at serving, sampled before decoding; 0 = all --max_frames",
                                 group=FEATURE_FLAGS)
    label_loss: str = setting("CrossEntropyLoss", "CrossEntropyLoss, HingeLoss or SoftmaxLoss "
                              "(default %(default)s)")
    batch_size: int = setting(1024, f"videos a step (default 1024 video-level, "
                              f"{features.FRAME_LEVEL_BATCH_SIZE} frame-level)", flag_default=None)
    base_learning_rate: float = setting(0.0, "Adam learning rate; 0 = the model's own (trainer/models)")
    learning_rate_schedule: str = setting(
        "exponential", "exponential: the starter code's staircase decay; cosine: down to 0 over the whole "
        "training (--num_epochs / --train_steps; raising them later restarts the curve higher)",
        choices=LEARNING_RATE_SCHEDULES)
    learning_rate_decay: float = setting(0.95, "exponential schedule: multiply the rate by this ... "
                                         "(default %(default)s)")
    learning_rate_decay_examples: int = setting(4_000_000, "... every this many training examples "
                                                "(default %(default)s)")
    clip_gradient_norm: float = setting(1.0, "clip the gradient to this global norm (default %(default)s)")
    regularization_penalty: float = setting(1.0, "weight of the models' L2 terms in the loss "
                                            "(default %(default)s)")
    weight_decay: float = setting(0.0, "decoupled weight decay (AdamW): each step shrinks every weight by "
                                  "learning rate x this (default %(default)s: plain Adam, as the starter code)")
    top_k: int = setting(features.TOP_K, "predictions per video in the CSV (default %(default)s)")
    top_score_exponent: float = setting(
        DEFAULT_TOP_SCORE_EXPONENT, "at prediction, divide each video's scores by its top score to this power: "
        "lifts under-confident videos in GAP's pooled ranking, class order within a video unchanged "
        "(0 = off; default %(default)s; trainer/score_calibration.py)")
    # Only the exported model applies the two class corrections: keep-best and the Tuner compare the model's
    # own scores.
    class_prior_strength: float = setting(
        0.0, "at prediction, move each class's log-odds this far (0..1) towards the release's published class "
        "frequency, away from the training videos' noisy counts; needs the release's vocabulary (2018) "
        "(0 = off; default %(default)s; the recipes use 0.5)")
    class_frequency_exponent: float = setting(
        0.0, "at prediction, before that move, multiply each class's log-odds by its published frequency over "
        "a typical label's to this power (0..0.2): frequent classes sharper, rare ones flatter "
        "(0 = off; default %(default)s; the recipes use 0.03)")
    precision: str = setting(
        "float32", "Keras mixed precision: layers compute in bfloat16 / float16, variables, loss, metrics and the "
        "served probabilities stay float32; auto = mixed_bfloat16 where the CPU (avx512_bf16, AMX) or GPU "
        "computes it natively, else float32 (default %(default)s; trainer/precision.py)", choices=PRECISIONS)
    distribution_strategy: str = "auto"  # trainer/distribution.py
    seed: int = setting(0, "weights initialisation and shuffling; same seed, same model (default %(default)s)")
    # Resume (trainer/checkpoints.py): "" disables checkpoints; the pipeline sets <pipeline_root>/checkpoints.
    checkpoint_dir: str = ""
    checkpoint_steps: int = setting(100, "save a checkpoint every this many steps (default %(default)s)")
    # Training length: num_epochs > 0 derives the step count from the train split's size (the seed's
    # --num_epochs); 0 uses the Trainer's train_steps. Its flag is pipeline/cli.py's (it or --train_steps).
    num_epochs: float = 0
    min_train_steps: int = setting(0, "with --num_epochs, train at least this many steps: fixed epochs of a "
                                   "small training set are few steps (the recipes use 300; default %(default)s)")
    validation_percent: float = setting(
        10.0, "keep-best: share of the training videos (by id hash) held out to pick the best step; 0 = no "
        "keep-best, train all steps and export the last weights, as when the share is fewer than 50 videos "
        "(default %(default)s)")
    eval_every_steps: int = setting(0, "keep-best: validation GAP interval in steps (default: about once an "
                                    "epoch, at most every 1000)")
    patience: int = setting(5, "keep-best: stop after this many validation evaluations without a better GAP; "
                            "0 = never (default %(default)s)")
    # Evaluate the held-out videos among the first this-many train batches (~10 % of each; cached in memory).
    validation_batches: int = 50
    start_new_model: bool = setting(False, "do not resume from the last checkpoint of the same training; "
                                    "start over")
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
        features.select_features(self.feature_names, self.frame_features, self.dataset)  # a clear error early
        check_precision(self.precision)
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
            sizes = features.feature_sizes(True, self.dataset)
            batch_bytes = features.frame_batch_bytes(self.batch_size, self.model_frames, sizes)
            if batch_bytes > MAX_FRAME_BATCH_BYTES:
                raise ValueError(
                    f"frame-level batch of {self.batch_size} videos x {self.model_frames} frames is "
                    f"{batch_bytes / 2**30:.1f} GiB of floats; use --batch_size <= "
                    f"{MAX_FRAME_BATCH_BYTES // features.frame_batch_bytes(1, self.model_frames, sizes)} "
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
    trials: int = setting(6, "trials of the search (default %(default)s)", group=TUNING_FLAGS, flag="tune_trials")
    epochs_per_trial: float = setting(10.0, "training epochs per trial, the best validation GAP of each counts "
                                      "(default %(default)s)", group=TUNING_FLAGS, flag="tune_epochs")
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
