"""A console a person can read during `local_runner.py`: one line per component, a live training line, and
every other log line (TFX, Beam and its worker processes, TensorFlow's C++ logs) in a log file.

While the run lasts, file descriptors 1 and 2 point at `<pipeline_root>/logs/run-<time>.log`, so everything
the process and its children print lands there; the console keeps a duplicate of the original stdout. The
component lines come from TFX's own log records (LocalDagRunner: "Component X is running/finished",
the launcher: "A cached execution ... is used"), the training line from trainer/progress.py.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Optional, TextIO

from yt8m_tfx.command_line import UserError

# On a non-terminal (CI, a file) the progress line is printed at most this often.
PLAIN_PROGRESS_SECONDS = 30.0


def format_component_line(name: str, seconds: float, cached: bool = False, skipped: bool = False) -> str:
    if skipped:
        return f"  {name:<26} skipped"
    return f"  {name:<26} {seconds:5.0f} s{'  (cached)' if cached else ''}"


class _ComponentLines(logging.Handler):
    def __init__(self, console: "RunConsole"):
        super().__init__(level=logging.INFO)
        from trainer.progress import PREFIX  # imports TensorFlow: only once output goes to the log
        self.progress_prefix = PREFIX
        self.console = console
        self.started, self.cached = {}, set()
        self.running: Optional[str] = None
        self.last_plain_progress = 0.0

    def emit(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a malformed third-party record must not break the run
            return
        if message.startswith("Component ") and message.endswith(" is running."):
            self.running = message[len("Component "):-len(" is running.")]
            self.started[self.running] = time.monotonic()
        elif message.startswith("A cached execution") and self.running:
            self.cached.add(self.running)
        elif message.startswith("Component ") and message.endswith(" is finished."):
            name = message[len("Component "):-len(" is finished.")]
            seconds = time.monotonic() - self.started.get(name, time.monotonic())
            self.console.line(format_component_line(name, seconds, cached=name in self.cached))
            self.running = None
        elif message.startswith("Skipping component "):
            self.console.line(format_component_line(message[len("Skipping component "):].rstrip("."), 0,
                                                    skipped=True))
        elif message.startswith(self.progress_prefix):
            text = f"  {self.running or 'Trainer':<26} " + message[len(self.progress_prefix):].strip()
            if self.console.tty:
                self.console.live(text)
            elif time.monotonic() - self.last_plain_progress >= PLAIN_PROGRESS_SECONDS or " 0:00 left" in text:
                self.last_plain_progress = time.monotonic()
                self.console.line(text)


class RunConsole:
    """with RunConsole(log_dir, verbose) as console: ... — inside, output goes to console.log_path and the
    terminal shows component and progress lines. verbose (or a stdout without a file descriptor, as under
    pytest's capsys) leaves output alone."""

    def __init__(self, log_dir: str, verbose: bool = False):
        self.log_dir, self.verbose = log_dir, verbose
        self.log_path: Optional[str] = None
        self.active = False
        self.tty = False
        self._out: Optional[TextIO] = None
        self._saved_fds = ()
        self._handler: Optional[_ComponentLines] = None
        self._live_open = False

    def __enter__(self):
        try:
            stdout_fd = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):
            stdout_fd = None
        if self.verbose or stdout_fd is None:
            return self
        os.makedirs(self.log_dir, exist_ok=True)
        self.log_path = os.path.join(self.log_dir, time.strftime("run-%Y%m%d-%H%M%S.log"))
        sys.stdout.flush()
        sys.stderr.flush()
        self._out = os.fdopen(os.dup(stdout_fd), "w", buffering=1)
        self.tty = self._out.isatty()
        self._saved_fds = (os.dup(1), os.dup(2))
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        root = logging.getLogger()
        if not root.handlers:  # what basicConfig in TFX/Beam would add later, were our handler not there
            logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")
        self._handler = _ComponentLines(self)
        logging.getLogger().addHandler(self._handler)
        self.active = True
        return self

    def line(self, text: str) -> None:
        """A finished line on the terminal (or stdout when inactive)."""
        out = self._out if self.active else sys.stdout
        if self._live_open:
            out.write("\n")
            self._live_open = False
        out.write(text + "\n")
        out.flush()

    def live(self, text: str) -> None:
        """A line rewritten in place on a terminal."""
        self._out.write("\r\033[K" + text)
        self._out.flush()
        self._live_open = True

    def __exit__(self, exc_type, exc, tb):
        if not self.active:
            return False
        logging.getLogger().removeHandler(self._handler)
        sys.stdout.flush()
        sys.stderr.flush()
        if self._live_open:
            self._out.write("\n")
        os.dup2(self._saved_fds[0], 1)
        os.dup2(self._saved_fds[1], 2)
        for fd in self._saved_fds:
            os.close(fd)
        self._out.close()
        self.active = False
        # sys.exit and the entry point (a UserError, yt8m_tfx/command_line.py) print their own message.
        if exc is not None and not isinstance(exc, (SystemExit, UserError)):
            running = self._handler.running
            print(f"\nFAILED{f' in {running}' if running else ''}: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"Full log: {self.log_path}")
        return False
