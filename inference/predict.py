"""Standalone batch inference, like the starter code's inference.py, with an exported yt8m-tfx model.

  python -m inference.predict --train_dir=tfx_output \
      --input_data_pattern='/data/yt8m/test*.tfrecord' --output_file=predictions.csv

--train_dir is a pipeline root (local_runner.py's --train_dir or --pipeline_root): the newest model trained or
pushed under it is used. --model_dir names one model instead: a SavedModel, or a Pusher destination holding
numbered versions (the newest is used).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS before tensorflow loads)
from yt8m_tfx import command_line

if __name__ == "__main__":  # before the imports below load TensorFlow
    command_line.import_tensorflow_quietly(command_line.wants_verbose(None))

from trainer.signatures import (PROBABILITIES_OUTPUT, SERVING_SIGNATURE, TOP_K_INDICES_OUTPUT, TOP_K_SCORES_OUTPUT,
                                TOP_K_SIGNATURE, VIDEO_ID_OUTPUT)
from yt8m_tfx import features, record_batches
from inference.csv_format import HEADER, NAMED_HEADER, format_row, named_rows


def resolve_saved_model(model_dir: str) -> str:
    """The SavedModel dir itself, the newest numbered version under a push destination, or Format-Serving."""
    import tensorflow as tf
    for candidate in (model_dir, os.path.join(model_dir, "Format-Serving")):
        if tf.io.gfile.exists(os.path.join(candidate, "saved_model.pb")):
            return candidate
    versions = [d.rstrip("/") for d in tf.io.gfile.listdir(model_dir) if d.rstrip("/").isdigit()] \
        if tf.io.gfile.isdir(model_dir) else []
    if versions:
        return os.path.join(model_dir, max(versions, key=int))
    raise command_line.UserError(f"--model_dir={model_dir}: no SavedModel (saved_model.pb) there, in its "
                                 "Format-Serving folder or in numbered versions under it")


# Where a model lies under a --train_dir, newest first by file time: the folder itself, a Pusher destination's
# versions, a pipeline root's Trainer outputs and its pushed models.
TRAIN_DIR_MODEL_GLOBS = ("saved_model.pb", "Format-Serving/saved_model.pb", "*/saved_model.pb",
                         "*/model/*/Format-Serving/saved_model.pb", "*/*/saved_model.pb")


def newest_model_in_train_dir(train_dir: str) -> str:
    """The SavedModel folder of the newest model trained or pushed under train_dir (the seed's eval.py and
    inference.py take the newest checkpoint there)."""
    import tensorflow as tf
    found = [path for pattern in TRAIN_DIR_MODEL_GLOBS
             for path in tf.io.gfile.glob(os.path.join(train_dir, pattern))]
    if not found:
        raise command_line.UserError(f"--train_dir={train_dir}: no model trained or pushed under it (run "
                                     "local_runner.py with this --train_dir first, or pass --model_dir)")
    newest = max(found, key=lambda path: (tf.io.gfile.stat(path).mtime_nsec, path))
    return os.path.dirname(newest)


def add_model_flags(parser) -> None:
    """--train_dir or --model_dir, one of them required, for the standalone evaluation and inference CLIs."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--train_dir", help="a pipeline root (local_runner.py --train_dir): use the newest model "
                                           "trained or pushed under it")
    which.add_argument("--model_dir", help="a SavedModel, or a Pusher destination (its newest version is used)")


def model_dir_from_flags(args) -> str:
    return newest_model_in_train_dir(args.train_dir) if args.train_dir else args.model_dir


def add_seed_model_flags(parser) -> None:
    """The starter code's eval.py and inference.py take the training's --frame_features, --model and
    --feature_names (its README appends them to every command). Here the model's own signatures read the
    records as it was trained, so the flags are only checked against the data: a mistake is named, not
    silently ignored."""
    seed = parser.add_argument_group("the starter code's model flags (optional: checked against the data)")
    seed.add_argument("--frame_features", type=command_line.parse_bool, nargs="?", const=True, default=None,
                      help="the data is frame-level SequenceExamples")
    seed.add_argument("--model", help="the --model it was trained as")
    seed.add_argument("--feature_names", help="the --feature_names it was trained on")


def first_record_features(path: str):
    """(frame-level?, feature names) of the file's first record: a SequenceExample's frame feature lists, else
    an Example's features (an Example parses as a SequenceExample without feature lists)."""
    import tensorflow as tf
    dataset = tf.data.TFRecordDataset([path], compression_type=record_batches.compression_of([path]))
    for record in dataset.take(1):
        frames = tf.train.SequenceExample.FromString(record.numpy()).feature_lists.feature_list
        if frames:
            return True, set(frames)
        return False, set(tf.train.Example.FromString(record.numpy()).features.feature)
    return False, set()


def check_seed_model_flags(args, files) -> None:
    """UserError when --frame_features, --model or --feature_names disagree with the records in files."""
    from trainer.models import get_model_spec
    frame_level, names = first_record_features(files[0])
    level = "frame-level" if frame_level else "video-level"
    if args.frame_features is not None and args.frame_features != frame_level:
        raise command_line.UserError(f"--frame_features={args.frame_features}: {files[0]} holds {level} records")
    if args.model:
        try:
            model_level = get_model_spec(args.model).frame_level
        except ValueError as error:
            raise command_line.UserError(str(error)) from None
        if model_level != frame_level:
            raise command_line.UserError(f"--model={args.model} reads {'frame' if model_level else 'video'}-level "
                                         f"records; {files[0]} holds {level} records")
    missing = [n.strip() for n in (args.feature_names or "").split(",") if n.strip() and n.strip() not in names]
    if missing:
        raise command_line.UserError(f"--feature_names={args.feature_names}: {files[0]} has no {level} feature "
                                     f"{', '.join(missing)}")


def matching_files(pattern: str, flag: str):
    import tensorflow as tf
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise command_line.UserError(f"--{flag}={pattern}: no file matches it")
    return files


def load_signatures(model_dir: str, *names: str):
    """The named signatures of the SavedModel under model_dir (see resolve_saved_model), loaded once."""
    import tensorflow as tf
    model = tf.saved_model.load(resolve_saved_model(model_dir))
    missing = [name for name in names if name not in model.signatures]
    if missing:
        raise command_line.UserError(f"--model_dir={model_dir}: the model has no {missing[0]!r} signature (found "
                                     f"{', '.join(model.signatures)}); is it a yt8m-tfx model?")
    return [model.signatures[name] for name in names]


def scored_batches(serve, transform_features, files, batch_size: int, max_records=None):
    """(serialized batch, probabilities [B, C], multi-hot labels [B, C]) over the record files, both from the
    model's own signatures (parsed as the Evaluator parses them): the loop of the evaluation CLI and the run
    report."""
    for batch in record_batches.record_batches(files, batch_size, record_batches.compression_of(files),
                                               max_records):
        labels = transform_features(examples=batch)[features.LABELS_MULTI_HOT_KEY].numpy()
        yield batch, serve(examples=batch)[PROBABILITIES_OUTPUT].numpy(), labels


def model_vocabulary(serve):
    """The class names of the model's release, known from its output size (a model of the 2017 release
    has 4,716 outputs); a clear error for a release whose vocabulary the project does not ship."""
    from yt8m_tfx import class_names
    release = features.release_for_num_classes(serve.structured_outputs[PROBABILITIES_OUTPUT].shape[-1])
    vocabulary = class_names.vocabulary_of(release.name)
    if vocabulary is None:
        raise command_line.UserError(f"--named_output_file: the model is of the {release.name} release, whose class names "
                         "the project does not ship")
    return vocabulary


def predict_to_csv(model_dir: str, input_data_pattern: str, output_file: str, top_k: int = features.TOP_K,
                   batch_size: int = 256, named_output_file: str = "") -> int:
    """Writes the Kaggle CSV for every example matching the pattern, and with named_output_file the same
    predictions with class names (one row per video and class); returns the number of videos."""
    import contextlib
    import tensorflow as tf
    files = matching_files(input_data_pattern, "input_data_pattern")
    predict, serve = load_signatures(model_dir, TOP_K_SIGNATURE, SERVING_SIGNATURE)
    videos = 0
    vocabulary = model_vocabulary(serve) if named_output_file else None
    with contextlib.ExitStack() as files_open:
        out = files_open.enter_context(tf.io.gfile.GFile(output_file, "w"))
        out.write(HEADER + "\n")
        named_out = files_open.enter_context(tf.io.gfile.GFile(named_output_file, "w")) if vocabulary else None
        if named_out:
            named_out.write(NAMED_HEADER + "\n")
        for batch in record_batches.record_batches(files, batch_size):
            result = predict(examples=batch)
            if result[TOP_K_INDICES_OUTPUT].shape[1] < top_k:
                raise command_line.UserError(f"--top_k={top_k}: the model was exported with top_k="
                                             f"{result[TOP_K_INDICES_OUTPUT].shape[1]}")
            for video_id, classes, scores in zip(result[VIDEO_ID_OUTPUT].numpy().reshape(-1),
                                                 result[TOP_K_INDICES_OUTPUT].numpy()[:, :top_k],
                                                 result[TOP_K_SCORES_OUTPUT].numpy()[:, :top_k]):
                out.write(format_row(video_id, classes, scores) + "\n")
                if named_out:
                    named_out.write("".join(line + "\n" for line in named_rows(video_id, classes, scores, vocabulary)))
                videos += 1
    return videos


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_flags(p)
    p.add_argument("--input_data_pattern", required=True)
    p.add_argument("--output_file", default="predictions.csv")
    p.add_argument("--named_output_file", default="",
                   help="also write the predictions with class names and verticals (one row per video and class)")
    p.add_argument("--top_k", type=int, default=features.TOP_K)
    p.add_argument("--batch_size", type=int, default=256,
                   help="videos per model call at most; fewer for big (frame-level) records: "
                        f"{record_batches.BATCH_BYTES // 2**20} MiB of records a batch")
    add_seed_model_flags(p)
    command_line.add_verbose_flag(p)
    args = p.parse_args(argv)
    check_seed_model_flags(args, matching_files(args.input_data_pattern, "input_data_pattern"))
    started = time.time()
    videos = predict_to_csv(model_dir_from_flags(args), args.input_data_pattern, args.output_file, args.top_k,
                            args.batch_size, args.named_output_file)
    seconds = time.time() - started
    print(f"wrote {videos} videos to {args.output_file} in {seconds:.1f}s ({videos / seconds:.0f} videos/s)")
    return 0


if __name__ == "__main__":
    sys.exit(command_line.run_tool(main))
