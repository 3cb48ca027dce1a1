"""Stops the pipeline on data anomalies before anything trains on bad data.

ExampleValidator only records anomalies; this gate reads them and fails with a message naming each
split, feature and problem (e.g. a label >= NUM_CLASSES, a mean_rgb of the wrong length, a NaN).
Transform waits for it, so nothing downstream runs on data that does not match the schema.
No `from __future__ import annotations`: the @component decorator reads real type hints.
"""
import os
from typing import Dict, List

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx

ANOMALIES_FILE = "SchemaDiff.pb"  # what ExampleValidator writes in each Split-<name> folder


def describe_anomalies(anomalies_by_split: Dict[str, anomalies_pb2.Anomalies]) -> List[str]:
    """One readable line per (split, feature) anomaly; empty when the data is clean."""
    lines = []
    for split, anomalies in sorted(anomalies_by_split.items()):
        for feature, info in sorted(anomalies.anomaly_info.items()):
            reasons = "; ".join(f"{r.short_description}: {r.description}" for r in info.reason) \
                or info.description
            lines.append(f"split '{split}', feature '{feature}': {reasons}")
        for reason in anomalies.dataset_anomaly_info.reason:
            lines.append(f"split '{split}': {reason.short_description}: {reason.description}")
    return lines


def load_anomalies(uri: str) -> Dict[str, anomalies_pb2.Anomalies]:
    result = {}
    for entry in sorted(tf.io.gfile.listdir(uri)):
        path = os.path.join(uri, entry.rstrip("/"), ANOMALIES_FILE)
        if entry.startswith("Split-") and tf.io.gfile.exists(path):
            anomalies = anomalies_pb2.Anomalies()
            anomalies.ParseFromString(tf.io.gfile.GFile(path, "rb").read())
            result[entry.rstrip("/")[len("Split-"):]] = anomalies
    return result


class DataValidationError(ValueError):
    pass


@tfx.dsl.components.component
def AnomaliesGate(anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
                  code_fingerprint: tfx.dsl.components.Parameter[str] = ""):
    """Fails with every anomaly listed, or passes silently. code_fingerprint: only for the cache key."""
    del code_fingerprint
    problems = describe_anomalies(load_anomalies(anomalies.uri))
    if problems:
        raise DataValidationError(
            "The input data does not match the YT8M schema (yt8m_tfx/schemas); stopping before training:\n  "
            + "\n  ".join(problems))
