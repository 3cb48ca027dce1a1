"""Beam runner presets: the right args per runner, clear errors, and they reach every Beam component."""
import pytest
import yaml

import kubeflow_runner
from pipeline.beam_presets import beam_pipeline_args


def test_direct_preset_uses_multi_processing_on_every_core():
    assert beam_pipeline_args("direct") == [
        "--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=0"]


def test_dataflow_preset_runs_workers_in_the_pipeline_image():
    args = beam_pipeline_args("dataflow", gcp_project="p", gcp_region="us-central1",
                              temp_location="gs://b/tmp", image="reg/yt8m:1")
    assert "--runner=DataflowRunner" in args and "--sdk_container_image=reg/yt8m:1" in args
    assert {"--project=p", "--region=us-central1", "--temp_location=gs://b/tmp"} <= set(args)


@pytest.mark.parametrize("runner", ["flink", "spark"])
def test_portable_presets(runner):
    args = beam_pipeline_args(runner, job_endpoint="jobserver:8099", image="reg/yt8m:1", extra=["--x=1"])
    assert args == ["--runner=PortableRunner", "--job_endpoint=jobserver:8099", "--environment_type=DOCKER",
                    "--environment_config=reg/yt8m:1", "--x=1"]


def test_missing_settings_are_named():
    with pytest.raises(ValueError, match="--beam_runner=dataflow needs --gcp_project, --temp_location"):
        beam_pipeline_args("dataflow", gcp_region="r", image="i")
    with pytest.raises(ValueError, match="Unknown --beam_runner='storm'"):
        beam_pipeline_args("storm")


def test_beam_args_reach_every_beam_component_of_the_compiled_pipeline(tmp_path):
    from tfx.dsl.components.base.base_component import BaseComponent
    from tfx.dsl.components.base.base_beam_component import BaseBeamComponent
    from pipeline.pipeline import create_pipeline
    from trainer.config import TrainerConfig

    pipeline = create_pipeline("p", "gs://b/root", "gs://b/d/train*", "gs://b/d/validate*", TrainerConfig(), 1, 1)
    beam_components = {c.id for c in pipeline.components
                       if isinstance(c, BaseComponent) and isinstance(c, BaseBeamComponent)}
    assert {"ImportExampleGen", "StatisticsGen", "Transform", "Evaluator", "BulkInferrer",
            "PredictionsCsvExporter"} <= beam_components

    out = tmp_path / "p.yaml"
    kubeflow_runner.main([
        "--image", "reg/yt8m:2", "--pipeline_root", "gs://b/root", "--train_data_pattern", "gs://b/d/train*",
        "--eval_data_pattern", "gs://b/d/validate*", "--output_file", str(out),
        "--beam_runner", "dataflow", "--gcp_project", "proj", "--gcp_region", "europe-west4",
        "--beam_temp_location", "gs://b/tmp"])
    executors = yaml.safe_load(out.read_text())["deploymentSpec"]["executors"]
    for component in beam_components:
        args = executors[f"{component}_executor"]["container"]["args"]
        assert "--runner=DataflowRunner" in args, component
        assert "--sdk_container_image=reg/yt8m:2" in args and "--project=proj" in args, component


def test_frame_level_runs_direct_workers_as_threads_unless_told_otherwise():
    import local_runner
    from pipeline.beam_presets import args_from_flags

    data = ["--train_data_pattern", "t*", "--eval_data_pattern", "e*"]
    video = args_from_flags(local_runner.parse_args(data))
    frames = args_from_flags(local_runner.parse_args(data + ["--frame_features", "--model", "DbofModel"]))
    chosen = args_from_flags(local_runner.parse_args(
        data + ["--frame_features", "--model", "DbofModel", "--beam_direct_running_mode", "multi_processing"]))
    assert "--direct_running_mode=multi_processing" in video and "--tfxio_use_byte_size_batching" not in video
    assert "--direct_running_mode=multi_threading" in frames and "--tfxio_use_byte_size_batching" in frames
    assert "--direct_running_mode=multi_processing" in chosen
    assert [a for a in frames if a.startswith("--direct_running_mode")] == ["--direct_running_mode=multi_threading"]
