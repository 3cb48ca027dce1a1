"""Standalone batch inference, like the starter code's inference.py, with an exported yt8m-tfx model.

  python -m inference.predict --model_dir=tfx_output/serving_model \
      --input_data_pattern='/data/yt8m/test*.tfrecord' --output_file=predictions.csv

--model_dir may be a SavedModel, or a Pusher destination holding numbered versions (the newest is used).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS before tensorflow loads)

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
    raise FileNotFoundError(f"no SavedModel (saved_model.pb) in {model_dir} or its numbered versions")


def matching_files(pattern: str, flag: str):
    import tensorflow as tf
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no files match --{flag}={pattern!r}")
    return files


def load_signatures(model_dir: str, *names: str):
    """The named signatures of the SavedModel under model_dir (see resolve_saved_model), loaded once."""
    import tensorflow as tf
    model = tf.saved_model.load(resolve_saved_model(model_dir))
    missing = [name for name in names if name not in model.signatures]
    if missing:
        raise ValueError(f"the model has no {missing[0]!r} signature (found {list(model.signatures)})")
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
        raise ValueError(f"--named_output_file: the model is of the {release.name} release, whose class names "
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
                raise ValueError(f"--top_k={top_k} but the model was exported with "
                                 f"top_k={result[TOP_K_INDICES_OUTPUT].shape[1]}")
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
    p.add_argument("--model_dir", required=True)
    p.add_argument("--input_data_pattern", required=True)
    p.add_argument("--output_file", default="predictions.csv")
    p.add_argument("--named_output_file", default="",
                   help="also write the predictions with class names and verticals (one row per video and class)")
    p.add_argument("--top_k", type=int, default=features.TOP_K)
    p.add_argument("--batch_size", type=int, default=256,
                   help="videos per model call at most; fewer for big (frame-level) records: "
                        f"{record_batches.BATCH_BYTES // 2**20} MiB of records a batch")
    args = p.parse_args(argv)
    started = time.time()
    try:
        videos = predict_to_csv(args.model_dir, args.input_data_pattern, args.output_file, args.top_k,
                                args.batch_size, args.named_output_file)
    except ValueError as error:  # wrong flags or model (a missing signature, --top_k, no class names)
        print(f"error: {error}", file=sys.stderr)
        return 2
    seconds = time.time() - started
    print(f"wrote {videos} videos to {args.output_file} in {seconds:.1f}s ({videos / seconds:.0f} videos/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
