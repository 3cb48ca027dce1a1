"""Pre-flight shard check speed (pipeline/data_checks.py): seconds per GB for the framing walk alone and
with CRC32C of every record, over the shared real shards (file cache warm: the second of two passes).

  .venv/bin/python -m bench.shard_check      -> bench/results/shard_check.json
"""
from __future__ import annotations

import glob
import os
import sys
import time

import yt8m_tfx  # noqa: F401

from bench import common

RESULT_FILE = "shard_check.json"


def main(argv=None) -> int:
    sample_dir = (argv or sys.argv[1:] or [common.SAMPLE_DIR])[0]
    if not common.sample_available(sample_dir):
        return 0
    from pipeline.data_checks import scan_tfrecord
    files = sorted(glob.glob(os.path.join(sample_dir, "*.tfrecord")))
    gigabytes = sum(os.path.getsize(f) for f in files) / 1e9
    result = {"benchmark": "shard_check", "files": len(files), "gigabytes": round(gigabytes, 4),
              "date": common.now(), "machine": common.machine()}
    for label, verify_crc in (("framing_only", False), ("framing_and_crc32c", True)):
        for _ in range(2):  # the first pass warms the file cache
            started = time.perf_counter()
            for path in files:
                scan_tfrecord(path, verify_crc=verify_crc)
            seconds = time.perf_counter() - started
        result[label] = {"seconds": round(seconds, 3), "seconds_per_gb": round(seconds / gigabytes, 2)}
    common.write_result(RESULT_FILE, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
