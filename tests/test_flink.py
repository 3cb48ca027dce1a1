"""Every Beam stage on a real local Flink cluster (cluster/flink.py): two TaskManager JVMs, Beam's Flink job
server, SDK workers from the project's worker pool. The answers match the DirectRunner's, and a TaskManager
killed mid-job costs a restart, not the result. `.ci/run` starts the cluster (`make flink-up`); run alone,
these tests start it themselves and stop what they started."""
import glob
import os
import signal
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

import local_runner
from cluster import flink
from pipeline import outputs
from tests.conftest import majority_share
from tests.test_pipeline_e2e import _check_predictions_csv, _eval_examples, _executions_by_state

pytestmark = pytest.mark.slow

BEAM_COMPONENTS = ("ImportExampleGen", "StatisticsGen", "Transform", "Evaluator", "BulkInferrer",
                   "PredictionsCsvExporter")
DIRECT = ["--runner=DirectRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"]


@pytest.fixture(autouse=True)
def runner_argv(monkeypatch):
    monkeypatch.setattr("sys.argv", ["local_runner.py"])


@pytest.fixture(scope="module")
def flink_cluster():
    """The running cluster (its missing processes started again), or one started here and stopped after
    the module's tests."""
    state = flink.read_state()
    jobmanager = flink.roles()[0]
    started_here = not (jobmanager.name in state and flink.is_alive(state[jobmanager.name]["pid"],
                                                                     jobmanager.marker))
    try:
        flink.up()
    except flink.ClusterError as error:
        pytest.skip(f"no local Flink cluster: {error}")
    yield
    if started_here:
        flink.down()


def _jobs_since(started_ms):
    return [j for j in flink.rest_get("/jobs/overview")["jobs"] if j["start-time"] >= started_ms]


def _assert_a_finished_job_per_component(started_ms, components):
    finished = {j["name"] for j in _jobs_since(started_ms) if j["state"] == "FINISHED"}
    assert {f"yt8m-tfx.{c}" for c in components} <= finished, finished


def _flink_run(argv):
    started_ms = int(time.time() * 1000)
    local_runner.main([*argv, "--beam_runner=flink"])
    return started_ms


# ----------------------------------------------------------------------------- the same stage on the DirectRunner

def _latest_execution(store, type_suffix):
    types = {t.id: t.name for t in store.get_execution_types()}
    runs = [e for e in store.get_executions() if types[e.type_id].endswith(type_suffix)]
    return max(runs, key=lambda e: e.id)


def rerun_on_direct(root, component, executor_class, out_dir):
    """Executes `component`'s latest execution again with TFX's own executor on the DirectRunner: the same
    input artifacts and execution properties, new outputs under out_dir. Returns {output key: [artifacts]}."""
    from ml_metadata.proto import metadata_store_pb2
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.types import artifact_utils

    store = outputs.metadata_store(root)
    execution = _latest_execution(store, component)
    events = store.get_events_by_execution_ids([execution.id])
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    types = {t.id: t for t in store.get_artifact_types()}
    inputs, outputs_ = {}, {}
    for event in events:
        key = event.path.steps[0].key
        artifact = artifact_utils.deserialize_artifact(types[artifacts[event.artifact_id].type_id],
                                                       artifacts[event.artifact_id])
        if event.type == metadata_store_pb2.Event.INPUT:
            inputs.setdefault(key, []).append(artifact)
        elif event.type == metadata_store_pb2.Event.OUTPUT:
            fresh = type(artifact)()
            fresh.uri = os.path.join(out_dir, key, str(len(outputs_.get(key, []))))
            os.makedirs(fresh.uri, exist_ok=True)
            outputs_.setdefault(key, []).append(fresh)
    properties = {name: getattr(value, value.WhichOneof("value"))
                  for name, value in execution.custom_properties.items()}
    context = BaseBeamExecutor.Context(beam_pipeline_args=DIRECT, tmp_dir=os.path.join(out_dir, "tmp"),
                                       unique_id="direct")
    executor_class(context).Do(inputs, outputs_, properties)
    return outputs_, _artifacts_of(store, execution)


def _artifacts_of(store, execution):
    from ml_metadata.proto import metadata_store_pb2
    from tfx.types import artifact_utils
    types = {t.id: t for t in store.get_artifact_types()}
    found = {}
    for event in store.get_events_by_execution_ids([execution.id]):
        if event.type == metadata_store_pb2.Event.OUTPUT:
            artifact = store.get_artifacts_by_id([event.artifact_id])[0]
            found.setdefault(event.path.steps[0].key, []).append(
                artifact_utils.deserialize_artifact(types[artifact.type_id], artifact))
    return found


def _statistics(uri, split):
    from tensorflow_metadata.proto.v0 import statistics_pb2
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    with open(os.path.join(uri, f"Split-{split}", "FeatureStats.pb"), "rb") as f:
        stats.ParseFromString(f.read())
    return stats.datasets[0]


def _counts(dataset):
    """Every count StatisticsGen reports: examples, and per feature non-missing / missing / values."""
    counts = {"num_examples": dataset.num_examples}
    for feature in dataset.features:
        common = (feature.num_stats or feature.string_stats or feature.bytes_stats).common_stats
        counts[feature.path.step[0]] = (common.num_non_missing, common.num_missing, common.min_num_values,
                                        common.max_num_values, common.tot_num_values)
    return counts


def _transformed(transform_graph_uri, raw_examples):
    import tensorflow_transform as tft
    layer = tft.TFTransformOutput(transform_graph_uri)
    parsed = tf.io.parse_example(raw_examples, layer.raw_feature_spec())
    return {k: v.numpy() for k, v in layer.transform_features_layer()(parsed).items()
            if not isinstance(v, (tf.SparseTensor, tf.RaggedTensor))}


def _examples_by_id(uri, split):
    """{video id: {feature: values}} of a materialised Examples split."""
    found = {}
    for record in tf.data.TFRecordDataset(glob.glob(os.path.join(uri, f"Split-{split}", "*")), "GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        values = {name: np.array(getattr(f, f.WhichOneof("kind")).value)
                  for name, f in example.features.feature.items()}
        found[values.pop("video_id")[0]] = values
    return found


def _killer(job_name, task_manager, after_s, seen):
    """Background: SIGKILL `task_manager` once `job_name` has run for after_s seconds on the cluster."""
    def watch():
        deadline = time.time() + 600
        while time.time() < deadline:
            for job in flink.rest_get("/jobs/overview")["jobs"]:
                if job["name"] == job_name and job["state"] == "RUNNING" and job["duration"] >= after_s * 1000:
                    os.kill(flink.read_state()[task_manager]["pid"], signal.SIGKILL)
                    seen.update(job_id=job["jid"], killed_at=time.time())
                    return
            time.sleep(0.5)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_pipeline_on_flink_matches_the_direct_runner_and_survives_a_lost_task_manager(
        tmp_path, synthetic_video_dir, flink_cluster):
    """The synthetic video-level pipeline with every Beam stage on Flink; one TaskManager is killed while
    Transform runs. Then StatisticsGen, Transform and the Evaluator run again on the DirectRunner over the
    same inputs (TFX's own executors): same counts, same transformed features, same metrics to 1e-6."""
    from tfx.components.evaluator.executor import Executor as EvaluatorExecutor
    from tfx.components.statistics_gen.executor import Executor as StatisticsGenExecutor
    from tfx.components.transform.executor import Executor as TransformExecutor
    root = str(tmp_path / "root")
    seen = {}
    killer = _killer("yt8m-tfx.Transform", "taskmanager-2", after_s=8, seen=seen)
    started_ms = _flink_run(["--data_dir", synthetic_video_dir, "--pipeline_root", root, "--train_steps", "40",
                             "--batch_size", "32", "--gap_threshold", "0.1"])
    killer.join(timeout=1)
    try:
        _assert_a_finished_job_per_component(started_ms, BEAM_COMPONENTS)
        # The kill hit Transform's job: Flink recorded the lost TaskManager and restarted the job, which
        # then finished; the pipeline saw one complete Transform execution.
        assert "job_id" in seen, "Transform's Flink job was never seen running"
        job = flink.rest_get(f"/jobs/{seen['job_id']}")
        assert job["state"] == "FINISHED"
        history = flink.rest_get(f"/jobs/{seen['job_id']}/exceptions")["exceptionHistory"]["entries"]
        assert history, "no failure recorded for the job whose TaskManager was killed"
        executions = _executions_by_state(root)
        assert executions.get(("Transform", "COMPLETE")) == 1, executions
        assert not [k for k in executions if k[1] not in ("COMPLETE", "CACHED")], executions
        from ml_metadata.proto import metadata_store_pb2
        states = {metadata_store_pb2.Artifact.State.Name(a.state)
                  for a in outputs.metadata_store(root).get_artifacts()}
        assert states == {"LIVE"}, states  # no artifact left PENDING by the failed attempt
    finally:
        flink.up()  # the killed TaskManager back, for the tests after this one
    overview = flink.rest_get("/overview")
    assert overview["taskmanagers"] >= flink.TASK_MANAGERS

    evaluation = outputs.latest_artifact_uri(root, "ModelEvaluation")
    assert outputs.validation_ok(evaluation)
    rows = _check_predictions_csv(root, os.path.join(synthetic_video_dir, "validate*.tfrecord"))
    assert len(rows) == 60

    # StatisticsGen: identical counts per split.
    direct, on_flink = rerun_on_direct(root, "StatisticsGen", StatisticsGenExecutor, str(tmp_path / "stats"))
    for split in ("train", "eval"):
        assert _counts(_statistics(direct["statistics"][0].uri, split)) == \
            _counts(_statistics(on_flink["statistics"][0].uri, split)), split
    # Transform: the analyzers' constants (here the rgb-norm bucket boundaries) are identical, so the graphs
    # transform every video identically; the materialised examples hold the same records.
    direct, on_flink = rerun_on_direct(root, "Transform", TransformExecutor, str(tmp_path / "transform"))
    raw = _eval_examples(os.path.join(synthetic_video_dir, "*.tfrecord"))
    ours, theirs = (_transformed(a["transform_graph"][0].uri, raw) for a in (direct, on_flink))
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    for split in ("train", "eval"):
        ours, theirs = (_examples_by_id(a["transformed_examples"][0].uri, split) for a in (direct, on_flink))
        assert ours.keys() == theirs.keys() and len(ours) == (240 if split == "train" else 60)
        for video_id, features in ours.items():
            assert features.keys() == theirs[video_id].keys()
            for name, values in features.items():  # float32 math in batches of another size: last bits
                np.testing.assert_allclose(values, theirs[video_id][name], rtol=1e-6, atol=1e-7,
                                           err_msg=f"{split} {video_id} {name}")
    # Evaluator: the same model, the same examples, the same metrics.
    direct, on_flink = rerun_on_direct(root, "Evaluator", EvaluatorExecutor, str(tmp_path / "evaluator"))
    ours, theirs = (outputs.overall_metrics(a["evaluation"][0].uri) for a in (direct, on_flink))
    assert ours.keys() == theirs.keys() and ours["example_count"] == 60
    for name in ours:
        assert ours[name] == pytest.approx(theirs[name], abs=1e-6), name


def _majority_share(pattern):
    return majority_share([tf.train.SequenceExample.FromString(e).context.feature["labels"].int64_list.value
                           for e in _eval_examples(pattern)])


def test_frame_level_pipeline_on_flink_with_genuine_frames(tmp_path, frame_level_split, flink_cluster):
    """Frame-level on Flink, and the real-data run: genuine YouTube-8M frames (../shared, split by file),
    or the synthetic frames without ../shared. The model beats always naming the majority class."""
    patterns = frame_level_split
    root = str(tmp_path / "root")
    started_ms = _flink_run([
        "--train_data_pattern", patterns["train"], "--eval_data_pattern", patterns["eval"],
        "--pipeline_root", root, "--frame_features=True", "--model=FrameLevelLogisticModel",
        "--train_steps", "120", "--batch_size", "16", "--validation_percent", "0", "--gap_threshold", "0"])
    # Frame-level shards are linked (ShardImporter, no Beam); every other Beam stage ran on Flink.
    _assert_a_finished_job_per_component(started_ms, BEAM_COMPONENTS[1:])
    metrics = outputs.overall_metrics(outputs.latest_artifact_uri(root, "ModelEvaluation"))
    assert metrics["example_count"] == len(_eval_examples(patterns["eval"]))
    assert metrics["hit_at_one"] > _majority_share(patterns["eval"]) + 0.1, metrics
    _check_predictions_csv(root, patterns["eval"], frame_level=True)
