"""Cheap pre-flight checks of input shards, run by local_runner before the pipeline starts.

A TFRecord is a sequence of [uint64 length][uint32 crc][data][uint32 crc]. Walking the length headers
(seeking over the data) finds truncated shards, the usual result of an interrupted download, in
milliseconds per shard, and names the file; without it the pipeline fails deep inside ImportExampleGen
with "Not a valid TFRecord" and no file name.
"""
from __future__ import annotations

import struct
from typing import Iterable, List, Optional, Tuple

import tensorflow as tf

HEADER_BYTES = 12   # uint64 length + uint32 masked crc of the length
FOOTER_BYTES = 4    # uint32 masked crc of the data


class InputDataError(ValueError):
    pass


def scan_tfrecord(path: str) -> Tuple[int, Optional[str]]:
    """(records, None) for a whole number of well-framed records, else (records before it, what is wrong)."""
    size = tf.io.gfile.stat(path).length
    offset = records = 0
    with tf.io.gfile.GFile(path, "rb") as f:
        while offset < size:
            if size - offset < HEADER_BYTES:
                return records, f"truncated record header at byte {offset} (after {records} records)"
            f.seek(offset)
            (length,) = struct.unpack("<Q", f.read(8))
            end = offset + HEADER_BYTES + length + FOOTER_BYTES
            if end > size:
                return records, (f"record {records} at byte {offset} claims {length} bytes but the file ends at "
                                 f"{size} (truncated download?)")
            offset, records = end, records + 1
    return records, None


def tfrecord_framing_error(path: str) -> str | None:
    """None when the file is a whole number of well-framed records, else what is wrong with it."""
    return scan_tfrecord(path)[1]


def check_shards(patterns: Iterable[str]) -> List[str]:
    """Every file matching each pattern; raises InputDataError naming empty patterns and bad files."""
    problems, files = [], []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            problems.append(f"no file matches {pattern!r}")
        for path in matched:
            error = tfrecord_framing_error(path)
            if error:
                problems.append(f"{path}: {error}")
        files.extend(matched)
    if problems:
        raise InputDataError("Input data problems:\n  " + "\n  ".join(problems))
    return files


