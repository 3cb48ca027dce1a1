"""Benchmark (not a test): what running the Beam stages on Flink costs on this machine.

The same training shards at two sizes, each through the pipeline on the DirectRunner and on the local
Flink cluster (cluster/flink.py) with 2 and with 1 TaskManager, in one run of this script. For the data
stages (ImportExampleGen, StatisticsGen, Transform) it reports the seconds per 1,000 more training videos
(the slope between the two sizes) and, per engine, the fixed cost of one Beam job (a one-element job
timed alone). Writes bench/results/flink_cost.json; `make bench-report` turns it into a table.

  make flink-up && .venv/bin/python -m bench.flink_cost --shards 4 12
"""
import argparse
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common
from bench.scaling import DATA_STAGES, data_stage_seconds
from cluster import flink

EVAL = (64, 65)  # a small fixed eval split: the slope is per training video
ENGINES = {"direct": ["--beam_runner=direct", "--beam_direct_num_workers=2"],
           "flink_2_taskmanagers": ["--beam_runner=flink"],
           "flink_1_taskmanager": ["--beam_runner=flink"]}


def one_job_seconds(runner_args) -> float:
    """Wall seconds of a Beam job that does (almost) nothing: the engine's fixed cost per stage."""
    import apache_beam as beam
    started = time.time()
    with beam.Pipeline(argv=runner_args) as p:
        _ = p | beam.Create([1]) | beam.Map(lambda x: x + 1)
    return round(time.time() - started, 1)


def set_task_managers(count: int) -> None:
    if count == flink.TASK_MANAGERS:
        flink.up()
    else:
        for index in range(count + 1, flink.TASK_MANAGERS + 1):
            flink.stop(f"taskmanager-{index}")
    deadline = time.time() + flink.HEARTBEAT_TIMEOUT_MS / 1000 + 30
    while flink.rest_get("/overview")["taskmanagers"] != count and time.time() < deadline:
        time.sleep(1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shards", type=int, nargs=2, default=[4, 12], help="training shards at the two sizes")
    p.add_argument("--train_steps", type=int, default=20)
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    p.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES),
                   help="measure these only and keep the other engines' numbers of bench/results/flink_cost.json "
                        "(e.g. to re-measure one that other work on the machine disturbed)")
    args = p.parse_args(argv)
    if not common.sample_available(args.sample_dir):
        return 0
    from pipeline.beam_presets import beam_pipeline_args
    flink.up()
    machine = common.machine()
    eval_examples = common.count_records(common.shard_paths(args.sample_dir, EVAL))
    result = {"benchmark": "flink_cost", "date": common.now(), "machine": machine,
              "flink": flink.FLINK_VERSION, "beam": flink.beam_version(), "parallelism": flink.PARALLELISM,
              "slots_per_taskmanager": flink.SLOTS_PER_TASK_MANAGER, "train_steps": args.train_steps,
              "eval_shards": list(EVAL), "eval_examples": eval_examples, "engines": {}}
    for engine, flags in ENGINES.items():
        if engine not in args.engines:
            continue
        if engine.startswith("flink"):
            set_task_managers(int(engine.split("_")[1]))
        job = one_job_seconds(beam_pipeline_args("flink") if engine.startswith("flink")
                              else beam_pipeline_args("direct", direct_num_workers=2))
        runs = []
        for shards in args.shards:
            root = common.fresh_dir(os.path.join(args.bench_root, f"flink_cost_{engine}_{shards}"))
            globs = common.stage_split(args.sample_dir, root, train=range(shards), eval_=EVAL)
            train_examples = common.count_records(common.shard_paths(args.sample_dir, range(shards)))
            print(f"flink_cost ({engine}): {train_examples} training videos", flush=True)
            run = common.run_pipeline(root, ["--train_data_pattern", globs["train"], "--eval_data_pattern",
                                             globs["eval"], "--train_steps", str(args.train_steps),
                                             "--disable_cache", *flags],
                                      train_examples, eval_examples, args.train_steps, 1024)
            runs.append({"train_examples": train_examples, "wall_seconds": run["wall_seconds"],
                         "stage_seconds": {s: run["stage_seconds"][s] for s in DATA_STAGES
                                           if s in run["stage_seconds"]},
                         "data_stage_seconds": round(data_stage_seconds(run), 1),
                         "all_stage_seconds": run["stage_seconds"], "gap": run["metrics"].get("gap")})
            print(f"  {run['wall_seconds']} s, data stages {runs[-1]['data_stage_seconds']} s", flush=True)
        extra_thousands = (runs[1]["train_examples"] - runs[0]["train_examples"]) / 1000
        result["engines"][engine] = {
            "one_job_seconds": job, "runs": runs,
            "data_stage_seconds_per_1k_videos": round(
                (runs[1]["data_stage_seconds"] - runs[0]["data_stage_seconds"]) / extra_thousands, 2),
            "stage_seconds_per_1k_videos": {
                s: round((runs[1]["stage_seconds"][s] - runs[0]["stage_seconds"][s]) / extra_thousands, 2)
                for s in runs[0]["stage_seconds"]}}
    flink.up()  # both TaskManagers back
    if set(args.engines) != set(ENGINES):
        previous = common.read_result("flink_cost.json", "flink_cost")
        result["engines"] = {engine: result["engines"].get(engine) or previous["engines"][engine]
                             for engine in ENGINES}
        result["remeasured"] = {**previous.get("remeasured", {}), **{engine: result["date"] for engine in args.engines}}
    common.write_result("flink_cost.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
