import pytest

from pipeline.pipeline import split_data_patterns


def test_local_patterns_share_their_deepest_common_folder(tmp_path):
    base, train, eval_ = split_data_patterns(f"{tmp_path}/a/train*.tfrecord", f"{tmp_path}/b/validate*.tfrecord")
    assert (base, train, eval_) == (str(tmp_path), "a/train*.tfrecord", "b/validate*.tfrecord")


def test_remote_patterns_split_on_folders_not_characters():
    assert split_data_patterns("gs://bkt/data1/train*", "gs://bkt/data2/validate*") == (
        "gs://bkt", "data1/train*", "data2/validate*")
    assert split_data_patterns("s3://bkt/d/train*", "s3://bkt/d/validate*") == ("s3://bkt/d", "train*", "validate*")


def test_mixed_filesystems_and_folder_wildcards_are_errors(tmp_path):
    with pytest.raises(ValueError, match="same filesystem"):
        split_data_patterns("gs://bkt/train*", f"{tmp_path}/validate*")
    with pytest.raises(ValueError, match="wildcards"):
        split_data_patterns(f"{tmp_path}/*/train*", f"{tmp_path}/validate*")


def _pipeline(tmp_path, **trainer_settings):
    from pipeline.pipeline import create_pipeline
    from trainer.config import TrainerConfig
    return create_pipeline(
        pipeline_name="wiring", pipeline_root=str(tmp_path / "root"),
        train_data_pattern=f"{tmp_path}/train*.tfrecord", eval_data_pattern=f"{tmp_path}/validate*.tfrecord",
        trainer_config=TrainerConfig(**trainer_settings), train_steps=10)


def _components(pipeline):
    return {c.id: c for c in pipeline.components}


def test_frame_level_pipeline_reads_sequence_examples_and_trains_on_raw_frames(tmp_path):
    from tfx.proto import example_gen_pb2
    from yt8m_tfx import schema
    components = _components(_pipeline(tmp_path, model="FrameLevelLogisticModel", frame_features=True,
                                       batch_size=64, max_frames=120))
    assert components["ImportExampleGen"].exec_properties["output_data_format"] == \
        example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE
    assert components["ImportSchemaGen"].exec_properties["schema_file"] == schema.FRAME_LEVEL_SCHEMA_PATH
    transform = components["Transform"]
    assert not transform.exec_properties["force_tf_compat_v1"] and "transformed_examples" not in transform.outputs
    custom = transform.exec_properties["custom_config"]
    assert '"frame_features": true' in custom and '"max_frames": 120' in custom
    # The Trainer reads raw SequenceExamples (Transform does not materialize frames).
    assert components["Trainer"].inputs["examples"].producer_component_id == "ImportExampleGen"
    # Bounded memory: the Evaluator calls the model on 64 videos at a time; StatisticsGen counts the ids with
    # sketches; the frames are opaque bytes to TFDV (no count per distinct frame).
    from pipeline import configs
    assert f'"inference_batch_size": {configs.FRAME_LEVEL_INFERENCE_BATCH}' in \
        " ".join(components["Evaluator"].exec_properties["eval_config"].split())
    assert '"_use_sketch_based_topk_uniques": true' in components["StatisticsGen"].exec_properties["stats_options_json"]
    frame_features = schema.frame_level_schema().feature[-1].struct_domain.feature
    assert all(feature.HasField("image_domain") for feature in frame_features)


def test_video_level_pipeline_trains_on_materialized_transform_output(tmp_path):
    components = _components(_pipeline(tmp_path))
    assert components["Trainer"].inputs["examples"].producer_component_id == "Transform"
    assert "inference_batch_size" not in components["Evaluator"].exec_properties["eval_config"]
    assert '"checkpoint_dir": "' + str(tmp_path / "root" / "checkpoints") + '"' in \
        components["Trainer"].exec_properties["custom_config"]


@pytest.mark.parametrize("settings", [{"model": "LogisticModel", "frame_features": True},
                                      {"model": "DbofModel", "frame_features": False}])
def test_model_and_data_level_must_agree(tmp_path, settings):
    with pytest.raises(ValueError, match="frame-level models need --frame_features"):
        _pipeline(tmp_path, **settings)


def test_frame_level_batch_too_large_for_memory_is_rejected():
    from trainer.config import TrainerConfig
    with pytest.raises(ValueError, match="GiB of floats; use --batch_size <= 3106"):
        TrainerConfig(model="DbofModel", frame_features=True, batch_size=4096)
    TrainerConfig(model="DbofModel", frame_features=True, batch_size=1024)  # the seed's default fits (1.3 GiB)


def test_inference_shards_stay_one_split_that_bulk_inferrer_reads(tmp_path):
    # ImportExampleGen hash-splits a single input split 2:1 into train/eval unless told otherwise; then
    # BulkInferrer, reading the "inference" split, predicts nothing.
    from google.protobuf import json_format
    from tfx.proto import bulk_inferrer_pb2, example_gen_pb2
    from pipeline.pipeline import create_pipeline
    from trainer.config import TrainerConfig
    components = _components(create_pipeline(
        pipeline_name="wiring", pipeline_root=str(tmp_path / "root"),
        train_data_pattern=f"{tmp_path}/train*.tfrecord", eval_data_pattern=f"{tmp_path}/validate*.tfrecord",
        trainer_config=TrainerConfig(), train_steps=10,
        inference_data_pattern=f"{tmp_path}/test/test*.tfrecord"))
    output = json_format.Parse(components["inference_example_gen"].exec_properties["output_config"],
                               example_gen_pb2.Output())
    assert [split.name for split in output.split_config.splits] == ["inference"]
    bulk_inferrer = components["BulkInferrer"]
    data_spec = json_format.Parse(bulk_inferrer.exec_properties["data_spec"], bulk_inferrer_pb2.DataSpec())
    assert list(data_spec.example_splits) == ["inference"]
    assert bulk_inferrer.inputs["examples"].producer_component_id == "inference_example_gen"
