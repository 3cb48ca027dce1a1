"""TFX wiring for batch predictions: BulkInferrer's PredictionLogs -> sharded + merged Kaggle CSV.

No `from __future__ import annotations` here: the @component decorator reads real type hints.
"""
import os
from typing import TypedDict

import apache_beam as beam
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2
from tfx import v1 as tfx
from tfx.types.artifact import Artifact

from inference.csv_format import HEADER, format_row
from trainer.signatures import TOP_K_INDICES_OUTPUT, TOP_K_SCORES_OUTPUT, VIDEO_ID_OUTPUT

MERGED_FILE_NAME = "predictions.csv"


class PredictionsCsv(Artifact):
    """A directory of `predictions-*-of-*.csv` shards and, for small runs, one predictions.csv."""
    TYPE_NAME = "yt8m.PredictionsCsv"  # <namespace>.<Name>: the form KFP v2 accepts for custom types


def prediction_log_to_row(log: prediction_log_pb2.PredictionLog) -> str:
    outputs = log.predict_log.response.outputs
    video_ids = tf.make_ndarray(outputs[VIDEO_ID_OUTPUT]).reshape(-1)
    if video_ids.size != 1:
        raise ValueError(f"expected one video per PredictionLog, got {video_ids.size}")
    return format_row(video_ids[0],
                      tf.make_ndarray(outputs[TOP_K_INDICES_OUTPUT]).reshape(-1),
                      tf.make_ndarray(outputs[TOP_K_SCORES_OUTPUT]).reshape(-1))


def merge_shards(shard_paths, merged_path, max_rows: int) -> int:
    """Concatenates CSV shards under one header if they hold at most max_rows rows; returns rows."""

    def data_lines(path):
        with tf.io.gfile.GFile(path) as f:
            for line in f:
                if line.strip() and line.rstrip("\n") != HEADER:
                    yield line if line.endswith("\n") else line + "\n"

    rows = sum(1 for path in shard_paths for _ in data_lines(path))
    if rows <= max_rows:
        with tf.io.gfile.GFile(merged_path, "w") as out:
            out.write(HEADER + "\n")
            for path in shard_paths:
                for line in data_lines(path):
                    out.write(line)
    return rows


@tfx.dsl.components.component(use_beam=True)
def PredictionsCsvExporter(
        inference_result: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.InferenceResult],
        predictions: tfx.dsl.components.OutputArtifact[PredictionsCsv],
        merge_max_rows: tfx.dsl.components.Parameter[int] = 5_000_000,
        beam_pipeline: tfx.dsl.components.BeamComponentParameter[beam.Pipeline] = None,
) -> TypedDict("PredictionsCsvExporterOutputs", {"num_videos": int}):
    """Writes `VideoId,LabelConfidencePairs` CSV shards with Beam, then merges small runs into one file."""
    pattern = os.path.join(inference_result.uri, "*.gz")
    if not tf.io.gfile.glob(pattern):  # gfile covers local paths too
        raise FileNotFoundError(f"no prediction logs under {inference_result.uri}")
    shard_prefix = os.path.join(predictions.uri, "predictions")
    with beam_pipeline as p:
        _ = (p
             | "ReadPredictionLogs" >> beam.io.ReadFromTFRecord(
                 pattern, coder=beam.coders.ProtoCoder(prediction_log_pb2.PredictionLog))
             | "FormatRows" >> beam.Map(prediction_log_to_row)
             | "WriteShards" >> beam.io.WriteToText(shard_prefix, file_name_suffix=".csv", header=HEADER))
    shards = sorted(tf.io.gfile.glob(shard_prefix + "-*.csv"))
    rows = merge_shards(shards, os.path.join(predictions.uri, MERGED_FILE_NAME), merge_max_rows)
    return {"num_videos": rows}
