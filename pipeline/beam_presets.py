"""Beam pipeline args for the runners users move to when data outgrows one machine.

`beam_pipeline_args(runner, ...)` returns the list every Beam-powered component receives (TFX passes a
pipeline's beam_pipeline_args to each of them). Missing required settings are a clear error here,
not a stack trace from inside a worker.
"""
from __future__ import annotations

import contextlib
import shlex
import urllib.error
from typing import Iterator, List, Optional

from cluster import flink as local_flink

RUNNERS = ("direct", "dataflow", "flink", "spark")
# How a portable runner (Flink, Spark) starts the Python SDK workers: EXTERNAL asks a worker pool
# (cluster/worker_pool.py locally, a sidecar per TaskManager on a real cluster), PROCESS runs a boot command
# on each TaskManager, DOCKER starts a container of `--beam_image`, LOOPBACK runs them in the launching process.
ENVIRONMENTS = ("EXTERNAL", "PROCESS", "DOCKER", "LOOPBACK")
DEFAULT_ENVIRONMENT = "EXTERNAL"
# Defaults that point at the cluster `make flink-up` starts (cluster/flink.py).
DEFAULT_FLINK_MASTER = f"{local_flink.HOST}:{local_flink.REST_PORT}"
DEFAULT_FLINK_JOB_ENDPOINT = f"{local_flink.HOST}:{local_flink.JOB_SERVER_PORT}"
DEFAULT_WORKER_POOL = f"{local_flink.HOST}:{local_flink.WORKER_POOL_PORT}"


def _require(runner: str, **options):
    missing = [f"--{name}" for name, value in options.items() if not value]
    if missing:
        raise ValueError(f"--beam_runner={runner} needs {', '.join(missing)}")


def worker_environment_args(environment: str, config: Optional[str], image: Optional[str]) -> List[str]:
    if environment not in ENVIRONMENTS:
        raise ValueError(f"Unknown --beam_environment_type={environment!r}; choose one of {ENVIRONMENTS}")
    if environment == "LOOPBACK":
        return ["--environment_type=LOOPBACK"]
    if environment == "DOCKER":
        config = config or image
        if not config:
            raise ValueError("--beam_environment_type=DOCKER needs --beam_image (the SDK worker image)")
    elif environment == "EXTERNAL":
        config = config or DEFAULT_WORKER_POOL
    elif not config:
        raise ValueError('--beam_environment_type=PROCESS needs --beam_environment_config=\'{"command": '
                         '"/path/to/boot"}\' (the SDK boot program on every TaskManager)')
    return [f"--environment_type={environment}", f"--environment_config={config}"]


def beam_pipeline_args(runner: str = "direct", *, direct_num_workers: int = 0,
                       direct_running_mode: str = "multi_processing",
                       gcp_project: Optional[str] = None, gcp_region: Optional[str] = None,
                       temp_location: Optional[str] = None, image: Optional[str] = None,
                       job_endpoint: Optional[str] = None, flink_master: Optional[str] = None,
                       environment: str = DEFAULT_ENVIRONMENT, environment_config: Optional[str] = None,
                       extra: Optional[List[str]] = None) -> List[str]:
    """
    direct   — this machine; multi_processing uses every core (num_workers 0 = one per core).
    dataflow — Google Cloud Dataflow; workers run `image` (this project's container) on Runner v2.
    flink    — FlinkRunner: Beam's Flink job server at job_endpoint submits to the cluster at flink_master
               (defaults: the local cluster of `make flink-up`); SDK workers from `environment`.
    spark    — a Spark job server at job_endpoint; SDK workers from `environment`.
    """
    if runner == "direct":
        args = ["--runner=DirectRunner", f"--direct_running_mode={direct_running_mode}",
                f"--direct_num_workers={direct_num_workers}"]
    elif runner == "dataflow":
        _require(runner, gcp_project=gcp_project, gcp_region=gcp_region, beam_temp_location=temp_location,
                 beam_image=image)
        args = ["--runner=DataflowRunner", f"--project={gcp_project}", f"--region={gcp_region}",
                f"--temp_location={temp_location}", f"--sdk_container_image={image}",
                "--experiments=use_runner_v2"]
    elif runner == "flink":
        args = ["--runner=FlinkRunner", f"--flink_master={flink_master or DEFAULT_FLINK_MASTER}",
                f"--job_endpoint={job_endpoint or DEFAULT_FLINK_JOB_ENDPOINT}"]
        args += worker_environment_args(environment, environment_config, image)
    elif runner == "spark":
        _require(runner, beam_job_endpoint=job_endpoint)
        args = ["--runner=PortableRunner", f"--job_endpoint={job_endpoint}"]
        args += worker_environment_args(environment, environment_config, image)
    else:
        raise ValueError(f"Unknown --beam_runner={runner!r}; choose one of {RUNNERS}")
    if runner in ("flink", "spark") and temp_location:
        args.append(f"--temp_location={temp_location}")
    return args + list(extra or [])


def add_beam_flags(parser) -> None:
    """The same Beam flags on local_runner.py and kubeflow_runner.py."""
    group = parser.add_argument_group("beam")
    group.add_argument("--beam_runner", default="direct", choices=RUNNERS,
                       help="where the Beam stages run (default %(default)s; flink: the cluster of "
                            "`make flink-up` unless --flink_master says otherwise)")
    group.add_argument("--beam_direct_num_workers", type=int, default=0,
                       help="DirectRunner: worker count, 0 = one per core")
    group.add_argument("--beam_direct_running_mode", default=None,
                       choices=["in_memory", "multi_threading", "multi_processing"],
                       help="DirectRunner workers as processes or as threads of the runner process (default: "
                            "multi_processing for video-level, multi_threading for frame-level data)")
    group.add_argument("--gcp_project", help="dataflow: the Google Cloud project")
    group.add_argument("--gcp_region", help="dataflow: the region its workers run in")
    group.add_argument("--beam_temp_location", help="gs:// or s3:// scratch space for distributed runners")
    group.add_argument("--beam_image", help="SDK worker image (default: the pipeline image, if any)")
    group.add_argument("--flink_master", help=f"Flink REST address host:port (default {DEFAULT_FLINK_MASTER}, "
                                              f"the cluster of `make flink-up`)")
    group.add_argument("--beam_job_endpoint", help=f"Flink/Spark job server host:port (Flink default "
                                                   f"{DEFAULT_FLINK_JOB_ENDPOINT})")
    group.add_argument("--beam_environment_type", default=DEFAULT_ENVIRONMENT, choices=ENVIRONMENTS,
                       help="how Flink/Spark start the Python SDK workers (default EXTERNAL: a worker pool, "
                            "no Docker)")
    group.add_argument("--beam_environment_config",
                       help=f"EXTERNAL: the pool's host:port (default {DEFAULT_WORKER_POOL}); DOCKER: the image "
                            f"(default --beam_image); PROCESS: '{{\"command\": \"/path/to/boot\"}}'")
    group.add_argument("--beam_extra_args", action="append", default=[], metavar="ARGS",
                       help="Beam pipeline args appended as given; repeatable, and one value may hold several "
                            "(--beam_extra_args='--parallelism=4 --max_parallelism=8')")


def extra_args(values: List[str]) -> List[str]:
    """--beam_extra_args values, each split like a shell would split it."""
    return [arg for value in values for arg in shlex.split(value)]


# tfx_bsl's absl flag (TFX's Beam executors parse beam_pipeline_args as absl flags): every TFXIO source then
# batches records by bytes (20 MiB a batch) instead of up to 1,000 records. For frame-level records
# (~300 KB, decoded to ~1.4 MB of floats) that bounds each Beam worker's batches in StatisticsGen,
# Transform and the Evaluator; video-level records (~5 KB) keep the default.
BYTE_SIZE_BATCHING = "--tfxio_use_byte_size_batching"


def default_direct_running_mode(frame_level: bool) -> str:
    """Frame-level stages spend their time in TensorFlow ops (decoding frames, the model), which release the
    GIL: worker threads inside the runner process share its one TensorFlow runtime and one copy of the model,
    where each worker process loads its own (~1 GiB each; bench/results/frame_level*.json: Evaluator 4.2 ->
    2.3 GiB, and faster on 2 cores). Video-level keeps the multi-process mode its benchmarks were measured
    with."""
    return "multi_threading" if frame_level else "multi_processing"


def args_from_flags(flags, default_image: Optional[str] = None) -> List[str]:
    """The flags' Beam args. `default_image` is the pipeline's own image (Kubeflow): workers that run it
    already hold tfx and this project, which --sdk_container_image tells TFX (it then stages no sdist)."""
    frame_level = bool(getattr(flags, "frame_features", False))
    batching = [BYTE_SIZE_BATCHING] if frame_level else []
    args = batching + beam_pipeline_args(
        flags.beam_runner, direct_num_workers=flags.beam_direct_num_workers,
        direct_running_mode=flags.beam_direct_running_mode or default_direct_running_mode(frame_level),
        gcp_project=flags.gcp_project, gcp_region=flags.gcp_region, temp_location=flags.beam_temp_location,
        image=flags.beam_image or default_image, job_endpoint=flags.beam_job_endpoint,
        flink_master=flags.flink_master, environment=flags.beam_environment_type,
        environment_config=flags.beam_environment_config, extra=extra_args(flags.beam_extra_args))
    if flags.beam_runner in ("flink", "spark") and default_image and not flags.beam_image:
        args.append(f"--sdk_container_image={default_image}")
    return args


def _option(args: List[str], name: str) -> Optional[str]:
    values = [a.split("=", 1)[1] for a in args if a.startswith(f"--{name}=")]
    return values[-1] if values else None


def _is_local(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _answers(address: str) -> bool:
    host, _, port = address.split("://")[-1].rpartition(":")
    try:
        return local_flink.port_open(int(port), host.strip("[]"), timeout=3.0)
    except (OSError, ValueError):
        return False


def check_engine_reachable(args: List[str]) -> None:
    """Before a pipeline starts: the Flink or Spark endpoints its Beam stages need answer, or a clear error
    (otherwise the first Beam stage waits for a job server that is not there). Workers and the Flink REST
    API are only checked when they are on this machine."""
    runner = _option(args, "runner")
    if runner not in ("FlinkRunner", "PortableRunner"):
        return
    start = "start the local cluster with `make flink-up`"
    job_endpoint = _option(args, "job_endpoint")
    if runner == "FlinkRunner":
        master = _option(args, "flink_master")
        url = master if "://" in master else f"http://{master}"
        if _is_local(master):
            host, _, port = url.split("://")[-1].rpartition(":")
            try:
                overview = local_flink.rest_get("/overview", host=host, port=int(port))
            except (urllib.error.URLError, OSError, ValueError):
                raise RuntimeError(f"no Flink cluster answers at {url}: {start}, or give --flink_master")
            if not overview.get("taskmanagers"):
                raise RuntimeError(f"the Flink cluster at {url} has no TaskManager: {start}")
    if job_endpoint and not _answers(job_endpoint):
        raise RuntimeError(f"no Beam job server answers at {job_endpoint}: {start}, or give --beam_job_endpoint")
    pool = _option(args, "environment_config")
    if _option(args, "environment_type") == "EXTERNAL" and pool and _is_local(pool) and not _answers(pool):
        raise RuntimeError(f"no SDK worker pool answers at {pool}: {start}, or give --beam_environment_config")


def names_jobs(args: List[str]) -> bool:
    """Whether each Beam stage's job is named after its component (--job_name): on Flink and Spark, whose
    job lists would otherwise show a BeamApp-<user>-<time> per stage. Dataflow needs names unique among
    running jobs, which a fixed name is not, so it keeps Beam's."""
    return _option(args, "runner") in ("FlinkRunner", "PortableRunner")


def workers_have_this_environment(args: List[str]) -> bool:
    """True when Beam's workers run this very Python environment: the DirectRunner's worker processes, and
    portable runners' EXTERNAL (the project's worker pool), PROCESS and LOOPBACK workers."""
    runner = _option(args, "runner")
    return runner in (None, "DirectRunner") or _option(args, "environment_type") in ("EXTERNAL", "PROCESS",
                                                                                     "LOOPBACK")


@contextlib.contextmanager
def no_tfx_sdist_when_workers_have_it(args: List[str]) -> Iterator[None]:
    """While the pipeline runs, stop TFX repackaging itself for Beam workers that already import it.

    Every Beam-powered executor TFX constructs calls `dependency_utils.make_beam_dependency_flags`, which
    copies the installed tfx package (~80 MB) to a fresh temp dir, builds an sdist there, passes it as
    --extra_package and never deletes it: seconds per component and 80 MB of /tmp per component run. That
    package is for workers without tfx; workers in this environment (workers_have_this_environment) never
    install it, so the args pass unchanged. DOCKER workers keep TFX's behaviour unless the args name their
    image with --sdk_container_image, which TFX itself takes as "the image has it" (Dataflow, Kubeflow).
    """
    from tfx.utils import dependency_utils
    if not workers_have_this_environment(args):
        yield
        return
    original = dependency_utils.make_beam_dependency_flags
    dependency_utils.make_beam_dependency_flags = lambda beam_pipeline_args: list(beam_pipeline_args)
    try:
        yield
    finally:
        dependency_utils.make_beam_dependency_flags = original
