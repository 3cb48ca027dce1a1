"""Flags shared by local_runner.py and kubeflow_runner.py: the starter code's training flags.

Both runners build the same TrainerConfig from them, so a model trained locally and on Kubeflow is
configured the same way.
"""
from __future__ import annotations

import argparse

from pipeline import configs
from trainer.config import flag_settings
from transform.normalization import DEFAULT_INPUT_NORMALIZATION, INPUT_NORMALIZATIONS
from yt8m_tfx import features
from yt8m_tfx.command_line import parse_bool


class FlagFileParser(argparse.ArgumentParser):
    """`@recipes/NAME.flags` reads flags from a file: one `--flag=value` (or bare `--flag`) a line,
    blank lines and `#` comments ignored. Flags after the file on the command line override it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fromfile_prefix_chars", "@")
        super().__init__(*args, **kwargs)

    def convert_arg_line_to_args(self, arg_line):
        line = arg_line.split(" #", 1)[0].strip()
        return [] if not line or line.startswith("#") else [line]


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


def add_setting_flags(parser: argparse.ArgumentParser, groups: dict, config_class):
    """A flag for each setting config_class declares (trainer/config.setting): the one declaration of its
    name, type, default and help. groups: the parser's argument groups by title, added to as needed."""
    for _, flag, declared in flag_settings(config_class):
        default = declared["flag_default"]
        kwargs = dict(default=default, help=declared["help"])
        if isinstance(default, bool):  # `--flag`, `--flag=True` (the starter code's spelling) or `--flag=false`
            kwargs.update(type=parse_bool, nargs="?", const=True)
        elif default is not None:
            kwargs.update(type=type(default))
        else:
            kwargs.update(type=int)
        if declared["choices"]:
            kwargs.update(choices=declared["choices"])
        if declared["group"] not in groups:
            groups[declared["group"]] = parser.add_argument_group(declared["group"])
        groups[declared["group"]].add_argument(f"--{flag}", **kwargs)


def add_training_flags(parser: argparse.ArgumentParser):
    from trainer.config import FEATURE_FLAGS, TRAINING_FLAGS, TUNING_FLAGS, TrainerConfig, TuningConfig
    groups = {}
    add_setting_flags(parser, groups, TrainerConfig)
    data, model = groups[FEATURE_FLAGS], groups[TRAINING_FLAGS]
    data.add_argument("--dataset", choices=list(features.RELEASES), default=None,
                      help="YouTube-8M release: yt8m-2018 (`id`, 3,862 classes), yt8m-2017 (`video_id`, 4,716 "
                           "classes) or yt8m-2016 (`video_id`, 4,800 classes, `inc3` frames without audio: the "
                           "seed README's); default: detected from the first train record")
    data.add_argument("--normalize_frames", action="store_true",
                      help="frame-level: z-score each frame feature dimension (tf.Transform statistics)")
    data.add_argument("--input_normalization", default=DEFAULT_INPUT_NORMALIZATION,
                      choices=INPUT_NORMALIZATIONS,
                      help="video-level: l2 = each feature to unit norm (the starter code), zscore = per-dimension "
                           "z-score scaled to unit expected norm, none (default %(default)s)")
    model.add_argument("--num_epochs", type=float, default=None,
                       help=f"passes over the training videos; the step count follows from the train split's "
                            f"size (default {configs.NUM_EPOCHS:g} when --train_steps is not given)")
    model.add_argument("--train_steps", type=int, default=None,
                       help="total steps instead of --num_epochs; a resumed model trains the remaining ones")
    model.add_argument("--moe_num_mixtures", type=int, default=None,
                       help="the starter code's flag: experts of MoeModel and the MoE heads (default 2); the same "
                            "as --hparam moe_num_mixtures=N")
    model.add_argument("--hparam", type=parse_hparam, action="append", default=[], metavar="KEY=VALUE",
                       help="model hyper-parameter, repeatable, e.g. --hparam dbof_cluster_size=4096; an unknown "
                            "key is an error listing the known ones (trainer/hparam_keys.py)")
    model.add_argument("--gap_threshold", type=float, default=configs.GAP_THRESHOLD,
                       help="minimum eval GAP for the model to be blessed (default %(default)s)")
    groups[TUNING_FLAGS] = parser.add_argument_group(TUNING_FLAGS)
    groups[TUNING_FLAGS].add_argument(
        "--tune", type=parse_bool, nargs="?", const=True, default=False,
        help="add the Tuner stage: search learning rate, L2 penalty (and MoE mixtures) on the validation split, "
             "then train with the best")
    add_setting_flags(parser, groups, TuningConfig)


def _settings_from_flags(args, config_class):
    return {name: getattr(args, flag) for name, flag, _ in flag_settings(config_class)}


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
    mixtures = {} if args.moe_num_mixtures is None else {"moe_num_mixtures": args.moe_num_mixtures}
    return TrainerConfig(**{**_settings_from_flags(args, TrainerConfig), "batch_size": default_batch_size(args)},
                         dataset=dataset or args.dataset or features.DEFAULT_DATASET, num_epochs=num_epochs,
                         hparams={**mixtures, **dict(args.hparam)})


def tuning_config_from_flags(args):
    from trainer.config import TuningConfig
    if args.tune and args.validation_percent <= 0:  # said before any stage runs, not inside the Tuner
        raise SystemExit("error: --tune scores its trials on the validation split: give --validation_percent > 0 "
                         "(the video_level_* recipes set 0; add e.g. --validation_percent=5 after the recipe)")
    return TuningConfig(**_settings_from_flags(args, TuningConfig)) if args.tune else None


def pipeline_kwargs(args, dataset: str, **runner_specific):
    """create_pipeline's arguments from the flags both runners share; runner_specific adds (or overrides) what
    differs between them: the data patterns, Beam args, metadata, ingest, schema path, Vertex AI."""
    shared = dict(
        pipeline_name=args.pipeline_name,
        pipeline_root=args.pipeline_root,
        train_data_pattern=args.train_data_pattern,
        eval_data_pattern=args.eval_data_pattern,
        trainer_config=trainer_config_from_flags(args, dataset),
        train_steps=training_length(args)[0],
        gap_threshold=args.gap_threshold,
        serving_model_dir=args.serving_model_dir,
        inference_data_pattern=args.inference_data_pattern,
        normalize_frames=args.normalize_frames,
        input_normalization=args.input_normalization,
        stats_sample_rate=args.stats_sample_rate,
        tuning=tuning_config_from_flags(args))
    return {**shared, **runner_specific}
