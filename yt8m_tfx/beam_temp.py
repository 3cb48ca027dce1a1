"""Leftovers of a Beam write that was restarted: `beam-temp-<name>-<uuid>` folders inside an output.

Beam's file sinks write into a temp folder beside the output and rename the finished files into place.
When an engine restarts a job (Flink after a lost TaskManager), the new attempt writes through a temp
folder of its own and the killed attempt's is never removed: inside an artifact it is a directory where
readers expect only files (the Trainer's `Split-train/*` then fails with "Is a directory").
"""
from __future__ import annotations

from typing import Iterable, List

import tensorflow as tf

BEAM_TEMP_PREFIX = "beam-temp-"


def remove_beam_temp_dirs(uris: Iterable[str]) -> List[str]:
    """Deletes Beam temp folders directly in each uri or in its split folders; returns what it removed."""
    removed = []
    for uri in uris:
        for pattern in (f"{uri}/{BEAM_TEMP_PREFIX}*", f"{uri}/*/{BEAM_TEMP_PREFIX}*"):
            for path in tf.io.gfile.glob(pattern):
                if tf.io.gfile.isdir(path):
                    tf.io.gfile.rmtree(path)
                    removed.append(path)
    return removed
