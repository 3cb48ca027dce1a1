"""Benchmark (not a test): training examples/s with 1 and 2 local worker processes (MultiWorkerMirrored).

For each model: one pipeline run on the real split (validate0000-0063 train, 0064-0079 eval; --ingest=import)
makes the Transform outputs, then pipeline/launch_training.py trains the same model on them with 1 worker and with 2
workers on localhost (TF_CONFIG), the same steps and global batch. examples/s = steps x batch / model.fit
seconds (training_state.json's fit_seconds: no start-up or export). The GAP of each exported model on the
eval split (evaluator_ext.evaluate) shows the 2-worker model is as good.

On this 2-core machine both workers share the same cores, so 2 workers cannot be faster: the ratio measures
what synchronising gradients between processes costs (all-reduce over loopback every step). On separate
machines each worker brings its own cores and the same code scales out.

  .venv/bin/python -m bench.multi_worker [--models LogisticModel MlpModel] [--train_steps 100]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common


def launch(pipeline_root: str, output_dir: str, workers: int, train_steps: int) -> float:
    """Runs pipeline.launch_training as `workers` processes of one cluster; wall seconds until all have finished."""
    from pipeline.launch_training import localhost_tf_configs
    tf_configs = localhost_tf_configs(workers)
    processes = []
    started = time.time()
    for index in range(workers):
        env = common.child_env()
        if workers > 1:
            env["TF_CONFIG"] = tf_configs[index]
        log = open(os.path.join(output_dir + f".worker-{index}.log"), "w")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "pipeline.launch_training", "--pipeline_root", pipeline_root, "--output_dir", output_dir,
             "--train_steps", str(train_steps), "--start_new_model"],
            cwd=common.PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    codes = [p.wait() for p in processes]
    if any(codes):
        raise RuntimeError(f"workers exited with {codes}; logs {output_dir}.worker-*.log")
    return time.time() - started


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["LogisticModel", "MlpModel"])
    p.add_argument("--train_steps", type=int, default=100)
    p.add_argument("--batch_size", type=int, default=1024)
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--sample_dir", default=common.SAMPLE_DIR)
    args = p.parse_args(argv)
    if not common.sample_available(args.sample_dir):
        return 0
    from evaluator_ext.evaluate import evaluate
    runs = []
    for model in args.models:
        root = common.fresh_dir(os.path.join(args.bench_root, f"multi_worker_{model}"))
        globs = common.stage_split(args.sample_dir, root)
        print(f"multi_worker: pipeline for {model} in {root}", flush=True)
        common.run_timed(common.runner_argv(root, [
            "--train_data_pattern", globs["train"], "--eval_data_pattern", globs["eval"], "--model", model,
            "--train_steps", "10", "--batch_size", str(args.batch_size),
            "--validation_percent", "0", "--ingest", "import", "--stats_sample_rate", "0.1"]),
            os.path.join(root, "runner.log"))
        for workers in (1, 2):
            out = os.path.join(root, f"launch_{workers}_workers")
            wall = launch(root, out, workers, args.train_steps)
            from trainer.checkpoints import TRAINING_STATE_FILE
            with open(os.path.join(out, "model_run", TRAINING_STATE_FILE)) as f:
                state = json.load(f)
            examples = (state["final_step"] - state["initial_step"]) * args.batch_size
            run = {"model": model, "workers": workers, "train_steps": args.train_steps,
                   "global_batch_size": args.batch_size, "fit_seconds": state["fit_seconds"],
                   "examples_per_s": round(examples / state["fit_seconds"], 1), "wall_seconds": round(wall, 1),
                   "gap": round(evaluate(os.path.join(out, "serving_model"), globs["eval"])["gap"], 4)}
            runs.append(run)
            print(f"  {workers} worker(s): {run}", flush=True)
    # Re-running some models keeps the other models' rows of an earlier run.
    previous = common.read_result("multi_worker.json", "multi_worker")["runs"]  # a list of runs here
    runs = [run for run in previous if run["model"] not in args.models] + runs
    common.write_result("multi_worker.json", {
        "benchmark": "multi_worker", "date": common.now(), "machine": common.machine(),
        "data": "train validate0000-0063, eval validate0064-0079 (real 2018 shards)",
        "note": ("2 CPU cores shared by both workers: 2 workers cannot be faster here; the ratio is the cost of "
                 "synchronising gradients between processes (all-reduce over loopback every step)"),
        "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
