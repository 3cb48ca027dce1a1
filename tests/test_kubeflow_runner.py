"""kubeflow_runner.py compiles the same pipeline to a KFP v2 spec that kfp itself can load."""
import json
import os

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

import kubeflow_runner

EXPECTED_COMPONENTS = {
    "ImportExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "AnomaliesGate", "Transform",
    "Trainer",
    "latest_blessed_model_resolver-model-resolver", "Evaluator", "BulkInferrer", "PredictionsCsvExporter", "Pusher",
}


def _compile(tmp_path, data_folder, *flags):
    out = tmp_path / "pipeline.yaml"
    kubeflow_runner.main([
        "--image", "registry.example/yt8m-tfx:test", "--pipeline_root", "gs://bucket/root",
        "--train_data_pattern", f"gs://bucket/{data_folder}/train*.tfrecord",
        "--eval_data_pattern", f"gs://bucket/{data_folder}/validate*.tfrecord",
        "--output_file", str(out), *flags])
    return out


def test_compiles_every_component_with_image_and_parameters(tmp_path):
    out = _compile(tmp_path, "data", "--model", "MoeModel", "--train_steps", "1234")
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(yaml.safe_load(out.read_text()), spec, ignore_unknown_fields=False)
    tasks = set(spec.root.dag.tasks)
    # The BulkInferrer and CSV export sit inside the "blessed" condition sub-DAG.
    for component_spec in spec.components.values():
        tasks |= set(component_spec.dag.tasks)
    missing = EXPECTED_COMPONENTS - tasks
    assert not missing, f"components missing from the compiled pipeline: {missing}"
    executors = yaml.safe_load(out.read_text())["deploymentSpec"]["executors"]
    images = {e["container"]["image"] for e in executors.values() if "container" in e}
    assert images == {"registry.example/yt8m-tfx:test"}
    text = out.read_text()
    assert "gs://bucket/root" in text and "1234" in text and "MoeModel" in text
    assert "/yt8m_tfx/yt8m_tfx/schemas/yt8m-2018/video_level/schema.pbtxt" in text


def test_compiles_the_frame_level_pipeline_with_the_training_flags_of_local_runner(tmp_path):
    out = _compile(tmp_path, "frame", "--frame_features=True", "--model", "NeXtVLADModel",
                   "--hparam", "nextvlad_cluster_size=64", "--max_frames", "200", "--start_new_model")
    text = out.read_text()
    assert "/yt8m_tfx/yt8m_tfx/schemas/yt8m-2018/frame_level/schema.pbtxt" in text
    for fragment in ("NeXtVLADModel", "nextvlad_cluster_size", "max_frames", "start_new_model",
                     "gs://bucket/root/checkpoints"):
        assert fragment in text.replace('\\"', '"'), fragment


def test_compiles_a_recipe_with_the_tuner_stage_feeding_the_trainer(tmp_path):
    import os
    from tests.conftest import PROJECT_ROOT
    out = _compile(tmp_path, "data", "@" + os.path.join(PROJECT_ROOT, "recipes", "video_level_fast.flags"),
                   "--tune", "--tune_trials", "3", "--validation_percent", "5")
    spec = yaml.safe_load(out.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert "Tuner" in tasks
    trainer_inputs = tasks["Trainer"]["inputs"]["artifacts"]
    assert trainer_inputs["hyperparameters"]["taskOutputArtifact"]["producerTask"] == "Tuner"
    text = " ".join(out.read_text().replace('\\"', '"').split())  # YAML folds long strings at spaces
    assert "trainer.tuning.tuner_fn" in text and '"trials": 3' in text and '"num_epochs": 20' in text


def test_cloud_uris_reach_the_compiled_spec_intact(tmp_path):
    out = _compile(tmp_path, "data", "--inference_data_pattern", "gs://bucket/yt8m/test*.tfrecord",
                   "--serving_model_dir", "gs://bucket/serving")
    text = out.read_text().replace('\\"', '"')
    assert "gs://bucket/yt8m" in text and "test*.tfrecord" in text and "gs://bucket/serving" in text
    assert "gs:/bucket" not in text.replace("gs://bucket", "")  # no abspath-mangled copy


def test_vertex_workers_compile_to_worker_pools_of_the_image(tmp_path):
    from pipeline import vertex
    from tfx import v1 as tfx
    from trainer.config import TrainerConfig
    extension = tfx.extensions.google_cloud_ai_platform
    assert (vertex.ENABLE_VERTEX_KEY, vertex.VERTEX_REGION_KEY, vertex.TRAINING_ARGS_KEY) == (
        extension.ENABLE_VERTEX_KEY, extension.VERTEX_REGION_KEY, extension.TRAINING_ARGS_KEY)
    out = _compile(tmp_path, "data", "--vertex_workers", "3", "--vertex_project", "my-project",
                   "--vertex_region", "europe-west4", "--vertex_accelerator_type", "NVIDIA_TESLA_T4",
                   "--vertex_accelerator_count", "1")
    spec = yaml.safe_load(out.read_text())
    trainer_executor = spec["deploymentSpec"]["executors"][spec["components"]["Trainer"]["executorLabel"]]
    assert "google_cloud_ai_platform.trainer.executor" in " ".join(trainer_executor["container"]["args"])
    custom_config = json.loads(spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]["custom_config"]
                               ["runtimeValue"]["constantValue"]["stringValue"])
    assert custom_config[vertex.ENABLE_VERTEX_KEY] is True
    assert custom_config[vertex.VERTEX_REGION_KEY] == "europe-west4"
    training_args = custom_config[vertex.TRAINING_ARGS_KEY]
    assert training_args["project"] == "my-project"
    pools = training_args["job_spec"]["worker_pool_specs"]
    assert [pool["replica_count"] for pool in pools] == [1, 2]  # the chief, then the other workers
    for pool in pools:
        assert pool["container_spec"]["image_uri"] == "registry.example/yt8m-tfx:test"
        assert pool["machine_spec"] == {"machine_type": "n1-standard-8", "accelerator_type": "NVIDIA_TESLA_T4",
                                        "accelerator_count": 1}
    # run_fn reads the same custom_config: the extension's keys do not upset its settings.
    assert TrainerConfig.from_custom_config(custom_config).model == "LogisticModel"


def test_vertex_workers_without_a_project_is_a_clear_error(tmp_path):
    import pytest
    with pytest.raises(SystemExit, match="--vertex_workers needs --vertex_project"):
        _compile(tmp_path, "data", "--vertex_workers", "2", "--vertex_region", "us-central1")


def test_the_image_carries_the_boot_program_of_the_pinned_beam_and_keeps_kfps_command(tmp_path):
    """The Dockerfile's Beam SDK stage is the pinned apache-beam, and the compiled spec names its command,
    so the image's ENTRYPOINT (Beam's boot, for SDK workers) never replaces the executor's."""
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pinned = re.search(r"^apache-beam==(\S+)$", open(os.path.join(root, "requirements.lock")).read(), re.M)[1]
    assert re.search(r"^ARG BEAM_VERSION=(\S+)$", open(os.path.join(root, "Dockerfile")).read(), re.M)[1] == pinned
    out = tmp_path / "p.yaml"
    kubeflow_runner.main(["--image", "reg/yt8m:1", "--pipeline_root", "gs://b/root", "--train_data_pattern",
                          "gs://b/d/train*", "--eval_data_pattern", "gs://b/d/validate*", "--output_file", str(out)])
    for name, executor in yaml.safe_load(out.read_text())["deploymentSpec"]["executors"].items():
        if "container" in executor:
            assert executor["container"]["command"][0] == "python", name
