"""Flags shared by local_runner.py and kubeflow_runner.py: the starter code's training flags.

Both runners build the same TrainerConfig from them, so a model trained locally and on Kubeflow is
configured the same way.
"""
from __future__ import annotations

import argparse

from pipeline import configs
from yt8m_tfx import features


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


def add_training_flags(parser: argparse.ArgumentParser):
    data = parser.add_argument_group("features (like the starter code)")
    data.add_argument("--frame_features", type=parse_bool, nargs="?", const=True, default=False,
                      help="frame-level SequenceExample input (needs a frame-level --model)")
    data.add_argument("--feature_names", default="", help="comma-separated features, default all")
    data.add_argument("--max_frames", type=int, default=features.MAX_FRAMES,
                      help="frame-level: frames kept per video (longer ones are truncated, shorter zero-padded)")
    data.add_argument("--normalize_frames", action="store_true",
                      help="frame-level: z-score each frame feature dimension (tf.Transform statistics)")
    model = parser.add_argument_group("model and training")
    model.add_argument("--model", default=configs.MODEL)
    model.add_argument("--label_loss", default="CrossEntropyLoss")
    model.add_argument("--moe_num_mixtures", type=int, default=2)
    model.add_argument("--hparam", type=parse_hparam, action="append", default=[], metavar="KEY=VALUE",
                       help="model hyper-parameter, repeatable, e.g. --hparam dbof_cluster_size=4096")
    model.add_argument("--train_steps", type=int, default=configs.TRAIN_STEPS,
                       help="total steps; a resumed model trains the remaining ones")
    model.add_argument("--eval_steps", type=int, default=configs.EVAL_STEPS)
    model.add_argument("--batch_size", type=int, default=None,
                       help=f"default {configs.BATCH_SIZE} (video-level), "
                            f"{features.FRAME_LEVEL_BATCH_SIZE} (frame-level: 1.4 MB of floats a video)")
    model.add_argument("--base_learning_rate", type=float, default=0.01)
    model.add_argument("--start_new_model", type=parse_bool, nargs="?", const=True, default=False,
                       help="do not resume from the last checkpoint of the same training; start over")
    model.add_argument("--checkpoint_steps", type=int, default=100,
                       help="save a checkpoint (and eval GAP for TensorBoard) every this many steps")
    model.add_argument("--top_k", type=int, default=configs.TOP_K)
    model.add_argument("--gap_threshold", type=float, default=configs.GAP_THRESHOLD,
                       help="minimum eval GAP for the model to be blessed")


def default_batch_size(args) -> int:
    if args.batch_size is not None:
        return args.batch_size
    return features.FRAME_LEVEL_BATCH_SIZE if args.frame_features else configs.BATCH_SIZE


def trainer_config_from_flags(args):
    from trainer.config import TrainerConfig
    return TrainerConfig(
        model=args.model, feature_names=args.feature_names, frame_features=args.frame_features,
        label_loss=args.label_loss, batch_size=default_batch_size(args), max_frames=args.max_frames,
        base_learning_rate=args.base_learning_rate, top_k=args.top_k,
        start_new_model=args.start_new_model, checkpoint_steps=args.checkpoint_steps,
        hparams={"moe_num_mixtures": args.moe_num_mixtures, **dict(args.hparam)})
