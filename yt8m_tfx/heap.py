"""glibc heap settings for the pipeline's processes.

LocalDagRunner runs every executor in the pipeline's own process, and with Beam's multi-threaded
DirectRunner the Beam work as well. glibc's malloc gives each new thread its own arena (up to 8 per core),
and what a thread frees stays in its arena: a process that ran many TensorFlow and Beam threads keeps the
high-water mark of every arena. Two arenas measured the frame-level Trainer's peak at 2.3 GiB instead of
2.8-2.9 GiB, at the same steps/s and the same GAP (README, "Frame-level data").
"""
import ctypes
import gc
import os

ARENA_MAX = 2
_M_ARENA_MAX = -8  # mallopt parameter number, <malloc.h>


def _glibc():
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to tune
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = ARENA_MAX) -> bool:
    """Cap malloc arenas for threads started from now on, unless MALLOC_ARENA_MAX is set (glibc then
    honours the user's value itself). True when the cap was applied."""
    libc = _glibc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def return_freed_memory() -> None:
    """Give freed heap pages back to the OS, e.g. after training inside the pipeline process, so the next
    component does not start from the previous one's peak."""
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
