"""Flags shared by local_runner.py and kubeflow_runner.py: the starter code's training flags.

Both runners build the same TrainerConfig from them, so a model trained locally and on Kubeflow is
configured the same way.
"""
from __future__ import annotations

import argparse

from pipeline import configs
from transform.normalization import DEFAULT_INPUT_NORMALIZATION, INPUT_NORMALIZATIONS
from yt8m_tfx import features


class FlagFileParser(argparse.ArgumentParser):
    """`@recipes/NAME.flags` reads flags from a file: one `--flag=value` (or bare `--flag`) a line,
    blank lines and `#` comments ignored. Flags after the file on the command line override it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fromfile_prefix_chars", "@")
        super().__init__(*args, **kwargs)

    def convert_arg_line_to_args(self, arg_line):
        line = arg_line.split(" #", 1)[0].strip()
        return [] if not line or line.startswith("#") else [line]


def parse_bool(value: str) -> bool:
    """Accepts the starter code's spelling `--frame_features=True` as well as a bare flag."""
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def parse_hparam(text: str):
    """`key=value` with value parsed as int, float, bool or kept as a string."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    for convert in (int, float, parse_bool):
        try:
            return key, convert(value)
        except (ValueError, argparse.ArgumentTypeError):
            pass
    return key, value


def add_ingest_flags(parser: argparse.ArgumentParser):
    """How the data stages read big inputs (both runners)."""
    group = parser.add_argument_group("data stages at scale")
    group.add_argument("--ingest", choices=configs.INGEST_MODES, default=None,
                       help="copy: ImportExampleGen re-writes the shards (shuffled, GZIP; the default, except for "
                            "frame-level data on local_runner.py); import: link the existing shards as the "
                            "Examples artifact, nothing re-written (pipeline/ingest.py)")
    group.add_argument("--stats_sample_rate", type=float, default=configs.STATS_SAMPLE_RATE,
                       help="share of the videos StatisticsGen computes statistics on (default %(default)s: all); "
                            "validation then checks the sample only")


def ingest_mode(args) -> str:
    """local_runner.py's --ingest: as given, else copy for video-level and import for frame-level data
    (configs.FRAME_LEVEL_INGEST). kubeflow_runner.py copies unless told (its pipelines compile elsewhere)."""
    if args.ingest:
        return args.ingest
    return configs.FRAME_LEVEL_INGEST if args.frame_features else configs.INGEST


def add_training_flags(parser: argparse.ArgumentParser):
    data = parser.add_argument_group("features (like the starter code)")
    data.add_argument("--dataset", choices=sorted(features.RELEASES), default=None,
                      help="YouTube-8M release: yt8m-2018 (`id`, 3,862 classes) or yt8m-2017 (`video_id`, 4,716 "
                           "classes, the starter code's); default: detected from the first train record")
    data.add_argument("--frame_features", type=parse_bool, nargs="?", const=True, default=False,
                      help="frame-level SequenceExample input (needs a frame-level --model)")
    data.add_argument("--feature_names", default="", help="comma-separated features, default all")
    data.add_argument("--max_frames", type=int, default=features.MAX_FRAMES,
                      help="frame-level: frames kept per video (longer ones are truncated, shorter zero-padded)")
    data.add_argument("--sample_frames", type=int, default=0,
                      help="frame-level: the model sees N of each video's frames, random in training and "
                           "evenly spaced at serving, sampled before decoding (the TF2 port trains on 30); "
                           "0 = all --max_frames")
    data.add_argument("--normalize_frames", action="store_true",
                      help="frame-level: z-score each frame feature dimension (tf.Transform statistics)")
    data.add_argument("--input_normalization", default=DEFAULT_INPUT_NORMALIZATION,
                      choices=INPUT_NORMALIZATIONS,
                      help="video-level: l2 = each feature to unit norm (the starter code), zscore = per-dimension "
                           "z-score scaled to unit expected norm, none (default %(default)s)")
    model = parser.add_argument_group("model and training")
    model.add_argument("--model", default=configs.MODEL)
    model.add_argument("--label_loss", default="CrossEntropyLoss")
    model.add_argument("--moe_num_mixtures", type=int, default=2)
    model.add_argument("--hparam", type=parse_hparam, action="append", default=[], metavar="KEY=VALUE",
                       help="model hyper-parameter, repeatable, e.g. --hparam dbof_cluster_size=4096")
    model.add_argument("--num_epochs", type=float, default=None,
                       help=f"passes over the training videos; the step count follows from the train split's "
                            f"size (default {configs.NUM_EPOCHS:g} when --train_steps is not given)")
    model.add_argument("--min_train_steps", type=int, default=0,
                       help="with --num_epochs, train at least this many steps: fixed epochs of a small training "
                            "set are few steps (the recipes use 300; default %(default)s)")
    model.add_argument("--train_steps", type=int, default=None,
                       help="total steps instead of --num_epochs; a resumed model trains the remaining ones")
    model.add_argument("--validation_percent", type=float, default=configs.VALIDATION_PERCENT,
                       help="share of the training videos (by id hash) held out to pick the best step; "
                            "0 = no keep-best, train all steps and export the last weights (default %(default)s)")
    model.add_argument("--patience", type=int, default=configs.PATIENCE,
                       help="stop after this many validation evaluations without a better GAP; 0 = never "
                            "(default %(default)s)")
    model.add_argument("--eval_every_steps", type=int, default=0,
                       help="validation GAP interval in steps (default: about once an epoch, at most every 1000)")
    model.add_argument("--eval_steps", type=int, default=configs.EVAL_STEPS)
    model.add_argument("--batch_size", type=int, default=None,
                       help=f"default {configs.BATCH_SIZE} (video-level), "
                            f"{features.FRAME_LEVEL_BATCH_SIZE} (frame-level: 1.4 MB of floats a video)")
    model.add_argument("--base_learning_rate", type=float, default=None,
                       help="Adam learning rate (default: the model's, see trainer/models)")
    from trainer.config import LEARNING_RATE_SCHEDULES, TrainerConfig
    defaults = TrainerConfig()  # the starter code's training flags, with its defaults (one home: TrainerConfig)
    model.add_argument("--learning_rate_schedule", choices=LEARNING_RATE_SCHEDULES,
                       default=defaults.learning_rate_schedule,
                       help="exponential: the starter code's slow staircase decay; cosine: down to 0 over the "
                            "whole training (--num_epochs / --train_steps; raising them later restarts the "
                            "curve higher)")
    model.add_argument("--regularization_penalty", type=float, default=defaults.regularization_penalty,
                       help="weight of the models' L2 terms in the loss (default %(default)s)")
    model.add_argument("--learning_rate_decay", type=float, default=defaults.learning_rate_decay,
                       help="exponential schedule: multiply the rate by this ... (default %(default)s)")
    model.add_argument("--learning_rate_decay_examples", type=int, default=defaults.learning_rate_decay_examples,
                       help="... every this many training examples (default %(default)s)")
    model.add_argument("--clip_gradient_norm", type=float, default=defaults.clip_gradient_norm,
                       help="clip the gradient to this global norm (default %(default)s)")
    model.add_argument("--weight_decay", type=float, default=defaults.weight_decay,
                       help="decoupled weight decay (AdamW): each step shrinks every weight by "
                            "learning rate x this (default %(default)s: plain Adam, as the starter code)")
    model.add_argument("--seed", type=int, default=defaults.seed,
                       help="weights initialisation and shuffling; same seed, same model (default %(default)s)")
    model.add_argument("--start_new_model", type=parse_bool, nargs="?", const=True, default=False,
                       help="do not resume from the last checkpoint of the same training; start over")
    model.add_argument("--checkpoint_steps", type=int, default=100,
                       help="save a checkpoint every this many steps")
    tune = parser.add_argument_group("hyperparameter search (TFX Tuner + KerasTuner)")
    tune.add_argument("--tune", type=parse_bool, nargs="?", const=True, default=False,
                      help="add the Tuner stage: search learning rate, L2 penalty (and MoE mixtures) on the "
                           "validation split, then train with the best")
    tune.add_argument("--tune_trials", type=int, default=6, help="trials of the search (default %(default)s)")
    tune.add_argument("--tune_epochs", type=float, default=10,
                      help="training epochs per trial, best validation GAP of each counts (default %(default)s)")
    model.add_argument("--top_k", type=int, default=features.TOP_K)
    model.add_argument("--top_score_exponent", type=float, default=defaults.top_score_exponent,
                       help="at prediction, divide each video's scores by its top score to this power: lifts "
                            "under-confident videos in GAP's pooled ranking (0 = off; default %(default)s, "
                            "trainer/score_calibration.py)")
    model.add_argument("--class_prior_strength", type=float, default=defaults.class_prior_strength,
                       help="at prediction, move each class's log-odds this far (0..1) towards the release's "
                            "published class frequency, away from the training videos' noisy counts "
                            "(0 = off; default %(default)s; the recipes use 0.5)")
    model.add_argument("--class_frequency_exponent", type=float, default=defaults.class_frequency_exponent,
                       help="at prediction, multiply each class's log-odds by its published frequency over "
                            "a typical label's to this power (0..0.2): frequent classes sharper, rare ones "
                            "flatter (0 = off; default %(default)s; the recipes use 0.03)")
    model.add_argument("--gap_threshold", type=float, default=configs.GAP_THRESHOLD,
                       help="minimum eval GAP for the model to be blessed")


def default_batch_size(args) -> int:
    if args.batch_size is not None:
        return args.batch_size
    return features.FRAME_LEVEL_BATCH_SIZE if args.frame_features else configs.BATCH_SIZE


def training_length(args):
    """(train_steps for the Trainer, num_epochs): --train_steps (then num_epochs 0), else --num_epochs or its
    default (then train_steps 0: run_fn derives the steps from the train split's size)."""
    if args.train_steps is not None and args.num_epochs is not None:
        raise SystemExit("error: give --train_steps or --num_epochs, not both")
    if args.train_steps is not None:
        return args.train_steps, 0.0
    return 0, args.num_epochs if args.num_epochs is not None else configs.NUM_EPOCHS


def trainer_config_from_flags(args, dataset: str = ""):
    """dataset: the release detected from the data (pipeline/data_checks.detect_dataset), else --dataset."""
    from trainer.config import TrainerConfig
    _, num_epochs = training_length(args)
    return TrainerConfig(
        model=args.model, feature_names=args.feature_names, frame_features=args.frame_features,
        dataset=dataset or args.dataset or features.DEFAULT_DATASET,
        label_loss=args.label_loss, batch_size=default_batch_size(args), max_frames=args.max_frames,
        sample_frames=args.sample_frames,
        base_learning_rate=args.base_learning_rate or 0.0, learning_rate_schedule=args.learning_rate_schedule,
        learning_rate_decay=args.learning_rate_decay, learning_rate_decay_examples=args.learning_rate_decay_examples,
        clip_gradient_norm=args.clip_gradient_norm, regularization_penalty=args.regularization_penalty,
        weight_decay=args.weight_decay, seed=args.seed,
        top_k=args.top_k, top_score_exponent=args.top_score_exponent,
        class_prior_strength=args.class_prior_strength, class_frequency_exponent=args.class_frequency_exponent,
        start_new_model=args.start_new_model, checkpoint_steps=args.checkpoint_steps,
        num_epochs=num_epochs, min_train_steps=args.min_train_steps, validation_percent=args.validation_percent,
        patience=args.patience,
        eval_every_steps=args.eval_every_steps,
        hparams={"moe_num_mixtures": args.moe_num_mixtures, **dict(args.hparam)})


def tuning_config_from_flags(args):
    from trainer.config import TuningConfig
    if args.tune and args.validation_percent <= 0:  # said before any stage runs, not inside the Tuner
        raise SystemExit("error: --tune scores its trials on the validation split: give --validation_percent > 0 "
                         "(the video_level_* recipes set 0; add e.g. --validation_percent=5 after the recipe)")
    return TuningConfig(trials=args.tune_trials, epochs_per_trial=args.tune_epochs) if args.tune else None
