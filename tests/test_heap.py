"""yt8m_tfx/heap.py in fresh interpreters: the arena cap applied on import (arenas counted with malloc_stats)
and the freed heap returned to the OS."""
import os
import subprocess
import sys

import pytest

from yt8m_tfx import heap

# Six live threads each allocate from malloc (a numpy buffer, not Python's small-object pools), then glibc prints
# one "Arena N:" block per arena to stderr.
COUNT_ARENAS = """
import ctypes, threading, numpy
{setup}
together = threading.Barrier(6)
def work():
    together.wait()  # all alive at once: an exited thread's arena would be handed to the next one
    numpy.ones(4096)
    together.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
[t.start() for t in threads]
[t.join() for t in threads]
ctypes.CDLL("libc.so.6").malloc_stats()
"""

pytestmark = pytest.mark.skipif(heap._glibc() is None, reason="glibc only")


def arenas(setup: str, **env) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    environ.update(env)
    run = subprocess.run([sys.executable, "-c", COUNT_ARENAS.format(setup=setup)], env=environ,
                         capture_output=True, text=True, check=True)
    return sum(line.startswith("Arena ") for line in run.stderr.splitlines())


def test_import_caps_arenas_and_glibc_default_does_not():
    assert arenas("import yt8m_tfx") == heap.ARENA_MAX
    assert arenas("") == 7  # the main thread's arena and one per new thread


def test_users_malloc_arena_max_wins():
    assert arenas("import yt8m_tfx", MALLOC_ARENA_MAX="4") == 4


# 100 MiB of malloc'd blocks freed below a live one: glibc keeps the pages (only the heap's top is trimmed
# on free) until malloc_trim; prints the resident bytes return_freed_memory gives back.
RESIDENT_BYTES_RETURNED = """
import os
from yt8m_tfx import heap
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
blocks = [bytes(1024) + bytes([i % 256]) for i in range(100_000)]
live_above_them = bytes(2048) + b"x"
del blocks
before = resident()
{call}
print(before - resident())
"""


def resident_bytes_returned(call: str) -> int:
    run = subprocess.run([sys.executable, "-c", RESIDENT_BYTES_RETURNED.format(call=call)],
                         capture_output=True, text=True, check=True)
    return int(run.stdout.split()[-1])


def test_return_freed_memory_gives_freed_heap_back_to_the_os():
    assert resident_bytes_returned("heap.return_freed_memory()") > 90 * 2**20
    assert resident_bytes_returned("pass") < 10 * 2**20
