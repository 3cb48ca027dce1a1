"""Finding a pipeline run's outputs through ML Metadata (used by local_runner, tests and the notebook)."""
from __future__ import annotations

import os
from typing import Optional

from pipeline import uris

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


def latest_artifact_uri(pipeline_root: str, type_name: str, producer=None) -> Optional[str]:
    """URI of the newest LIVE artifact of `type_name` (optionally made by component id `producer`, or by any of
    a tuple of ids)."""
    from ml_metadata.proto import metadata_store_pb2
    store = metadata_store(pipeline_root)
    if store is None:
        return None
    artifacts = [a for a in store.get_artifacts_by_type(type_name)
                 if a.state == metadata_store_pb2.Artifact.LIVE]
    if producer:
        prefixes = tuple(uris.join(uris.absolute(pipeline_root), p, "")
                         for p in ((producer,) if isinstance(producer, str) else producer))
        artifacts = [a for a in artifacts if uris.absolute(a.uri).startswith(prefixes)]
    if not artifacts:
        return None
    return max(artifacts, key=lambda a: (a.create_time_since_epoch, a.id)).uri


def latest_run_artifacts(pipeline_root: str, type_names) -> dict:
    """{type name: MLMD artifact or None} that the newest pipeline run produced or took from the cache (its
    "pipeline_run" context). Unlike latest_artifact_uri, an unblessed run that predicted nothing shows
    None there, not an earlier run's files."""
    found = {name: None for name in type_names}
    store = metadata_store(pipeline_root)
    runs = store.get_contexts_by_type("pipeline_run") if store is not None else []
    if not runs:
        return found
    newest = max(runs, key=lambda context: (context.create_time_since_epoch, context.id))
    type_ids = {t.id: t.name for t in store.get_artifact_types()}
    for artifact in sorted(store.get_artifacts_by_context(newest.id),
                           key=lambda a: (a.create_time_since_epoch, a.id)):
        name = type_ids.get(artifact.type_id)
        if name in found:
            found[name] = artifact
    return found


def was_pushed(pushed_model) -> bool:
    """The Pusher records a PushedModel artifact for an unblessed model too, with custom property pushed=0."""
    return pushed_model is not None and pushed_model.custom_properties["pushed"].int_value == 1


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


def slice_label(slice_key) -> str:
    """'column=value, ...' for a TFMA SliceKey proto ('Overall' for the empty key). The value is read from the
    field that is set (an int64 0 is falsy, so `int64_value or float_value` would print bucket 0 as 0.0)."""
    parts = []
    for key in slice_key.single_slice_keys:
        kind = key.WhichOneof("kind")
        value = getattr(key, kind) if kind else ""
        parts.append(f"{key.column}={value.decode() if isinstance(value, bytes) else value}")
    return ", ".join(parts) or "Overall"


def slice_metrics(evaluation_uri: str, metric_names=("example_count", "gap", "hit_at_one", "perr", "map")):
    """[{"slice": label, "column": slicing column or "", metric: value, ...}] of the evaluated (candidate)
    model, one row per slice, Overall first."""
    import tensorflow_model_analysis as tfma
    rows = []
    for metrics_for_slice in tfma.load_metrics(evaluation_uri):
        keys = metrics_for_slice.slice_key.single_slice_keys
        row = {"slice": slice_label(metrics_for_slice.slice_key), "column": ",".join(k.column for k in keys)}
        for entry in metrics_for_slice.metric_keys_and_values:
            if entry.key.name in metric_names and not entry.key.is_diff and entry.key.model_name in ("", "candidate"):
                row[entry.key.name] = entry.value.double_value.value
        rows.append(row)
    return sorted(rows, key=lambda row: (row["column"] != "", row["column"], row["slice"]))


def validation_ok(evaluation_uri: str) -> bool:
    import tensorflow_model_analysis as tfma
    return bool(tfma.load_validation_result(evaluation_uri).validation_ok)
