"""The curated TFDV schemas of YT8M video- and frame-level data, generated from yt8m_tfx.features.

The checked-in copies (pipeline/schema/{video_level,frame_level}/schema.pbtxt) are what ImportSchemaGen
reads; a test asserts they equal these functions' output, so feature sizes and the class count live
only in features.py.
Regenerate with:  python -m yt8m_tfx.schema
"""
from __future__ import annotations

import os

from tensorflow_metadata.proto.v0 import schema_pb2

from yt8m_tfx import features

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pipeline", "schema")
VIDEO_LEVEL_SCHEMA_PATH = os.path.join(SCHEMA_DIR, "video_level", "schema.pbtxt")
FRAME_LEVEL_SCHEMA_PATH = os.path.join(SCHEMA_DIR, "frame_level", "schema.pbtxt")


def _required(feature: schema_pb2.Feature) -> schema_pb2.Feature:
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1
    return feature


def _add_id_and_labels(schema: schema_pb2.Schema):
    video_id = _required(schema.feature.add(name=features.VIDEO_ID_KEY, type=schema_pb2.BYTES))
    video_id.shape.SetInParent()  # a scalar string
    labels = _required(schema.feature.add(name=features.LABELS_KEY, type=schema_pb2.INT))
    labels.int_domain.min = 0
    labels.int_domain.max = features.NUM_CLASSES - 1
    labels.value_count.min = 1


def video_level_schema() -> schema_pb2.Schema:
    schema = schema_pb2.Schema()
    _add_id_and_labels(schema)
    for name, size in features.VIDEO_FEATURE_SIZES.items():
        feature = _required(schema.feature.add(name=name, type=schema_pb2.FLOAT))
        feature.shape.dim.add(size=size)
        feature.float_domain.disallow_nan = True
        feature.float_domain.disallow_inf = True
    return schema


def frame_level_schema() -> schema_pb2.Schema:
    """SequenceExample schema: context id/labels, feature_lists as children of the ##SEQUENCE## struct.

    The explicit tensor representations make tfx_bsl decode batches natively (frames become
    RaggedTensors [batch, frames, 1]); without them Transform falls back to parsing raw records
    one at a time (tensorflow/tfx#5520).
    """
    schema = schema_pb2.Schema()
    _add_id_and_labels(schema)
    sequence = _required(schema.feature.add(name=features.SEQUENCE_COLUMN, type=schema_pb2.STRUCT))
    for name in features.FRAME_FEATURE_SIZES:
        frames = _required(sequence.struct_domain.feature.add(name=name, type=schema_pb2.BYTES))
        frames.value_counts.value_count.add(min=1)         # frames per video (longer ones are truncated)
        frames.value_counts.value_count.add(min=1, max=1)  # one quantized byte string per frame
    representations = schema.tensor_representation_group[""].tensor_representation
    representations[features.VIDEO_ID_KEY].dense_tensor.column_name = features.VIDEO_ID_KEY
    representations[features.VIDEO_ID_KEY].dense_tensor.shape.SetInParent()
    representations[features.LABELS_KEY].varlen_sparse_tensor.column_name = features.LABELS_KEY
    for name in features.FRAME_FEATURE_SIZES:
        representations[name].ragged_tensor.feature_path.step.extend([features.SEQUENCE_COLUMN, name])
    return schema


SCHEMAS = {VIDEO_LEVEL_SCHEMA_PATH: video_level_schema, FRAME_LEVEL_SCHEMA_PATH: frame_level_schema}


def schema_path(frame_level: bool) -> str:
    return FRAME_LEVEL_SCHEMA_PATH if frame_level else VIDEO_LEVEL_SCHEMA_PATH


def to_text(schema: schema_pb2.Schema) -> str:
    from google.protobuf import text_format
    return text_format.MessageToString(schema)


def main():
    for path, build in SCHEMAS.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(to_text(build()))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
