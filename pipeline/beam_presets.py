"""Beam pipeline args for the runners users move to when data outgrows one machine.

`beam_pipeline_args(runner, ...)` returns the list every Beam-powered component receives (TFX passes a
pipeline's beam_pipeline_args to each of them). Missing required settings are a clear error here,
not a stack trace from inside a worker.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Optional

RUNNERS = ("direct", "dataflow", "flink", "spark")


def _require(runner: str, **options):
    missing = [f"--{name}" for name, value in options.items() if not value]
    if missing:
        raise ValueError(f"--beam_runner={runner} needs {', '.join(missing)}")


def beam_pipeline_args(runner: str = "direct", *, direct_num_workers: int = 0,
                       direct_running_mode: str = "multi_processing",
                       gcp_project: Optional[str] = None, gcp_region: Optional[str] = None,
                       temp_location: Optional[str] = None, image: Optional[str] = None,
                       job_endpoint: Optional[str] = None, extra: Optional[List[str]] = None) -> List[str]:
    """
    direct   — this machine; multi_processing uses every core (num_workers 0 = one per core).
    dataflow — Google Cloud Dataflow; workers run `image` (this project's container) on Runner v2.
    flink    — a Flink job server at job_endpoint (host:port); SDK workers in `image` containers.
    spark    — a Spark job server at job_endpoint; SDK workers in `image` containers.
    """
    if runner == "direct":
        args = ["--runner=DirectRunner", f"--direct_running_mode={direct_running_mode}",
                f"--direct_num_workers={direct_num_workers}"]
    elif runner == "dataflow":
        _require(runner, gcp_project=gcp_project, gcp_region=gcp_region, temp_location=temp_location,
                 image=image)
        args = ["--runner=DataflowRunner", f"--project={gcp_project}", f"--region={gcp_region}",
                f"--temp_location={temp_location}", f"--sdk_container_image={image}",
                "--experiments=use_runner_v2"]
    elif runner in ("flink", "spark"):
        _require(runner, job_endpoint=job_endpoint, image=image)
        args = ["--runner=PortableRunner", f"--job_endpoint={job_endpoint}", "--environment_type=DOCKER",
                f"--environment_config={image}"]
        if temp_location:
            args.append(f"--temp_location={temp_location}")
    else:
        raise ValueError(f"Unknown --beam_runner={runner!r}; choose one of {RUNNERS}")
    return args + list(extra or [])


def add_beam_flags(parser) -> None:
    """The same Beam flags on local_runner.py and kubeflow_runner.py."""
    group = parser.add_argument_group("beam")
    group.add_argument("--beam_runner", default="direct", choices=RUNNERS)
    group.add_argument("--beam_direct_num_workers", type=int, default=0, help="0 = one per core")
    group.add_argument("--beam_direct_running_mode", default=None,
                       choices=["in_memory", "multi_threading", "multi_processing"],
                       help="DirectRunner workers as processes or as threads of the runner process (default: "
                            "multi_processing for video-level, multi_threading for frame-level data)")
    group.add_argument("--gcp_project")
    group.add_argument("--gcp_region")
    group.add_argument("--beam_temp_location", help="gs:// or s3:// scratch space for distributed runners")
    group.add_argument("--beam_image", help="SDK worker image (default: the pipeline image, if any)")
    group.add_argument("--beam_job_endpoint", help="Flink/Spark job server host:port")
    group.add_argument("--beam_extra_args", nargs="*", default=[], help="appended verbatim")


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
    frame_level = bool(getattr(flags, "frame_features", False))
    batching = [BYTE_SIZE_BATCHING] if frame_level else []
    return batching + beam_pipeline_args(
        flags.beam_runner, direct_num_workers=flags.beam_direct_num_workers,
        direct_running_mode=flags.beam_direct_running_mode or default_direct_running_mode(frame_level),
        gcp_project=flags.gcp_project, gcp_region=flags.gcp_region, temp_location=flags.beam_temp_location,
        image=flags.beam_image or default_image, job_endpoint=flags.beam_job_endpoint,
        extra=flags.beam_extra_args)


@contextlib.contextmanager
def no_tfx_sdist_on_the_direct_runner(args: List[str]) -> Iterator[None]:
    """While a DirectRunner pipeline runs, stop TFX repackaging itself for Beam's workers.

    Every Beam-powered executor TFX constructs calls `dependency_utils.make_beam_dependency_flags`, which
    copies the installed tfx package (~80 MB) to a fresh temp dir, builds an sdist there, passes it as
    --extra_package and never deletes it: seconds per component and 80 MB of /tmp per component run
    (hundreds of GB over a day of tests). That package is for remote workers; the DirectRunner's
    workers are this interpreter's own processes, which already import tfx, so the args pass unchanged.
    Remote runners keep TFX's behaviour (Dataflow skips it anyway: --sdk_container_image is set).
    """
    from tfx.utils import dependency_utils
    direct = not any(a.startswith("--runner=") for a in args) or "--runner=DirectRunner" in args
    if not direct:
        yield
        return
    original = dependency_utils.make_beam_dependency_flags
    dependency_utils.make_beam_dependency_flags = lambda beam_pipeline_args: list(beam_pipeline_args)
    try:
        yield
    finally:
        dependency_utils.make_beam_dependency_flags = original
