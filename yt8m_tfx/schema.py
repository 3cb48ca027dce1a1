"""The curated TFDV schemas of YT8M video- and frame-level data of each release, generated from
yt8m_tfx.features.

The checked-in copies (yt8m_tfx/schemas/<release>/{video_level,frame_level}/schema.pbtxt) are what
ImportSchemaGen reads; a test asserts they equal these functions' output, so id keys, feature sizes and
class counts live only in features.py.
Regenerate with:  python -m yt8m_tfx.schema
"""
from __future__ import annotations

import os

from tensorflow_metadata.proto.v0 import schema_pb2

from yt8m_tfx import features

# Resolved through links: ImportSchemaGen's cache key is this path, so a checkout reached through a symlink
# (or sharing its schemas by one) is served the same schema artifact.
SCHEMA_DIR = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas"))


def schema_path(frame_level: bool, dataset: str = features.DEFAULT_DATASET) -> str:
    features.release(dataset)  # a clear error for an unknown release
    return os.path.join(SCHEMA_DIR, dataset, "frame_level" if frame_level else "video_level", "schema.pbtxt")


VIDEO_LEVEL_SCHEMA_PATH = schema_path(frame_level=False)  # the default release's
FRAME_LEVEL_SCHEMA_PATH = schema_path(frame_level=True)


def _required(feature: schema_pb2.Feature) -> schema_pb2.Feature:
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1
    return feature


def _add_id_and_labels(schema: schema_pb2.Schema, release: features.Release):
    video_id = _required(schema.feature.add(name=release.id_key, type=schema_pb2.BYTES))
    video_id.shape.SetInParent()  # a scalar string
    labels = _required(schema.feature.add(name=features.LABELS_KEY, type=schema_pb2.INT))
    labels.int_domain.min = 0
    labels.int_domain.max = release.num_classes - 1
    labels.value_count.min = 1


def video_level_schema(dataset: str = features.DEFAULT_DATASET) -> schema_pb2.Schema:
    schema = schema_pb2.Schema()
    _add_id_and_labels(schema, features.release(dataset))
    for name, size in features.feature_sizes(False, dataset).items():
        feature = _required(schema.feature.add(name=name, type=schema_pb2.FLOAT))
        feature.shape.dim.add(size=size)
        feature.float_domain.disallow_nan = True
        feature.float_domain.disallow_inf = True
    return schema


def frame_level_schema(dataset: str = features.DEFAULT_DATASET) -> schema_pb2.Schema:
    """SequenceExample schema: context id/labels, feature_lists as children of the ##SEQUENCE## struct.

    The explicit tensor representations make tfx_bsl decode batches natively (frames become
    RaggedTensors [batch, frames, 1]); without them Transform falls back to parsing raw records
    one at a time (tensorflow/tfx#5520).
    """
    release = features.release(dataset)
    schema = schema_pb2.Schema()
    _add_id_and_labels(schema, release)
    sequence = _required(schema.feature.add(name=features.SEQUENCE_COLUMN, type=schema_pb2.STRUCT))
    for name in release.feature_sizes(frame_level=True):
        frames = _required(sequence.struct_domain.feature.add(name=name, type=schema_pb2.BYTES))
        frames.value_counts.value_count.add(min=1)         # frames per video (longer ones are truncated)
        frames.value_counts.value_count.add(min=1, max=1)  # one quantized byte string per frame
        # Opaque bytes to TFDV (length statistics), not categorical strings: top-k / unique counts over every
        # distinct 1,024-byte frame held all frames of the dataset in StatisticsGen's memory.
        frames.image_domain.SetInParent()
    representations = schema.tensor_representation_group[""].tensor_representation
    representations[release.id_key].dense_tensor.column_name = release.id_key
    representations[release.id_key].dense_tensor.shape.SetInParent()
    representations[features.LABELS_KEY].varlen_sparse_tensor.column_name = features.LABELS_KEY
    for name in release.feature_sizes(frame_level=True):
        representations[name].ragged_tensor.feature_path.step.extend([features.SEQUENCE_COLUMN, name])
    return schema


def build_schema(frame_level: bool, dataset: str = features.DEFAULT_DATASET) -> schema_pb2.Schema:
    return frame_level_schema(dataset) if frame_level else video_level_schema(dataset)


def to_text(schema: schema_pb2.Schema) -> str:
    from google.protobuf import text_format
    return text_format.MessageToString(schema)


def main():
    for dataset in features.RELEASES:
        for frame_level in (False, True):
            path = schema_path(frame_level, dataset)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(to_text(build_schema(frame_level, dataset)))
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
