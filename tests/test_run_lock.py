"""One local run per pipeline root: a second one is refused with a clear message, and the lock dies with
its holder (no stale lock after a crash)."""
import os
import subprocess
import sys
import time

import pytest

import local_runner
from pipeline import run_lock


def test_a_second_run_on_the_same_root_is_refused(tmp_path):
    root = str(tmp_path / "root")
    with run_lock.hold(root):
        with pytest.raises(SystemExit, match=f"another run \\(pid {os.getpid()}\\) is using --pipeline_root={root}"):
            local_runner.main(["--pipeline_root", root, "--train_steps", "1"])
        assert not os.path.exists(os.path.join(root, "metadata.sqlite"))  # refused before anything ran
    with run_lock.hold(root):  # released at the end of the first with-block
        pass


def test_the_lock_of_a_killed_run_does_not_outlive_it(tmp_path):
    root = str(tmp_path / "root")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pipeline import run_lock\n"
        f"with run_lock.hold({root!r}):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(run_lock.PipelineRootBusy, match=f"pid {holder.pid}"):
        with run_lock.hold(root):
            pass
    holder.kill()
    holder.wait()
    deadline = time.time() + 10
    while True:
        try:
            with run_lock.hold(root):
                break
        except run_lock.PipelineRootBusy:
            assert time.time() < deadline, "the killed holder's lock was never released"
            time.sleep(0.1)
