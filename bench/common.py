"""Shared helpers of the benchmarks: the real-data split, staging, timed child runs, MLMD stage timings.

Every pipeline benchmark runs `local_runner.py` as a child process (under `/usr/bin/time -v` when it
exists) in a fresh pipeline root, then reads metrics and per-component times from that root's MLMD store.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from typing import Dict, List, Sequence

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_DIR = os.path.join(os.path.dirname(PROJECT_ROOT), "shared", "yt8m_sample", "video_level")
RESULTS_DIR = os.path.join(PROJECT_ROOT, "bench", "results")
DEFAULT_BENCH_ROOT = os.path.join(os.environ.get("TMPDIR", "/tmp"), "yt8m_bench")
GNU_TIME = "/usr/bin/time"

# The split of the 80 genuine validate shards: 64 train, 16 eval.
TRAIN_SHARDS = range(0, 64)
EVAL_SHARDS = range(64, 80)
SHARD_NAME = "validate{:04d}.tfrecord"

# Components whose examples/s is reported, and which examples they process (see stage_throughput).
STAGE_EXAMPLES = {
    "ImportExampleGen": "train+eval", "StatisticsGen": "train+eval", "Transform": "train+eval",
    "Trainer": "train_steps*batch_size", "Evaluator": "eval", "BulkInferrer": "eval",
    "PredictionsCsvExporter": "eval",
}


def portable_flags(flags: Sequence[str]) -> List[str]:
    """Flags as written down in results: a flag file inside the project as @recipes/NAME.flags, not this
    machine's absolute path."""
    prefix = "@" + PROJECT_ROOT + os.sep
    return ["@" + flag[len(prefix):] if flag.startswith(prefix) else flag for flag in flags]


def sample_available(sample_dir: str = SAMPLE_DIR) -> bool:
    if os.path.isdir(sample_dir):
        return True
    print(f"skipped: {sample_dir} not found")
    return False


def shard_paths(sample_dir: str, indices: Sequence[int]) -> List[str]:
    paths = [os.path.join(sample_dir, SHARD_NAME.format(i)) for i in indices]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} shard(s) missing, e.g. {missing[0]}")
    return paths


def stage_split(sample_dir: str, root: str, train: Sequence[int] = TRAIN_SHARDS,
                eval_: Sequence[int] = EVAL_SHARDS) -> Dict[str, str]:
    """Symlinks the chosen shards into <root>/input/{train,eval}/ (no copying); returns their globs.

    A shard listed more than once gets one link per occurrence (validate0000.tfrecord,
    validate0000_r1.tfrecord, ...): the scaling benchmark grows the training data past the 64 train
    shards that way.
    """
    globs = {}
    for split, indices in (("train", train), ("eval", eval_)):
        folder = os.path.join(root, "input", split)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        seen: Dict[str, int] = {}
        for path in shard_paths(sample_dir, indices):
            name = os.path.basename(path)
            repeat = seen[name] = seen.get(name, -1) + 1
            link = name if repeat == 0 else name.replace(".tfrecord", f"_r{repeat}.tfrecord")
            os.symlink(os.path.abspath(path), os.path.join(folder, link))
        globs[split] = os.path.join(folder, "*.tfrecord")
    return globs


def repeated_train_shards(count: int, available: Sequence[int] = TRAIN_SHARDS) -> List[int]:
    """The first `count` train shards, cycling through the available ones again past their number."""
    available = list(available)
    return [available[i % len(available)] for i in range(count)]


def count_records(paths: Sequence[str]) -> int:
    """Number of TFRecords in the files, walking the length headers (milliseconds per shard)."""
    from pipeline.data_checks import InputDataError, scan_tfrecord
    total = 0
    for path in paths:
        records, error = scan_tfrecord(path, verify_crc=False)
        if error:
            raise InputDataError(f"{path}: {error}")
        total += records
    return total


def fresh_dir(path: str) -> str:
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def child_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_USE_LEGACY_KERAS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = PROJECT_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


# Seconds between memory samples. Each sample is the high-water mark of the interval before it, so the
# interval only sets how finely peaks are attributed to pipeline stages, not which peaks are seen.
SAMPLE_SECONDS = 0.25
RSS_SAMPLING = (f"each process's high-water mark (VmHWM) over every {SAMPLE_SECONDS} s interval, summed over the "
                "runner and its Beam worker processes")


def peak_rss_since_last_call(pid: int) -> int:
    """Bytes: the process's peak RSS since the previous call (or since it started): VmHWM from
    /proc/<pid>/status, then reset to the current RSS by writing 5 to /proc/<pid>/clear_refs (Linux >= 4.0).
    A sampled RSS alone misses peaks that rise and fall between two samples (by up to 300 MiB in the
    frame-level Evaluator at one sample a second). 0 where /proc lacks either (not Linux, not our process)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            kib = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return 0
    return kib * 1024


class _TreeRssSampler(threading.Thread):
    """Every SAMPLE_SECONDS: the summed peak RSS of a process and all its descendants (Beam workers) over
    the interval just ended (each process's high-water mark, or its current RSS where /proc has none)."""

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.high_water_marks = False  # read (and reset) VmHWM: the child's own ru_maxrss is void then
        self.loads = []  # 1-minute load average samples: how busy the shared machine was
        # (unix time at the end of the interval, summed peak RSS bytes, largest single process's peak RSS
        # bytes): per-component peaks via MLMD's spans
        self.samples = []
        self._done = threading.Event()

    def run(self):
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.is_set():
            total = largest = 0
            try:
                for proc in [root] + root.children(recursive=True):
                    try:
                        rss, high_water_mark = proc.memory_info().rss, peak_rss_since_last_call(proc.pid)
                    except psutil.Error:
                        continue
                    self.high_water_marks |= high_water_mark > 0
                    rss = max(rss, high_water_mark)
                    total, largest = total + rss, max(largest, rss)
            except psutil.Error:
                break
            self.samples.append((time.time(), total, largest))
            self.loads.append(os.getloadavg()[0])
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()


def run_timed(argv: Sequence[str], log_path: str, cwd: str = PROJECT_ROOT) -> dict:
    """Runs argv as a child process (output to log_path); wall time and peak memory.

    peak_rss_mib: the largest single process of the run (its high-water marks where /proc allows reading
    and resetting them; otherwise GNU time's "Maximum resident set size", or getrusage(RUSAGE_CHILDREN)
    without /usr/bin/time). peak_tree_rss_mib: the largest sum over the
    child and all its descendants (Beam worker processes): each process's high-water mark over every
    SAMPLE_SECONDS interval (see peak_rss_since_last_call), summed.
    """
    time_file = log_path + ".time"
    use_gnu_time = os.access(GNU_TIME, os.X_OK)
    cmd = ([GNU_TIME, "-v", "-o", time_file] if use_gnu_time else []) + list(argv)
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
        sampler = _TreeRssSampler(proc.pid)
        sampler.start()
        returncode = proc.wait()
        sampler.stop()
    wall = time.time() - started
    if returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-4000:]
        raise RuntimeError(f"{' '.join(argv)} failed with exit code {returncode}; log {log_path}:\n{tail}")
    peak_tree = max((sample[1] for sample in sampler.samples), default=0)
    result = {"wall_seconds": round(wall, 1), "peak_tree_rss_mib": peak_tree // 2**20 or None,
              "_rss_samples": sampler.samples, "rss_sampling": RSS_SAMPLING,
              "mean_load_1min": round(sum(sampler.loads) / len(sampler.loads), 2) if sampler.loads else None}
    if sampler.high_water_marks:
        # Resetting VmHWM also resets what the kernel reports as the process's maximum RSS at exit, so
        # GNU time's figure would be the last interval's; the sampler saw every interval.
        result["peak_rss_mib"] = max(sample[2] for sample in sampler.samples) // 2**20
        result["peak_rss_source"] = "high-water marks (VmHWM) of each process, every interval (largest single process)"
    elif use_gnu_time:
        with open(time_file) as f:
            match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
        result["peak_rss_mib"] = int(match.group(1)) // 1024 if match else None
        result["peak_rss_source"] = "/usr/bin/time -v (largest single process)"
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result["peak_rss_mib"] = after // 1024 if after > before else None
        result["peak_rss_source"] = "getrusage(RUSAGE_CHILDREN) (largest single process)"
    return result


def runner_argv(pipeline_root: str, extra: Sequence[str]) -> List[str]:
    return [sys.executable, os.path.join(PROJECT_ROOT, "local_runner.py"),
            "--pipeline_root", pipeline_root, *extra]


def stage_intervals(pipeline_root: str) -> Dict[str, tuple]:
    """{component id: (start, end) unix seconds} of the newest execution of each component, from MLMD.

    The span is the execution's create_time .. last_update_time (ms): the executor's run including its
    own start-up (imports, Beam pipeline set-up) and artifact writing, not the orchestrator in between.
    """
    from pipeline import outputs
    store = outputs.metadata_store(pipeline_root)
    if store is None:
        return {}
    node_type = {t.id for t in store.get_context_types() if t.name == "node"}
    newest = {}
    for execution in store.get_executions():
        nodes = [c.name for c in store.get_contexts_by_execution(execution.id) if c.type_id in node_type]
        if not nodes:
            continue
        node = nodes[0].split(".", 1)[-1]  # "<pipeline name>.<component id>"
        if node not in newest or execution.id > newest[node].id:
            newest[node] = execution
    return {node: (e.create_time_since_epoch / 1000.0, e.last_update_time_since_epoch / 1000.0)
            for node, e in sorted(newest.items(), key=lambda item: item[1].id)}


def stage_seconds(pipeline_root: str) -> Dict[str, float]:
    """{component id: seconds} of the newest execution of each component (see stage_intervals)."""
    return {node: round(end - start, 2) for node, (start, end) in stage_intervals(pipeline_root).items()}


# The pseudo-stage after the last component: local_runner reads the results and writes the run report,
# which scores the eval split with the trained model in the runner process.
AFTER_PIPELINE = "AfterPipeline"


def stage_peak_rss(intervals: Dict[str, tuple], samples: Sequence[tuple], min_seconds: float = 1.0,
                   largest_process: bool = False, sample_seconds: float = SAMPLE_SECONDS) -> Dict[str, int]:
    """{component id: MiB}: the largest process-tree peak RSS of the sample intervals that overlap each
    component's run (>= 1 s); with largest_process, the largest single process's instead (the runner, which
    hosts the executors). A sample taken at t covers (t - sample_seconds, t]."""
    peaks = {}
    for node, (start, end) in intervals.items():
        inside = [sample[2 if largest_process else 1] for sample in samples
                  if start < sample[0] < end + sample_seconds]
        if end - start >= min_seconds and inside:
            peaks[node] = max(inside) // 2**20
    return peaks


def trainer_fit_seconds(runner_log: str):
    """Seconds of the Trainer's model.fit epoch as Keras printed it ("300/300 - 109s - loss: ..."), or None.

    The Trainer component's MLMD span also holds its start-up, checkpoints and SavedModel export; this is
    the training loop alone, comparable with bench/plain_keras.py's fit time.
    """
    try:
        with open(runner_log, errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    found = re.findall(r"^(\d+)/\1 - (\d+)s - loss", text, flags=re.MULTILINE)
    return float(found[-1][1]) if found else None


def stage_throughput(seconds: Dict[str, float], train_examples: int, eval_examples: int,
                     train_steps: int, batch_size: int) -> Dict[str, float]:
    """examples/s of the data-processing components (STAGE_EXAMPLES says which examples count)."""
    examples = {"train+eval": train_examples + eval_examples, "eval": eval_examples,
                "train_steps*batch_size": train_steps * batch_size}
    return {stage: round(examples[kind] / seconds[stage], 1)
            for stage, kind in STAGE_EXAMPLES.items() if seconds.get(stage)}


def evaluation_metrics(pipeline_root: str) -> dict:
    from pipeline import outputs
    uri = outputs.latest_artifact_uri(pipeline_root, "ModelEvaluation")
    if not uri:
        return {}
    metrics = outputs.overall_metrics(uri)
    metrics["blessed"] = outputs.validation_ok(uri)
    return metrics


def training_state(pipeline_root: str) -> dict:
    """The newest Trainer's training_state.json (steps trained, kept step, ...) without the evaluation list."""
    from pipeline import outputs
    uri = outputs.latest_artifact_uri(pipeline_root, "ModelRun")
    from trainer.checkpoints import TRAINING_STATE_FILE
    path = os.path.join(uri or "", TRAINING_STATE_FILE)
    if not uri or not os.path.exists(path):
        return {}
    with open(path) as f:
        state = json.load(f)
    state.pop("evaluations", None)
    return state


def run_pipeline(pipeline_root: str, runner_args: Sequence[str], train_examples: int, eval_examples: int,
                 train_steps, batch_size: int) -> dict:
    """One timed pipeline run in pipeline_root (which must be fresh); metrics and per-stage numbers.
    train_steps None: the steps the Trainer actually ran (training_state.json)."""
    run = run_timed(runner_argv(pipeline_root, runner_args), os.path.join(pipeline_root, "runner.log"))
    state = training_state(pipeline_root)
    if train_steps is None:
        train_steps = state.get("final_step", 0)
    samples = run.pop("_rss_samples")
    fit_seconds = trainer_fit_seconds(os.path.join(pipeline_root, "runner.log"))
    intervals = stage_intervals(pipeline_root)
    if intervals and samples:  # local_runner's own work after the components: summary and run report
        intervals[AFTER_PIPELINE] = (max(end for _, end in intervals.values()), samples[-1][0])
    seconds = {node: round(end - start, 2) for node, (start, end) in intervals.items()}
    return {
        **run,
        "stage_seconds": seconds,
        "stage_peak_tree_rss_mib": stage_peak_rss(intervals, samples),
        "stage_peak_process_rss_mib": stage_peak_rss(intervals, samples, largest_process=True),
        "stage_examples_per_s": stage_throughput(seconds, train_examples, eval_examples, train_steps,
                                                 batch_size),
        "stage_examples_counted": dict(STAGE_EXAMPLES),
        "trainer_fit_seconds": fit_seconds,
        "trainer_fit_examples_per_s": (round(train_steps * batch_size / fit_seconds, 1) if fit_seconds
                                       else None),
        "metrics": evaluation_metrics(pipeline_root),
        "train_steps": train_steps,
        "training": state,
    }


def read_result(name: str, benchmark: str) -> dict:
    """bench/results/<name> as written so far (runs are merged into it by name), or an empty one."""
    path = os.path.join(RESULTS_DIR, name)
    if not os.path.exists(path):
        return {"benchmark": benchmark, "runs": {}}
    with open(path) as f:
        return json.load(f)


def quality_metrics(predictions, labels, top_k: int) -> dict:
    """The Evaluator's metrics computed in numpy (yt8m_tfx.metrics_math), for in-memory baselines."""
    from yt8m_tfx import metrics_math
    return {"example_count": int(len(labels)), "gap": metrics_math.gap(predictions, labels, top_k),
            "hit_at_one": metrics_math.hit_at_one(predictions, labels),
            "perr": metrics_math.perr(predictions, labels), "map": metrics_math.mean_ap(predictions, labels, top_k)}


def write_result(name: str, result: dict) -> str:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, name)
    with open(path, "w") as f:
        json.dump(result, f, indent=2, sort_keys=False)
        f.write("\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return path


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    info["nice"] = os.nice(0)
    info["load_1min_at_start"] = round(os.getloadavg()[0], 2)
    return info


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
