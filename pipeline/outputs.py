"""Finding a pipeline run's outputs through ML Metadata (used by local_runner, tests and the notebook)."""
from __future__ import annotations

import os
from typing import Optional

METADATA_FILE = "metadata.sqlite"


def metadata_path(pipeline_root: str) -> str:
    return os.path.join(pipeline_root, METADATA_FILE)


def metadata_store(pipeline_root: str):
    """A read-only MLMD store over the pipeline root's sqlite database, or None before the first run."""
    from ml_metadata import metadata_store as mlmd
    from ml_metadata.proto import metadata_store_pb2
    path = metadata_path(pipeline_root)
    if not os.path.exists(path):
        return None
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return mlmd.MetadataStore(config)


def latest_artifact_uri(pipeline_root: str, type_name: str, producer: Optional[str] = None) -> Optional[str]:
    """URI of the newest LIVE artifact of `type_name` (optionally made by component id `producer`)."""
    from ml_metadata.proto import metadata_store_pb2
    store = metadata_store(pipeline_root)
    if store is None:
        return None
    artifacts = [a for a in store.get_artifacts_by_type(type_name)
                 if a.state == metadata_store_pb2.Artifact.LIVE]
    if producer:
        prefix = os.path.join(os.path.abspath(pipeline_root), producer) + os.sep
        artifacts = [a for a in artifacts if os.path.abspath(a.uri).startswith(prefix)]
    if not artifacts:
        return None
    return max(artifacts, key=lambda a: (a.create_time_since_epoch, a.id)).uri


def overall_metrics(evaluation_uri: str) -> dict:
    """{metric name: value} of the evaluated (candidate) model on the overall slice.

    With a baseline TFMA names the new model "candidate" and adds `*_diff` entries; those are
    returned too, under their own names.
    """
    import tensorflow_model_analysis as tfma
    values = {}
    for metrics_for_slice in tfma.load_metrics(evaluation_uri):
        if metrics_for_slice.slice_key.single_slice_keys:
            continue
        for entry in metrics_for_slice.metric_keys_and_values:
            if entry.key.model_name not in ("", "candidate"):
                continue
            name = entry.key.name + ("_diff" if entry.key.is_diff else "")
            values[name] = entry.value.double_value.value
    return values


def validation_ok(evaluation_uri: str) -> bool:
    import tensorflow_model_analysis as tfma
    return bool(tfma.load_validation_result(evaluation_uri).validation_ok)
