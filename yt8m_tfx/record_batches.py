"""Batches of serialized TFRecords sized by bytes, for the tools that run a model over record files outside
Beam: `inference.predict`, `evaluator_ext.evaluate` and the run report (`pipeline/report.py`).

A fixed number of videos is a fixed amount of memory only when records have one size: 512 video-level
records are 2.5 MB, 512 frame-level ones (~280 KB each) 140 MB serialized and ~700 MB of floats once a
signature decodes them, and each signature call decodes its own copy. The Beam stages batch frame-level
records by bytes already (pipeline/beam_presets.py); these tools do the same with the count as a ceiling.
"""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

BATCH_BYTES = 16 * 2**20   # serialized bytes a batch: ~60 frame-level videos of 300 frames
SIZE_SAMPLE = 16           # records whose largest size sets the batch size


def compression_of(files: Sequence[str]) -> str:
    """TFRecordDataset's compression_type for record files: ImportExampleGen writes `.gz` (GZIP) files, the
    dataset's own shards are uncompressed."""
    return "GZIP" if files and files[0].endswith(".gz") else ""


def videos_per_batch(record_bytes: int, max_videos: int, batch_bytes: int = BATCH_BYTES) -> int:
    """Videos of record_bytes each that fit in batch_bytes, between 1 and max_videos."""
    return max(1, min(max_videos, batch_bytes // max(record_bytes, 1)))


def record_batches(files: Sequence[str], max_videos_per_batch: int, compression_type: str = "",
                   max_records: Optional[int] = None) -> Iterator["tf.Tensor"]:
    """String tensors of serialized records from the files, in order; each batch holds about BATCH_BYTES
    (sized by the largest of the first SIZE_SAMPLE records) and at most max_videos_per_batch records."""
    import tensorflow as tf
    records = tf.data.TFRecordDataset(list(files), compression_type=compression_type)
    if max_records is not None:
        records = records.take(max_records)
    largest = max((len(record.numpy()) for record in records.take(SIZE_SAMPLE)), default=0)
    if not largest:
        return
    yield from records.batch(videos_per_batch(largest, max_videos_per_batch, BATCH_BYTES))
