"""A standalone Apache Flink cluster on this machine, for the pipeline's Beam stages.

    python -m cluster.flink install  # (make flink-install) download Flink and build the job server, once
    python -m cluster.flink up       # (make flink-up) install if needed, then start what is not running
    python -m cluster.flink status   # what runs, with pids, and Flink's own view of its TaskManagers
    python -m cluster.flink down     # (make flink-down) stop exactly the processes `up` started

`up` starts five kinds of process, each a child of nobody (its own session), recorded by pid in
<cache>/flink-cluster/state.json:
  jobmanager        Flink's JobManager; REST API and web UI on localhost:8081
  taskmanager-N     TASK_MANAGERS separate TaskManager JVMs, SLOTS_PER_TASK_MANAGER slots each
  job-server        Beam's Flink job server (translates the Python pipelines into Flink jobs)
  worker-pool       the Python SDK workers' pool (cluster/worker_pool.py), so no Docker is needed

Downloads (Flink from PyPI, the job server's jars from Maven Central) are cached in
$YT8M_CACHE_DIR (default ~/.cache/yt8m-tfx), never in the repository. Everything listens on localhost.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import metadata
from typing import Dict, List, Optional

FLINK_VERSION = "1.19.3"
FLINK_MINOR = ".".join(FLINK_VERSION.split(".")[:2])  # the Beam runner artifact is per Flink minor version
HOST = "localhost"
REST_PORT = 8081
JOBMANAGER_RPC_PORT = 6123
JOB_SERVER_PORT = 8099
ARTIFACT_PORT = 8098
EXPANSION_PORT = 8097
WORKER_POOL_PORT = 50000
TASK_MANAGERS = 2
SLOTS_PER_TASK_MANAGER = 2
PARALLELISM = 2

# Sized for a 24 GiB / 2-core machine that also runs the pipeline's own Python processes. Beam's
# translation of Transform has ~150 operators at once: Flink's default network memory (10 % of a 1.7 GB
# TaskManager) ran out of buffers in StatisticsGen; 1 GiB fixed per TaskManager did not.
JOBMANAGER_MEMORY = "1200m"
TASKMANAGER_MEMORY = "5120m"
TASKMANAGER_NETWORK_MEMORY = "1g"
# The JVM's direct-memory limit is network + off-heap memory, and the network buffers take theirs up front:
# the gRPC channels to the SDK workers allocate from the rest (128 MB by default), and at 18.7k videos
# Transform's job failed with "OutOfMemoryError: Direct buffer memory". Batch jobs sort in managed memory,
# which is made smaller to leave the task heap ~1.3 GB.
TASKMANAGER_TASK_OFF_HEAP = "512m"
TASKMANAGER_MANAGED_FRACTION = "0.25"
# Every Beam job loads the job server's classes anew in each TaskManager.
TASKMANAGER_METASPACE = "512m"
# Restart the whole job when a task fails. With Flink's default (restart the failed region only) one lost
# TaskManager failed each of the ~10 regions of Transform's job at the same instant, and every region's
# failure used up one restart attempt. A whole-job restart is one attempt per loss, and a job that fails
# for a reason of its own (a bug) gives up after a few.
FAILOVER_STRATEGY = "full"
RESTART_ATTEMPTS = 4
RESTART_DELAY = "10 s"
# How long a silent TaskManager counts as alive; Flink's default (50 s) delays every recovery.
HEARTBEAT_TIMEOUT_MS = 20000

STARTUP_TIMEOUT_S = 120
STOP_TIMEOUT_S = 20
JOB_SERVER_MAIN = "org.apache.beam.runners.flink.FlinkJobServerDriver"
HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.path.dirname(HERE)


class ClusterError(RuntimeError):
    """A problem the user fixes (a port taken, Java missing, a process that would not start)."""


def cache_dir() -> str:
    return os.environ.get("YT8M_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "yt8m-tfx")


def run_dir() -> str:
    """Config, logs, temp files and the pid record of the running cluster."""
    return os.path.join(cache_dir(), "flink-cluster")


def flink_home() -> str:
    return os.path.join(cache_dir(), f"flink-{FLINK_VERSION}")


def beam_version() -> str:
    """The installed Python SDK's version: the job server is built for exactly this one."""
    return metadata.version("apache-beam")


def job_server_jar() -> str:
    return os.path.join(cache_dir(), f"beam-runners-flink-{FLINK_MINOR}-job-server-{beam_version()}.jar")


def rest_url(host: str = HOST, port: int = REST_PORT) -> str:
    return f"http://{host}:{port}"


# ---------------------------------------------------------------------------------------------- install

def _say(message: str) -> None:
    print(message, flush=True)


def _run_logged(cmd: List[str], log_path: str, what: str, cwd: Optional[str] = None) -> None:
    with open(log_path, "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    if rc != 0:
        with open(log_path) as log:
            tail = "".join(log.readlines()[-15:])
        raise ClusterError(f"{what} failed (exit {rc}); last lines of {log_path}:\n{tail}")


def ensure_flink_distribution() -> str:
    """Flink's distribution, assembled from its two PyPI archives: the jars (apache-flink-libraries, an
    sdist) and the scripts and config (apache-flink's wheel). Downloaded with pip, never installed: the
    apache-flink package pins an apache-beam far older than the pipeline's."""
    home = flink_home()
    if os.path.exists(os.path.join(home, ".complete")):
        return home
    downloads = os.path.join(cache_dir(), "downloads")
    os.makedirs(downloads, exist_ok=True)
    _say(f"Downloading Flink {FLINK_VERSION} (~235 MB, once) into {downloads} ...")
    log = os.path.join(downloads, "pip-download.log")
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", downloads]
    _run_logged(pip + ["--no-binary", ":all:", f"apache-flink-libraries=={FLINK_VERSION}"], log,
                "downloading apache-flink-libraries")
    _run_logged(pip + ["--only-binary", ":all:", "--python-version", "3.11", "--implementation", "cp",
                       f"apache-flink=={FLINK_VERSION}"], log, "downloading apache-flink")
    libraries = glob.glob(os.path.join(downloads, f"apache-flink-libraries-{FLINK_VERSION}.tar.gz"))
    wheels = glob.glob(os.path.join(downloads, f"apache_flink-{FLINK_VERSION}-*.whl"))
    if not libraries or not wheels:
        raise ClusterError(f"pip saved no Flink {FLINK_VERSION} archives in {downloads}")
    staging = tempfile.mkdtemp(prefix="flink-", dir=cache_dir())
    try:
        with tarfile.open(libraries[0]) as tar:
            tar.extractall(staging, filter="data")
        deps = os.path.join(staging, f"apache-flink-libraries-{FLINK_VERSION}", "deps")
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in wheel.namelist():
                if name.startswith(("pyflink/bin/", "pyflink/conf/")) and not name.endswith("/"):
                    wheel.extract(name, staging)
        assembled = os.path.join(staging, "home")
        os.makedirs(assembled)
        for part in ("lib", "opt", "plugins", "bin", "licenses"):
            if os.path.isdir(os.path.join(deps, part)):
                shutil.copytree(os.path.join(deps, part), os.path.join(assembled, part), dirs_exist_ok=True)
        for part in ("bin", "conf"):
            shutil.copytree(os.path.join(staging, "pyflink", part), os.path.join(assembled, part),
                            dirs_exist_ok=True)
        for script in glob.glob(os.path.join(assembled, "bin", "*.sh")) + [os.path.join(assembled, "bin", "flink")]:
            os.chmod(script, 0o755)
        if not glob.glob(os.path.join(assembled, "lib", "flink-dist*.jar")):
            raise ClusterError(f"the Flink {FLINK_VERSION} archives hold no lib/flink-dist jar")
        shutil.rmtree(home, ignore_errors=True)
        os.rename(assembled, home)
        open(os.path.join(home, ".complete"), "w").close()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return home


def ensure_job_server_jar() -> str:
    """Beam's Flink job server, shaded by Maven from cluster/flink_job_server/pom.xml (Maven Central
    publishes the runner library for this Beam version, not a ready job-server jar). Built outside the
    repository, once per Beam version."""
    jar = job_server_jar()
    if os.path.exists(jar):
        return jar
    if not shutil.which("mvn"):
        raise ClusterError("building Beam's Flink job server needs Maven (`mvn`) and a JDK 11+ on PATH")
    build = os.path.join(cache_dir(), "job-server-build")
    os.makedirs(build, exist_ok=True)
    shutil.copy(os.path.join(HERE, "flink_job_server", "pom.xml"), os.path.join(build, "pom.xml"))
    _say(f"Building Beam {beam_version()}'s Flink {FLINK_MINOR} job server with Maven (~160 MB, once) ...")
    _run_logged(["mvn", "-B", "-q", "package", f"-Dbeam.version={beam_version()}",
                 f"-Dflink.minor={FLINK_MINOR}"], os.path.join(build, "mvn.log"), "the Maven build", cwd=build)
    shutil.move(os.path.join(build, "target", "beam-flink-job-server.jar"), jar)
    shutil.rmtree(os.path.join(build, "target"), ignore_errors=True)
    return jar


def flink_settings(work: str) -> Dict[str, str]:
    """Flink's configuration for this machine (flat keys, as Flink's config.yaml accepts them)."""
    return {
        "jobmanager.rpc.address": HOST, "jobmanager.bind-host": HOST,
        "jobmanager.rpc.port": str(JOBMANAGER_RPC_PORT),
        "taskmanager.host": HOST, "taskmanager.bind-host": HOST,
        "rest.address": HOST, "rest.bind-address": HOST, "rest.port": str(REST_PORT),
        "jobmanager.memory.process.size": JOBMANAGER_MEMORY,
        "taskmanager.memory.process.size": TASKMANAGER_MEMORY,
        "taskmanager.memory.network.min": TASKMANAGER_NETWORK_MEMORY,
        "taskmanager.memory.network.max": TASKMANAGER_NETWORK_MEMORY,
        "taskmanager.memory.jvm-metaspace.size": TASKMANAGER_METASPACE,
        "taskmanager.memory.task.off-heap.size": TASKMANAGER_TASK_OFF_HEAP,
        "taskmanager.memory.managed.fraction": TASKMANAGER_MANAGED_FRACTION,
        "taskmanager.numberOfTaskSlots": str(SLOTS_PER_TASK_MANAGER),
        "parallelism.default": str(PARALLELISM),
        "cluster.evenly-spread-out-slots": "true",
        "jobmanager.execution.failover-strategy": FAILOVER_STRATEGY,
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": str(RESTART_ATTEMPTS),
        "restart-strategy.fixed-delay.delay": RESTART_DELAY,
        "heartbeat.timeout": str(HEARTBEAT_TIMEOUT_MS),
        "io.tmp.dirs": os.path.join(work, "tmp"),
        "env.pid.dir": os.path.join(work, "pids"),
        "env.log.dir": os.path.join(work, "log"),
    }


def write_config(home: str, work: str) -> str:
    """<work>/conf: the distribution's log settings and Java options, with this machine's settings."""
    conf = os.path.join(work, "conf")
    shutil.copytree(os.path.join(home, "conf"), conf, dirs_exist_ok=True)
    # Keep the distribution's JVM flags (Java 17 needs its --add-opens list); everything else is ours.
    java_opts = ""
    with open(os.path.join(home, "conf", "config.yaml")) as shipped:
        lines = shipped.read().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("all:") and i >= 2 and lines[i - 1].strip() == "opts:":
            java_opts = line.split(":", 1)[1].strip()
            break
    settings = dict(flink_settings(work))
    if java_opts:
        settings["env.java.opts.all"] = java_opts
    with open(os.path.join(conf, "config.yaml"), "w") as out:
        out.write("# Written by `python -m cluster.flink up` (cluster/flink.py); edits are overwritten.\n")
        for key, value in settings.items():
            out.write(f"{key}: {json.dumps(value)}\n")
    for name in ("masters", "workers"):
        with open(os.path.join(conf, name), "w") as out:
            out.write(f"{HOST}\n")
    for sub in ("tmp", "pids", "log"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    return conf


# -------------------------------------------------------------------------------------------- processes

@dataclass(frozen=True)
class Role:
    name: str
    marker: str          # a string in the process's command line: a recorded pid is ours only if it matches
    ports: tuple          # fixed ports it listens on, checked free before it starts


def roles() -> List[Role]:
    return ([Role("jobmanager", "StandaloneSessionClusterEntrypoint", (REST_PORT, JOBMANAGER_RPC_PORT))]
            + [Role(f"taskmanager-{i + 1}", "TaskManagerRunner", ()) for i in range(TASK_MANAGERS)]
            + [Role("job-server", JOB_SERVER_MAIN, (JOB_SERVER_PORT, ARTIFACT_PORT, EXPANSION_PORT)),
               Role("worker-pool", "cluster.worker_pool", (WORKER_POOL_PORT,))])


def _state_path() -> str:
    return os.path.join(run_dir(), "state.json")


def read_state() -> Dict[str, dict]:
    try:
        with open(_state_path()) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _write_state(state: Dict[str, dict]) -> None:
    os.makedirs(run_dir(), exist_ok=True)
    tmp = _state_path() + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, _state_path())


def is_alive(pid: int, marker: str) -> bool:
    """True when `pid` runs and its command line holds `marker` (a reused pid is not ours)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        with open(f"/proc/{pid}/stat") as f:
            zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return marker in cmdline and not zombie


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        return s.connect_ex((host, port)) == 0


def rest_get(path: str, host: str = HOST, port: int = REST_PORT, timeout: float = 5.0):
    """A JSON answer of Flink's REST API (e.g. "/overview", "/jobs/overview")."""
    with urllib.request.urlopen(rest_url(host, port) + path, timeout=timeout) as answer:
        return json.load(answer)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie, whatever it runs (a start script may not have exec'd yet)."""
    return is_alive(pid, "")


def _wait(check, what: str, log: str, pid: int, timeout: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not _running(pid):
            break
        time.sleep(0.5)
    tail = ""
    if os.path.exists(log):
        with open(log, errors="replace") as f:
            tail = "".join(f.readlines()[-20:])
    state = "exited" if not _running(pid) else f"not ready after {timeout:.0f} s"
    raise ClusterError(f"{what} {state}; last lines of {log}:\n{tail}")


def _log_has(path: str, text: str) -> bool:
    try:
        with open(path, errors="replace") as f:
            return text in f.read()
    except FileNotFoundError:
        return False


def _worker_env() -> Dict[str, str]:
    """The project's interpreter first on PATH (Flink scripts and the worker pool start plain `python`/`java`
    from PATH), Keras 2 for TFT and TFMA, and no inherited Flink settings that would override ours."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["TF_USE_LEGACY_KERAS"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("FLINK_CONF_DIR", "FLINK_HOME", "FLINK_LOG_DIR", "FLINK_PID_DIR"):
        env.pop(name, None)
    return env


def _spawn(cmd: List[str], log_path: str, env: Dict[str, str], cwd: str) -> int:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)
    return proc.pid


def _start(role: Role, home: str, conf: str, work: str) -> dict:
    env = _worker_env()
    env["FLINK_CONF_DIR"] = conf
    env["FLINK_LOG_DIR"] = os.path.join(work, "log")
    log = os.path.join(work, "log", f"{role.name}.out")
    if os.path.exists(log):
        os.replace(log, log + ".previous")
    if role.name == "jobmanager":
        pid = _spawn([os.path.join(home, "bin", "jobmanager.sh"), "start-foreground"], log, env, work)
        ready = lambda: _rest_answers()  # noqa: E731
    elif role.name.startswith("taskmanager"):
        pid = _spawn([os.path.join(home, "bin", "taskmanager.sh"), "start-foreground"], log, env, work)
        ready = lambda: _log_has(log, "Successful registration at resource manager")  # noqa: E731
    elif role.name == "job-server":
        pid = _spawn(["java", "-cp", ensure_job_server_jar(), JOB_SERVER_MAIN, f"--flink-master={HOST}:{REST_PORT}",
                      f"--job-host={HOST}", f"--job-port={JOB_SERVER_PORT}",
                      f"--artifact-port={ARTIFACT_PORT}", f"--expansion-port={EXPANSION_PORT}",
                      f"--flink-conf-dir={conf}", f"--artifacts-dir={os.path.join(work, 'artifacts')}"],
                     log, env, work)
        ready = lambda: port_open(JOB_SERVER_PORT)  # noqa: E731
    else:
        pid = _spawn([sys.executable, "-m", "cluster.worker_pool", f"--port={WORKER_POOL_PORT}",
                      f"--host={HOST}", f"--log_dir={os.path.join(work, 'log', 'sdk-workers')}"],
                     log, env, PROJECT_ROOT)
        ready = lambda: port_open(WORKER_POOL_PORT)  # noqa: E731
    _wait(ready, role.name, log, pid)
    return {"pid": pid, "marker": role.marker, "log": log}


def _rest_answers() -> bool:
    try:
        rest_get("/overview", timeout=2)
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _check_java() -> None:
    if not shutil.which("java"):
        raise ClusterError("Flink and Beam's job server need Java 11 or newer: no `java` on PATH")


def up() -> Dict[str, dict]:
    """Start every process of the cluster that is not running; a no-op when all are."""
    state = read_state()
    alive = {r.name for r in roles() if r.name in state and is_alive(state[r.name]["pid"], r.marker)}
    if len(alive) == len(roles()):
        _say(f"Flink cluster already running: {rest_url()} ({TASK_MANAGERS} TaskManagers, "
             f"job server {HOST}:{JOB_SERVER_PORT}, worker pool {HOST}:{WORKER_POOL_PORT})")
        return state
    _check_java()
    missing = [r for r in roles() if r.name not in alive]
    for role in missing:
        taken = [p for p in role.ports if port_open(p)]
        if taken:
            raise ClusterError(
                f"cannot start the Flink {role.name}: port {', '.join(map(str, taken))} on {HOST} is taken by "
                f"a process this project did not start (stop it, or `python -m cluster.flink status` to see "
                f"what runs)")
    home = ensure_flink_distribution()
    ensure_job_server_jar()
    work = run_dir()
    conf = write_config(home, work)
    for role in missing:
        started = time.monotonic()
        state[role.name] = _start(role, home, conf, work)
        _write_state(state)
        _say(f"  started {role.name:<14} pid {state[role.name]['pid']:<8} ({time.monotonic() - started:.0f} s)")
    _say(f"Flink cluster up: web UI {rest_url()}; logs in {os.path.join(work, 'log')}")
    return state


def _stop_pid(pid: int, marker: str, group: bool) -> None:
    if not is_alive(pid, marker):
        return
    kill = (lambda sig: os.killpg(pid, sig)) if group else (lambda sig: os.kill(pid, sig))
    try:
        kill(signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and is_alive(pid, marker):
        time.sleep(0.2)
    if is_alive(pid, marker):
        try:
            kill(signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop(role_name: str) -> None:
    """Stop one recorded process (e.g. "taskmanager-2" for a one-TaskManager cluster); `up` starts it again."""
    state = read_state()
    entry = state.pop(role_name, None)
    if entry:
        _stop_pid(entry["pid"], entry["marker"], group=True)
        _write_state(state)


def down() -> None:
    """Stop the processes `up` recorded, newest first; the worker pool with the SDK workers it started."""
    state = read_state()
    if not state:
        _say("No Flink cluster recorded as started by this project.")
        return
    for role in reversed(roles()):
        entry = state.get(role.name)
        if entry:
            # Each was started in a session of its own, so its process group holds what it started.
            _stop_pid(entry["pid"], entry["marker"], group=True)
            _say(f"  stopped {role.name:<14} pid {entry['pid']}")
    os.remove(_state_path())
    shutil.rmtree(os.path.join(run_dir(), "tmp"), ignore_errors=True)
    _say("Flink cluster down.")


def status() -> int:
    state = read_state()
    for role in roles():
        entry = state.get(role.name)
        running = bool(entry) and is_alive(entry["pid"], role.marker)
        _say(f"  {role.name:<14} {'running' if running else 'stopped':<8} "
             f"{('pid ' + str(entry['pid'])) if entry else ''}")
    if _rest_answers():
        overview = rest_get("/overview")
        _say(f"Flink {overview.get('flink-version')}: {overview['taskmanagers']} TaskManagers, "
             f"{overview['slots-total']} slots ({overview['slots-available']} free), jobs: "
             f"{overview['jobs-running']} running, {overview['jobs-finished']} finished, "
             f"{overview['jobs-failed']} failed")
        return 0
    _say(f"No Flink REST API answers at {rest_url()}.")
    return 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster.flink", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["install", "up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            ensure_flink_distribution()
            _say(f"Flink {FLINK_VERSION} in {flink_home()}; Beam's job server {ensure_job_server_jar()}")
        elif args.action == "up":
            up()
        elif args.action == "down":
            down()
        else:
            return status()
    except ClusterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
