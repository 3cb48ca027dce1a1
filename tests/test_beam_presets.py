"""Beam runner presets: the right args per runner, clear errors, and they reach every Beam component."""
import os

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


def test_flink_preset_defaults_to_the_local_cluster_without_docker():
    assert beam_pipeline_args("flink") == [
        "--runner=FlinkRunner", "--flink_master=localhost:8081", "--job_endpoint=localhost:8099",
        "--environment_type=EXTERNAL", "--environment_config=localhost:50000"]


@pytest.mark.parametrize("runner", ["flink", "spark"])
def test_portable_presets_keep_docker_and_process_workers_for_real_clusters(runner):
    docker = beam_pipeline_args(runner, job_endpoint="jobserver:8099", image="reg/yt8m:1",
                                environment="DOCKER", extra=["--x=1"])
    assert docker[1:] == ([f"--flink_master=localhost:8081"] if runner == "flink" else []) + [
        "--job_endpoint=jobserver:8099", "--environment_type=DOCKER", "--environment_config=reg/yt8m:1", "--x=1"]
    process = beam_pipeline_args(runner, job_endpoint="js:8099", environment="PROCESS",
                                 environment_config='{"command": "/opt/apache/beam/boot"}')
    assert process[-1] == '--environment_config={"command": "/opt/apache/beam/boot"}'
    with pytest.raises(ValueError, match="PROCESS needs --beam_environment_config"):
        beam_pipeline_args(runner, job_endpoint="js:8099", environment="PROCESS")
    with pytest.raises(ValueError, match="DOCKER needs --beam_image"):
        beam_pipeline_args(runner, job_endpoint="js:8099", environment="DOCKER")


def test_extra_args_repeat_and_split_like_a_shell():
    import local_runner
    from pipeline.beam_presets import args_from_flags
    flags = local_runner.parse_args(["--beam_runner=flink", "--beam_extra_args=--parallelism=1 --max_parallelism=4",
                                     "--beam_extra_args", "--experiments='a b'"])
    assert args_from_flags(flags)[-3:] == ["--parallelism=1", "--max_parallelism=4", "--experiments=a b"]


def test_an_engine_that_is_not_up_is_named_before_the_pipeline_starts():
    import socket
    from pipeline.beam_presets import check_engine_reachable
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("localhost", 0))
        free = s.getsockname()[1]
    with pytest.raises(RuntimeError, match=f"no Flink cluster answers at http://localhost:{free}: .*make flink-up"):
        check_engine_reachable(beam_pipeline_args("flink", flink_master=f"localhost:{free}"))
    with pytest.raises(RuntimeError, match=f"no Beam job server answers at localhost:{free}"):
        check_engine_reachable(beam_pipeline_args("spark", job_endpoint=f"localhost:{free}"))
    check_engine_reachable(beam_pipeline_args("direct"))  # nothing to check


def test_tfx_stages_no_sdist_for_workers_that_run_this_environment():
    from pipeline.beam_presets import workers_have_this_environment
    assert workers_have_this_environment(beam_pipeline_args("direct"))
    assert workers_have_this_environment(beam_pipeline_args("flink"))
    assert workers_have_this_environment(beam_pipeline_args("flink", environment="LOOPBACK"))
    assert not workers_have_this_environment(beam_pipeline_args("flink", environment="DOCKER", image="i"))


def test_missing_settings_are_named():
    with pytest.raises(ValueError, match="--beam_runner=dataflow needs --gcp_project, --beam_temp_location"):
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


def test_kubeflow_flink_spec_carries_the_flink_args_and_names_each_job(tmp_path):
    out = tmp_path / "p.yaml"
    kubeflow_runner.main([
        "--image", "reg/yt8m:2", "--pipeline_root", "gs://b/root", "--train_data_pattern", "gs://b/d/train*",
        "--eval_data_pattern", "gs://b/d/validate*", "--output_file", str(out), "--beam_runner", "flink",
        "--flink_master", "flink-jobmanager:8081", "--beam_job_endpoint", "beam-job-server:8099"])
    executors = yaml.safe_load(out.read_text())["deploymentSpec"]["executors"]
    for component in ("ImportExampleGen", "StatisticsGen", "Transform", "Evaluator", "BulkInferrer",
                      "PredictionsCsvExporter"):
        args = executors[f"{component}_executor"]["container"]["args"]
        assert {"--runner=FlinkRunner", "--flink_master=flink-jobmanager:8081",
                "--job_endpoint=beam-job-server:8099", "--environment_type=EXTERNAL",
                "--sdk_container_image=reg/yt8m:2", f"--job_name=yt8m-tfx.{component}"} <= set(args), component


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


def test_beam_components_run_executors_that_remove_a_restarted_jobs_temp_folders(tmp_path):
    from tfx.dsl.components.base.base_beam_component import BaseBeamComponent
    from pipeline import beam_executors
    from pipeline.pipeline import create_pipeline
    from trainer.config import TrainerConfig
    from yt8m_tfx.beam_temp import remove_beam_temp_dirs

    pipeline = create_pipeline("p", "gs://b/root", "gs://b/d/train*", "gs://b/d/validate*", TrainerConfig(), 1, 1)
    executors = {c.id: c.executor_spec.executor_class for c in pipeline.components
                 if isinstance(c, BaseBeamComponent)}
    assert executors["Transform"] is beam_executors.TransformExecutor
    assert executors["ImportExampleGen"] is beam_executors.ImportExampleGenExecutor
    assert executors["Evaluator"] is beam_executors.EvaluatorExecutor
    # What a killed attempt leaves: a temp folder beside the finished files; the files stay.
    split = tmp_path / "Split-train"
    (split / "beam-temp-data_tfrecord-1234").mkdir(parents=True)
    (split / "beam-temp-data_tfrecord-1234" / "part").write_text("x")
    (split / "data_tfrecord-00000-of-00001.gz").write_text("y")
    (tmp_path / "beam-temp-metrics-99").mkdir()
    assert len(remove_beam_temp_dirs([str(tmp_path)])) == 2
    assert sorted(os.listdir(split)) == ["data_tfrecord-00000-of-00001.gz"]
