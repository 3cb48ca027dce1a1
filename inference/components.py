"""TFX wiring for batch predictions: BulkInferrer's PredictionLogs -> sharded + merged Kaggle CSV, and the same
predictions with class names and verticals (predictions_named.csv, one row per video and class).

No `from __future__ import annotations` here: the @component decorator reads real type hints.
"""
import os
from typing import TypedDict

import apache_beam as beam
import numpy as np
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
    video_ids = tensor_values(outputs[VIDEO_ID_OUTPUT])
    if video_ids.size != 1:
        raise ValueError(f"expected one video per PredictionLog, got {video_ids.size}")
    return video_ids[0], tensor_values(outputs[TOP_K_INDICES_OUTPUT]), tensor_values(outputs[TOP_K_SCORES_OUTPUT])


_NUMPY_DTYPES = {tf.float32.as_datatype_enum: np.float32, tf.int64.as_datatype_enum: np.int64,
                 tf.int32.as_datatype_enum: np.int32}


def tensor_values(proto) -> np.ndarray:
    """A TensorProto's values, flat. The signatures' dtypes read straight from the proto, a few times
    faster than tf.make_ndarray; any other dtype goes through it."""
    if proto.dtype == tf.string.as_datatype_enum:
        values = np.array(list(proto.string_val), dtype=object)
    elif proto.dtype not in _NUMPY_DTYPES:
        return tf.make_ndarray(proto).reshape(-1)
    else:
        dtype = _NUMPY_DTYPES[proto.dtype]
        if proto.tensor_content:
            return np.frombuffer(proto.tensor_content, dtype)
        values = np.array(proto.float_val if dtype == np.float32 else
                          proto.int64_val if dtype == np.int64 else proto.int_val, dtype)
    size = int(np.prod([d.size for d in proto.tensor_shape.dim]))
    # A proto may hold one value for a whole tensor of that value (make_tensor_proto's compact form).
    return np.repeat(values, size) if values.size == 1 and size != 1 else values


def top_k_to_named_lines(top_k, dataset: str) -> str:
    """One video's predictions_named.csv lines as one text: a Beam element per video, not per class
    (per-element overhead was most of the export's time)."""
    from yt8m_tfx.class_names import vocabulary_of  # cached once per worker
    return "\n".join(named_rows(*top_k, vocabulary_of(dataset)))


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
        top_k = logs | "TopK" >> beam.Map(prediction_log_to_top_k)
        _ = (top_k
             | "FormatRows" >> beam.MapTuple(format_row)
             | "WriteShards" >> beam.io.WriteToText(shard_prefix, file_name_suffix=".csv", header=HEADER))
        if with_names:
            _ = (top_k
                 | "FormatNamedRows" >> beam.Map(top_k_to_named_lines, dataset)
                 | "WriteNamedShards" >> beam.io.WriteToText(named_prefix, file_name_suffix=".csv",
                                                             header=NAMED_HEADER))
    remove_beam_temp_dirs([predictions.uri])  # a restarted job's (yt8m_tfx/beam_temp.py)
    shards = sorted(tf.io.gfile.glob(shard_prefix + "-*.csv"))
    rows = merge_shards(shards, os.path.join(predictions.uri, MERGED_FILE_NAME), merge_max_rows)
    if rows <= merge_max_rows and with_names:
        merge_shards(sorted(tf.io.gfile.glob(named_prefix + "-*.csv")),
                     os.path.join(predictions.uri, NAMED_FILE_NAME), float("inf"), header=NAMED_HEADER)
    return {"num_videos": rows}
