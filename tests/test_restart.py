"""A run killed in the middle of training is re-run to a valid model, resuming from its checkpoint,
with MLMD left consistent."""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from pipeline import outputs
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _artifacts(pipeline_root, type_name):
    from ml_metadata.proto import metadata_store_pb2
    store = outputs.metadata_store(pipeline_root)
    return [(metadata_store_pb2.Artifact.State.Name(a.state), a.uri) for a in store.get_artifacts_by_type(type_name)]


def test_killed_during_training_then_rerun_resumes_and_completes(tmp_path, synthetic_video_dir):
    root = str(tmp_path / "root")
    log_path = tmp_path / "first_run.log"
    command = [sys.executable, "local_runner.py", "--data_dir", synthetic_video_dir, "--pipeline_root", root,
               "--train_steps", "1500", "--batch_size", "32", "--gap_threshold", "0",
               "--checkpoint_steps", "50", "--eval_every_steps", "50", "--patience", "0",
               "--validation_percent", "25",  # 60 of the 240 videos: enough for keep-best
               "--beam_direct_running_mode", "in_memory"]
    checkpoint_index = os.path.join(root, "checkpoints", "*", "ckpt-*.index")
    with open(log_path, "w") as log:
        first = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        deadline = time.time() + 600
        while not glob.glob(checkpoint_index):  # inside model.fit, after the first checkpoint
            assert first.poll() is None and time.time() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert outputs.latest_artifact_uri(root, "Model") is None  # the kill really hit before a model existed
    saved_steps = [int(p.rsplit("-", 1)[1].split(".")[0]) for p in glob.glob(checkpoint_index)]
    assert saved_steps and max(saved_steps) < 1500

    second = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    # The console (pipeline/console.py): a short stdout with one line per component and training progress;
    # everything else, TensorFlow's C++ lines included, in the run's log file.
    console = second.stdout.splitlines()
    assert len(console) <= 60 and second.stderr == "", second.stdout + second.stderr
    for component in ("ImportExampleGen", "Transform", "Trainer", "Evaluator", "Pusher"):
        assert any(re.match(rf"  {component} +\d+ s", line) for line in console), second.stdout
    assert any(re.search(r"Trainer +step \d+/1500  loss", line) for line in console), second.stdout
    assert any(line.startswith("  ImportExampleGen") and line.endswith("(cached)") for line in console)
    log_file = re.search(r"Full log: (\S+)", second.stdout).group(1)
    log_text = open(log_file).read()
    assert "Component Trainer is running." in log_text and "Resuming" in log_text
    live_models = [uri for state, uri in _artifacts(root, "Model") if state == "LIVE"]
    assert len(live_models) == 1
    loaded = tf.saved_model.load(os.path.join(live_models[0], "Format-Serving"))
    assert {"serving_default", "predict_top_k"} <= set(loaded.signatures)
    # The rerun continued from the killed run's last checkpoint, not from step 0, and stopped at 1500.
    state = json.load(open(os.path.join(outputs.latest_artifact_uri(root, "ModelRun"), "training_state.json")))
    assert state["initial_step"] in saved_steps and state["initial_step"] > 0, (state, saved_steps)
    assert state["final_step"] == 1500, state
    # Keep-best state survived the kill: the evaluations before the resume step are still in the record
    # (they were not repeated), and the exported weights are those of the best evaluation of either run.
    steps = [e["step"] for e in state["evaluations"]]
    assert steps == sorted(set(steps)) and steps[0] == 50 and steps[-1] == 1500, steps
    assert state["best_step"] in steps
    assert state["best_validation_gap"] == pytest.approx(max(e["gap"] for e in state["evaluations"]), abs=1e-6)
    # The first run's half-written model never became LIVE; the pipeline carried on to a blessing and a CSV.
    assert outputs.validation_ok(outputs.latest_artifact_uri(root, "ModelEvaluation"))
    assert outputs.latest_artifact_uri(root, "yt8m.PredictionsCsv")
