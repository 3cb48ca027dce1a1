"""What the standalone entry points share so a person can read them: TensorFlow imported without its C++
start-up lines, and a user mistake reported as one line naming the flag (exit status 2) instead of a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Callable, Optional, Sequence

# argparse's own status for a bad command line; the same for a flag whose value turns out to be wrong.
USER_ERROR_EXIT_STATUS = 2


class UserError(ValueError):
    """A mistake in what the user asked for (a flag's value, the data it names); the message names the flag
    and value and says what was expected. Entry points print it as one line; code may catch it as ValueError."""


@contextlib.contextmanager
def stderr_discarded():
    """Sends file descriptor 2 to /dev/null for the block: the C++ libraries TensorFlow loads write there
    directly, past Python's sys.stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Imports TensorFlow without the lines it prints on every start (CUDA not found, cuDNN/cuBLAS/cuFFT
    factories, oneDNN, CPU features, TF-TRT), which say nothing about the run. With verbose, all is shown.
    Only the import is silenced: errors of the run itself still reach stderr."""
    if verbose or "tensorflow" in sys.modules:
        return
    # Levels below 2 (info, warning) are filtered by TensorFlow itself for the whole process; the errors
    # printed while its CUDA plugins register, before that filter exists, need the descriptor discarded.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with stderr_discarded():
        import tensorflow  # noqa: F401
    import absl.logging
    absl.logging.set_verbosity(absl.logging.ERROR)


def parse_bool(value: str) -> bool:
    """Accepts the starter code's spelling `--frame_features=True` as well as a bare flag."""
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def add_verbose_flag(parser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up lines and a traceback for any error")


def wants_verbose(argv: Optional[Sequence[str]]) -> bool:
    return "--verbose" in (sys.argv[1:] if argv is None else argv)


def run_tool(main: Callable[[Optional[Sequence[str]]], int], argv: Optional[Sequence[str]] = None) -> int:
    """Runs an entry point's main: TensorFlow imported quietly first, a UserError printed as
    `error: <message>` with exit status 2 (with --verbose it propagates, traceback included)."""
    verbose = wants_verbose(argv)
    import_tensorflow_quietly(verbose)
    try:
        return main(argv)
    except UserError as error:
        if verbose:
            raise
        print(f"error: {error}", file=sys.stderr)
        return USER_ERROR_EXIT_STATUS
