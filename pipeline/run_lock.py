"""One local run per pipeline root at a time.

Two LocalDagRunner runs on one root would write the same MLMD sqlite database and the same checkpoint
directory at once. The lock is an flock on <root>/.run.lock: the kernel drops it when the holding process
ends, however it ends, so a crashed run never leaves a stale lock behind.
"""
from __future__ import annotations

import contextlib
import fcntl
import os

LOCK_FILE = ".run.lock"


class PipelineRootBusy(SystemExit):
    pass


@contextlib.contextmanager
def hold(pipeline_root: str):
    """Holds the root's lock for the with-block; raises PipelineRootBusy (exit message) if another run has it."""
    os.makedirs(pipeline_root, exist_ok=True)
    path = os.path.join(pipeline_root, LOCK_FILE)
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise PipelineRootBusy(f"error: another run (pid {holder}) is using --pipeline_root={pipeline_root}; "
                                   f"wait for it to finish or give another --pipeline_root") from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
