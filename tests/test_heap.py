"""The glibc arena cap that yt8m_tfx applies on import, counted with malloc_stats in fresh interpreters."""
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


def test_return_freed_memory_runs():
    heap.return_freed_memory()  # must not raise on glibc; the RSS effect is measured in bench.frame_level
