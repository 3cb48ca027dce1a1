"""Run the yt8m-tfx pipeline locally with LocalDagRunner (the starter code's train/eval/inference in one go).

With no data flags it writes a small synthetic YouTube-8M dataset into the pipeline root first, so
`python local_runner.py` works on a fresh machine. Real data:
  python local_runner.py --train_data_pattern='/data/yt8m/train*.tfrecord' \
                         --eval_data_pattern='/data/yt8m/validate*.tfrecord' --model=MoeModel
or the starter code's train.py command as its README writes it (the model is evaluated on the training
shards when no --eval_data_pattern is given):
  python local_runner.py --train_data_pattern='/data/yt8m/train*.tfrecord' --train_dir=$MODEL_DIR/logistic_model
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 for this process and its Beam workers)
from yt8m_tfx import command_line
from yt8m_tfx.command_line import UserError


def build_parser():
    from pipeline import beam_presets, cli, configs
    p = cli.FlagFileParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = p.add_argument_group("data (like the starter code)")
    data.add_argument("--data_dir", help="directory holding train*.tfrecord and validate*.tfrecord")
    data.add_argument("--train_data_pattern", help="glob of training shards (overrides --data_dir)")
    data.add_argument("--eval_data_pattern", help="glob of evaluation shards (overrides --data_dir; default with "
                                                  "--train_data_pattern: the training shards, as the seed's eval.py "
                                                  "can be run on them)")
    data.add_argument("--inference_data_pattern",
                      help="glob of shards to predict (default: the eval split), e.g. test*.tfrecord")
    data.add_argument("--synthetic_videos", type=int, default=2000,
                      help="training videos to generate when no data is given, eval gets a quarter "
                           "(default %(default)s)")
    cli.add_training_flags(p)
    cli.add_ingest_flags(p)
    run = p.add_argument_group("pipeline")
    run.add_argument("--pipeline_name", default=configs.PIPELINE_NAME,
                     help="the pipeline's name in ML Metadata (default %(default)s)")
    root = run.add_mutually_exclusive_group()
    root.add_argument("--pipeline_root",
                      help="where artifacts, logs, checkpoints and the ML Metadata sqlite file go; a local folder "
                           f"(default ./{os.path.basename(configs.default_pipeline_root())})")
    root.add_argument("--train_dir", help="the starter code's name for --pipeline_root: this run's training state "
                                          "and models go there, and evaluator_ext.evaluate / inference.predict "
                                          "--train_dir find the newest model in it")
    run.add_argument("--serving_model_dir", help="Pusher destination (default <pipeline_root>/serving_model)")
    run.add_argument("--disable_cache", action="store_true",
                     help="re-run every component even if its inputs and code did not change")
    run.add_argument("--skip_shard_check", action="store_true",
                     help="do not pre-check that every input shard is a complete TFRecord file")
    run.add_argument("--verbose", action="store_true",
                     help="print every log line (TFX, Beam, TensorFlow) instead of one line per component; "
                          "by default they go to <pipeline_root>/logs/run-<time>.log")
    beam_presets.add_beam_flags(p)
    return p


def parse_args(argv=None):
    from pipeline import configs
    args = build_parser().parse_args(argv)
    args.pipeline_root = args.pipeline_root or args.train_dir or configs.default_pipeline_root()
    return args


PATH_FLAGS = ("pipeline_root", "train_dir", "serving_model_dir", "data_dir", "train_data_pattern", "eval_data_pattern",
              "inference_data_pattern")


def absolute_path_flags(args):
    """Local paths made absolute (the components run elsewhere than the cwd); gs:// / s3:// URIs kept as given.
    The MLMD sqlite database lives in the pipeline root, so this runner needs a local one."""
    from pipeline import uris
    for name in PATH_FLAGS:
        if getattr(args, name):
            setattr(args, name, uris.absolute(getattr(args, name)))
    if uris.is_uri(args.pipeline_root):
        sys.exit(f"error: local_runner.py keeps its metadata (sqlite) in --pipeline_root, which must be a local "
                 f"folder, got {args.pipeline_root}; data, --serving_model_dir and --inference_data_pattern may "
                 f"be gs:// / s3:// URIs, or compile for Kubeflow with kubeflow_runner.py")
    return args


def resolve_data_patterns(args, say=print):
    """(train pattern, eval pattern); generates synthetic data when none was given."""
    if args.eval_data_pattern and not args.train_data_pattern:
        raise UserError(f"--eval_data_pattern={args.eval_data_pattern}: give --train_data_pattern too")
    if args.train_data_pattern:
        if not args.eval_data_pattern:
            say("No --eval_data_pattern: evaluating on the training shards (as the seed's eval.py on them); "
                "give held-out shards for a fair GAP")
        return args.train_data_pattern, args.eval_data_pattern or args.train_data_pattern
    from pipeline import configs
    data_dir = args.data_dir
    if not data_dir:
        from yt8m_tfx import features
        from yt8m_tfx.data import synthetic
        dataset = args.dataset or features.DEFAULT_DATASET
        data_dir = os.path.join(args.pipeline_root,
                                ("synthetic_frame_data" if args.frame_features else "synthetic_data")
                                + ("" if dataset == features.DEFAULT_DATASET else f"_{dataset}"))
        marker = os.path.join(data_dir, f"_COMPLETE_{args.synthetic_videos}")
        if not os.path.exists(marker):  # regenerate only when missing, so reruns hit the cache
            say(f"Generating {args.synthetic_videos} synthetic training videos in {data_dir} ...")
            synthetic.generate(data_dir, train_videos=args.synthetic_videos,
                               eval_videos=max(1, args.synthetic_videos // 4),
                               frame_level=args.frame_features,
                               config=synthetic.SyntheticConfig(dataset=dataset))
            open(marker, "w").close()
    return (os.path.join(data_dir, configs.TRAIN_DATA_PATTERN),
            os.path.join(data_dir, configs.EVAL_DATA_PATTERN))


def main(argv=None):
    args = parse_args(argv)
    from absl import logging
    logging.set_verbosity(logging.INFO)
    args = absolute_path_flags(args)
    from pipeline import beam_presets
    try:  # a wrong Beam setting or a cluster that is not up stops here, before any data is written
        beam_presets.check_engine_reachable(beam_presets.args_from_flags(args))
    except (ValueError, RuntimeError) as error:
        raise UserError(str(error)) from error
    from pipeline import run_lock
    from pipeline.console import RunConsole
    with run_lock.hold(args.pipeline_root):  # a second run on this root is refused, not interleaved
        # Everything but component/progress lines and the summary goes to <root>/logs (unless --verbose).
        with RunConsole(os.path.join(args.pipeline_root, "logs"), verbose=args.verbose) as console:
            run(args, say=console.line)
    return 0


def run(args, say=print):
    from tfx import v1 as tfx
    from pipeline import beam_presets, cli, outputs
    from pipeline.pipeline import create_pipeline
    train_pattern, eval_pattern = resolve_data_patterns(args, say)
    from pipeline.data_checks import check_labelled, check_shards, detect_dataset
    from yt8m_tfx import features
    patterns = [train_pattern, eval_pattern] + [p for p in [args.inference_data_pattern] if p]
    if not args.skip_shard_check:
        check_shards(patterns)  # names empty patterns and truncated shards before anything runs
    check_labelled([train_pattern, eval_pattern], args.frame_features)
    dataset = detect_dataset(patterns, args.frame_features, args.dataset)
    release = features.release(dataset)
    say(f"Dataset {dataset}: '{release.id_key}' ids, {release.num_classes} classes"
        + ("" if args.dataset else " (detected from the data)"))
    if args.frame_features and args.ingest == "copy":
        # Why linking is the frame-level default: configs.FRAME_LEVEL_INGEST.
        say("Frame-level with --ingest=copy: ImportExampleGen's memory grows with the data on this runner; "
            "--ingest=import links the shards instead (README: Big inputs)")
    beam_args = beam_presets.args_from_flags(args)
    pipeline = create_pipeline(**cli.pipeline_kwargs(
        args, dataset, train_data_pattern=train_pattern, eval_data_pattern=eval_pattern,
        beam_pipeline_args=beam_args, enable_cache=not args.disable_cache, ingest=cli.ingest_mode(args),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            outputs.metadata_path(args.pipeline_root))))
    started = time.time()
    say(f"Running {args.pipeline_name}: {len(pipeline.components)} components")
    with beam_presets.no_tfx_sdist_when_workers_have_it(beam_args):
        tfx.orchestration.LocalDagRunner().run(pipeline)
    say(f"\nPipeline finished in {time.time() - started:.0f}s. Outputs under {args.pipeline_root}:")
    labels = {"ModelEvaluation": "evaluation (TFMA)", "ModelBlessing": "blessing",
              "yt8m.PredictionsCsv": "predictions CSV", "PushedModel": "pushed model"}
    this_run = outputs.latest_run_artifacts(args.pipeline_root, labels)  # never an earlier run's files
    if not outputs.was_pushed(this_run["PushedModel"]):  # the Pusher records unblessed models as pushed=0
        this_run["PushedModel"] = None
    for type_name, label in labels.items():
        say(f"  {label:18s} {this_run[type_name].uri if this_run[type_name] else '(none)'}")
    evaluation = this_run["ModelEvaluation"] and this_run["ModelEvaluation"].uri
    if evaluation:
        metrics = outputs.overall_metrics(evaluation)
        summary = ", ".join(f"{k}={metrics[k]:.4f}" for k in ("gap", "hit_at_one", "perr") if k in metrics)
        blessed = outputs.validation_ok(evaluation)
        say(f"  eval: {summary} ({'blessed' if blessed else 'NOT blessed'}, "
              f"threshold GAP >= {args.gap_threshold})")
        if not blessed:
            say("  The model was not blessed: this run predicted nothing and pushed nothing.")
        write_run_report(args.pipeline_root, say)


def write_run_report(pipeline_root: str, say=print):
    """The HTML report of this run (pipeline/report.py); a failure to draw it does not fail the run."""
    from absl import logging
    from pipeline import report
    try:
        say(f"  report             {report.write_report(pipeline_root)}")
    except Exception as error:  # noqa: BLE001 (the pipeline itself succeeded; the log has the traceback)
        logging.exception("run report")
        say(f"  report not written ({type(error).__name__}: {error}); see the log")


if __name__ == "__main__":
    sys.exit(command_line.run_tool(main))
