"""Byte-sized record batches for the tools that run a model over record files (predict, evaluate, report)."""
import os

import tensorflow as tf

from yt8m_tfx import record_batches


def test_videos_per_batch_fills_the_byte_budget_up_to_the_ceiling():
    assert record_batches.videos_per_batch(5_000, 512, batch_bytes=16 * 2**20) == 512      # video-level
    assert record_batches.videos_per_batch(280_000, 512, batch_bytes=16 * 2**20) == 59     # frame-level
    assert record_batches.videos_per_batch(40 * 2**20, 512, batch_bytes=16 * 2**20) == 1   # one huge video
    assert record_batches.videos_per_batch(0, 8) == 8


def _write(path, sizes):
    with tf.io.TFRecordWriter(path) as writer:
        for index, size in enumerate(sizes):
            writer.write(bytes([index % 256]) * size)


def test_batches_keep_every_record_in_order_and_stay_near_the_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(record_batches, "BATCH_BYTES", 1000)
    first, second = str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")
    _write(first, [100] * 25)
    _write(second, [250] * 5)
    # The largest of the first 16 records is 100 bytes: 10 a batch.
    batches = [batch.numpy() for batch in record_batches.record_batches([first, second], 512)]
    assert [len(b) for b in batches] == [10, 10, 10]
    records = [r for b in batches for r in b]
    assert [len(r) for r in records] == [100] * 25 + [250] * 5
    assert [r[0] for r in records] == list(range(25)) + list(range(5))
    # The count ceiling and max_records.
    assert [len(b) for b in record_batches.record_batches([first], 4, max_records=9)] == [4, 4, 1]
    # Big records first: fewer a batch.
    assert [len(b) for b in record_batches.record_batches([second, first], 512)] == [4] * 7 + [2]


def test_no_records_no_batches(tmp_path):
    empty = str(tmp_path / "empty.tfrecord")
    _write(empty, [])
    assert list(record_batches.record_batches([empty], 8)) == []
    assert os.path.exists(empty)
