"""Training with several worker processes (MultiWorkerMirroredStrategy over TF_CONFIG) through the project's
own run_fn, launched on a pipeline root's Transform outputs by pipeline/launch_training.py (slow: ~3 min)."""
import glob
import json
import os
import subprocess
import sys
import tempfile

import pytest

import local_runner
from tests.conftest import PROJECT_ROOT
from trainer.distribution import WorkerRole, is_chief, task_of
from pipeline.launch_training import localhost_tf_configs


def _tf_config(ports, task_type="worker", index=0, chief_port=None):
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    if chief_port:
        cluster["chief"] = [f"localhost:{chief_port}"]
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def test_the_chief_is_task_chief_or_else_worker_0():
    assert task_of(None) == ("chief", 0) and is_chief(None)  # one process: it writes everything
    assert is_chief(_tf_config([1, 2], "worker", 0))
    assert not is_chief(_tf_config([1, 2], "worker", 1))
    assert is_chief(_tf_config([1, 2], "chief", 0, chief_port=3))
    assert not is_chief(_tf_config([1, 2], "worker", 0, chief_port=3))  # Vertex: pool 0 is the chief
    assert task_of(_tf_config([1, 2], "worker", 1)) == ("worker", 1)


def test_a_non_chief_worker_writes_to_scratch_space_it_removes(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", _tf_config([1, 2], "worker", 1))
    role = WorkerRole.from_environment()
    assert not role.chief and role.name == "worker-1" and os.path.isdir(role.scratch)
    path = role.output_path("/pipeline/Trainer/model/7", "serving_model")
    assert path.startswith(role.scratch)
    os.makedirs(path)
    role.clean_up()
    assert not os.path.exists(role.scratch)
    monkeypatch.setenv("TF_CONFIG", _tf_config([1, 2], "worker", 0))
    chief = WorkerRole.from_environment()
    assert chief.chief and chief.scratch is None and chief.output_path("/x", "serving_model") == "/x"


def test_vertex_worker_pools_are_one_chief_and_the_other_workers():
    from pipeline.vertex import VertexTraining, worker_pool_specs
    one = worker_pool_specs(VertexTraining(project="p", region="r"), "img")
    assert one == [{"machine_spec": {"machine_type": "n1-standard-8"}, "container_spec": {"image_uri": "img"},
                    "replica_count": 1}]
    pools = worker_pool_specs(VertexTraining(project="p", region="r", workers=5, machine_type="n2-standard-4"), "i")
    assert [pool["replica_count"] for pool in pools] == [1, 4]
    assert pools[1]["machine_spec"] == {"machine_type": "n2-standard-4"}
    with pytest.raises(ValueError, match="together"):
        VertexTraining(project="p", region="r", accelerator_type="NVIDIA_TESLA_T4")
    with pytest.raises(ValueError, match="at least 1"):
        VertexTraining(project="p", region="r", workers=0)


def _launch_workers(pipeline_root, output_dir, logs_dir, count, *extra):
    """Starts `count` pipeline.launch_training processes as one cluster on localhost; waits for all of them."""
    processes = []
    for index, tf_config in enumerate(localhost_tf_configs(count)):
        env = dict(os.environ, TF_CONFIG=tf_config)
        log = open(os.path.join(logs_dir, f"worker-{index}.log"), "w")
        processes.append((subprocess.Popen(
            [sys.executable, "-m", "pipeline.launch_training", "--pipeline_root", pipeline_root, "--output_dir", output_dir,
             *extra], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    try:
        codes = [process.wait(timeout=300) for process, _ in processes]
    finally:
        for process, log in processes:
            if process.poll() is None:  # a worker that never finished would block its peers forever
                process.kill()
            log.close()
    for (_, log), code in zip(processes, codes):
        assert code == 0, open(log.name).read()[-3000:]


@pytest.mark.slow
def test_two_workers_train_like_one_and_resume(tmp_path, synthetic_video_dir, monkeypatch):
    monkeypatch.setattr("sys.argv", ["local_runner.py"])
    root, steps = str(tmp_path / "root"), 150
    # MlpModel: its BatchNorm statistics are sync-on-read variables, which a distributed export must handle.
    local_runner.main(["--data_dir", synthetic_video_dir, "--pipeline_root", root, "--train_steps", str(steps),
                       "--model", "MlpModel", "--hparam", "mlp_hidden_size=256", "--hparam", "mlp_dropout=0.3",
                       "--validation_percent", "25", "--batch_size", "32", "--gap_threshold", "0"])
    scratch_before = set(glob.glob(os.path.join(tempfile.gettempdir(), "yt8m-worker-*")))
    out = str(tmp_path / "two_workers")
    _launch_workers(root, out, str(tmp_path), 2)

    # Only the chief wrote the outputs; the other worker's scratch space is gone.
    state = json.load(open(os.path.join(out, "model_run", "training_state.json")))
    assert (state["replicas"], state["initial_step"], state["final_step"]) == (2, 0, steps)
    assert os.path.exists(os.path.join(out, "serving_model", "saved_model.pb"))
    assert sorted(os.listdir(out)) == ["checkpoints", "model_run", "serving_model"]
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "yt8m-worker-*"))) == scratch_before

    # The same training on one worker (the pipeline's own Trainer) reaches the same quality.
    eval_pattern = os.path.join(synthetic_video_dir, "validate*.tfrecord")
    from evaluator_ext.evaluate import evaluate
    single, double = (evaluate(os.path.join(directory, "serving_model"), eval_pattern)["gap"]
                      for directory in (root, out))
    # Not bit-equal: two replicas split each batch and runs differ a little from run to run (0.011 apart
    # once, under CPU load); a broken distributed step misses by far more.
    assert single > 0.3 and abs(single - double) < 0.02, (single, double)

    # Resume with two workers: the next launch continues from the chief's checkpoint.
    _launch_workers(root, out, str(tmp_path), 2, "--train_steps", str(steps + 30))
    state = json.load(open(os.path.join(out, "model_run", "training_state.json")))
    assert (state["replicas"], state["initial_step"], state["final_step"]) == (2, steps, steps + 30)
    assert "Resuming" in open(tmp_path / "worker-1.log").read()  # the non-chief restored it too
