"""The benchmarks' memory measurement: a peak between two samples is counted, and attributed to its stage."""
import subprocess
import sys

import pytest

from bench import common

MIB = 2**20


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_peak_that_is_gone_before_the_sample_is_still_counted():
    # The child fills 300 MiB, frees it (a block this large goes back to the OS at once) and then idles:
    # the RSS seen at any later moment is small, the high-water mark is not.
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nblock = b'x' * (300 * 2**20)\ndel block\n"
                               "print('freed', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "freed"
        assert _rss_bytes(child.pid) < 100 * MIB
        assert common.peak_rss_since_last_call(child.pid) >= 300 * MIB
        # The call reset the mark to the current RSS: the next interval reports only what it saw.
        assert common.peak_rss_since_last_call(child.pid) < 100 * MIB
    finally:
        child.kill()
        child.wait()


def test_a_process_that_is_gone_reports_nothing():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert common.peak_rss_since_last_call(child.pid) == 0


def test_each_stage_gets_the_peaks_of_the_intervals_that_overlap_it():
    # A sample at t holds the peak of (t - 0.25, t]. Stage a runs 10.0-12.0, stage b 12.1-14.0.
    samples = [(t, mib * MIB, mib * MIB) for t, mib in
               [(10.0, 900), (10.25, 1000), (12.0, 3000), (12.25, 1500), (13.0, 1200), (14.25, 1100), (14.5, 4000)]]
    peaks = common.stage_peak_rss({"a": (10.0, 12.0), "b": (12.1, 14.0)}, samples, sample_seconds=0.25)
    # a: 900 at 10.0 covers time before a started; 3000 at 12.0 is a's. b: 1500 at 12.25 covers 12.0-12.25,
    # which overlaps b (from 12.1); 1100 at 14.25 covers its last moments; 4000 at 14.5 is after b.
    assert peaks == {"a": 3000, "b": 1500}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_run_timed_reports_a_short_peak_of_the_child(tmp_path):
    # 300 MiB for a moment, then half a second of idling: both the summed and the single-process peak see it
    # (resetting the high-water marks voids GNU time's own figure, so run_timed must not report that one).
    program = "import time\nblock = b'x' * (300 * 2**20)\ndel block\ntime.sleep(0.5)"
    result = common.run_timed([sys.executable, "-c", program], str(tmp_path / "child.log"))
    assert result["peak_tree_rss_mib"] >= 300
    assert result["peak_rss_mib"] >= 300
    assert "high-water" in result["peak_rss_source"]
