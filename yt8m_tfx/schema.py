"""The curated TFDV schema of YT8M video-level data, generated from yt8m_tfx.features.

The checked-in copy (pipeline/schema/video_level/schema.pbtxt) is what ImportSchemaGen reads; a test
asserts it equals `video_level_schema()`, so feature sizes and the class count live only in features.py.
Regenerate with:  python -m yt8m_tfx.schema
"""
from __future__ import annotations

import os

from tensorflow_metadata.proto.v0 import schema_pb2

from yt8m_tfx import features

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pipeline", "schema")
VIDEO_LEVEL_SCHEMA_PATH = os.path.join(SCHEMA_DIR, "video_level", "schema.pbtxt")


def _required(feature: schema_pb2.Feature) -> schema_pb2.Feature:
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1
    return feature


def video_level_schema() -> schema_pb2.Schema:
    schema = schema_pb2.Schema()
    video_id = _required(schema.feature.add(name=features.VIDEO_ID_KEY, type=schema_pb2.BYTES))
    video_id.shape.SetInParent()  # a scalar string
    labels = _required(schema.feature.add(name=features.LABELS_KEY, type=schema_pb2.INT))
    labels.int_domain.min = 0
    labels.int_domain.max = features.NUM_CLASSES - 1
    labels.value_count.min = 1
    for name, size in features.VIDEO_FEATURE_SIZES.items():
        feature = _required(schema.feature.add(name=name, type=schema_pb2.FLOAT))
        feature.shape.dim.add(size=size)
        feature.float_domain.disallow_nan = True
        feature.float_domain.disallow_inf = True
    return schema


def to_text(schema: schema_pb2.Schema) -> str:
    from google.protobuf import text_format
    return text_format.MessageToString(schema)


def main():
    os.makedirs(os.path.dirname(VIDEO_LEVEL_SCHEMA_PATH), exist_ok=True)
    with open(VIDEO_LEVEL_SCHEMA_PATH, "w") as f:
        f.write(to_text(video_level_schema()))
    print(f"wrote {VIDEO_LEVEL_SCHEMA_PATH}")


if __name__ == "__main__":
    main()
