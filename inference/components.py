"""TFX wiring for batch predictions: BulkInferrer's PredictionLogs -> sharded + merged Kaggle CSV, and the same
predictions with class names and verticals (predictions_named.csv, one row per video and class).

No `from __future__ import annotations` here: the @component decorator reads real type hints.
"""
import os
from typing import TypedDict

import apache_beam as beam
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2
from tfx import v1 as tfx
from tfx.types.artifact import Artifact

from inference.csv_format import HEADER, NAMED_HEADER, format_row, named_rows
from trainer.signatures import TOP_K_INDICES_OUTPUT, TOP_K_SCORES_OUTPUT, VIDEO_ID_OUTPUT
from yt8m_tfx import features
from yt8m_tfx.beam_temp import remove_beam_temp_dirs

MERGED_FILE_NAME = "predictions.csv"
NAMED_FILE_NAME = "predictions_named.csv"


class PredictionsCsv(Artifact):
    """A directory of `predictions-*-of-*.csv` shards (and `predictions_named-*`) and, for small runs, one
    predictions.csv and one predictions_named.csv."""
    TYPE_NAME = "yt8m.PredictionsCsv"  # <namespace>.<Name>: the form KFP v2 accepts for custom types


def prediction_log_to_top_k(log: prediction_log_pb2.PredictionLog):
    """(video id, [class ids], [scores]) of one video's PredictionLog."""
    outputs = log.predict_log.response.outputs
    video_ids = tf.make_ndarray(outputs[VIDEO_ID_OUTPUT]).reshape(-1)
    if video_ids.size != 1:
        raise ValueError(f"expected one video per PredictionLog, got {video_ids.size}")
    return (video_ids[0], tf.make_ndarray(outputs[TOP_K_INDICES_OUTPUT]).reshape(-1),
            tf.make_ndarray(outputs[TOP_K_SCORES_OUTPUT]).reshape(-1))


def prediction_log_to_row(log: prediction_log_pb2.PredictionLog) -> str:
    return format_row(*prediction_log_to_top_k(log))


def prediction_log_to_named_rows(log: prediction_log_pb2.PredictionLog, dataset: str):
    from yt8m_tfx.class_names import vocabulary_of  # cached once per worker
    return named_rows(*prediction_log_to_top_k(log), vocabulary_of(dataset))


def merge_shards(shard_paths, merged_path, max_rows: int, header: str = HEADER) -> int:
    """Concatenates CSV shards under one header if they hold at most max_rows rows; returns rows."""

    def data_lines(path):
        with tf.io.gfile.GFile(path) as f:
            for line in f:
                if line.strip() and line.rstrip("\n") != header:
                    yield line if line.endswith("\n") else line + "\n"

    rows = sum(1 for path in shard_paths for _ in data_lines(path))
    if rows <= max_rows:
        with tf.io.gfile.GFile(merged_path, "w") as out:
            out.write(header + "\n")
            for path in shard_paths:
                for line in data_lines(path):
                    out.write(line)
    return rows


@tfx.dsl.components.component(use_beam=True)
def PredictionsCsvExporter(
        inference_result: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.InferenceResult],
        predictions: tfx.dsl.components.OutputArtifact[PredictionsCsv],
        dataset: tfx.dsl.components.Parameter[str] = features.DEFAULT_DATASET,
        merge_max_rows: tfx.dsl.components.Parameter[int] = 5_000_000,
        code_fingerprint: tfx.dsl.components.Parameter[str] = "",
        beam_pipeline: tfx.dsl.components.BeamComponentParameter[beam.Pipeline] = None,
) -> TypedDict("PredictionsCsvExporterOutputs", {"num_videos": int}):
    """Writes `VideoId,LabelConfidencePairs` CSV shards with Beam, then merges small runs into one file; for a
    release with a shipped vocabulary (`dataset`) also the named CSV. code_fingerprint: only for the cache
    key (yt8m_tfx.code_fingerprint)."""
    del code_fingerprint
    from yt8m_tfx.class_names import vocabulary_of
    with_names = vocabulary_of(dataset) is not None
    pattern = os.path.join(inference_result.uri, "*.gz")
    if not tf.io.gfile.glob(pattern):  # gfile covers local paths too
        raise FileNotFoundError(f"no prediction logs under {inference_result.uri}")
    shard_prefix = os.path.join(predictions.uri, "predictions")
    named_prefix = os.path.join(predictions.uri, "predictions_named")
    with beam_pipeline as p:
        logs = p | "ReadPredictionLogs" >> beam.io.ReadFromTFRecord(
            pattern, coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog))
        _ = (logs
             | "FormatRows" >> beam.Map(prediction_log_to_row)
             | "WriteShards" >> beam.io.WriteToText(shard_prefix, file_name_suffix=".csv", header=HEADER))
        if with_names:
            _ = (logs
                 | "FormatNamedRows" >> beam.FlatMap(prediction_log_to_named_rows, dataset)
                 | "WriteNamedShards" >> beam.io.WriteToText(named_prefix, file_name_suffix=".csv",
                                                             header=NAMED_HEADER))
    remove_beam_temp_dirs([predictions.uri])  # a restarted job's (yt8m_tfx/beam_temp.py)
    shards = sorted(tf.io.gfile.glob(shard_prefix + "-*.csv"))
    rows = merge_shards(shards, os.path.join(predictions.uri, MERGED_FILE_NAME), merge_max_rows)
    if rows <= merge_max_rows and with_names:
        merge_shards(sorted(tf.io.gfile.glob(named_prefix + "-*.csv")),
                     os.path.join(predictions.uri, NAMED_FILE_NAME), float("inf"), header=NAMED_HEADER)
    return {"num_videos": rows}
