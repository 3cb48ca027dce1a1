"""Run the pipeline's training code (run_fn) outside the TFX Trainer, on a pipeline root that already ran.

It takes the inputs and settings of the root's newest Trainer execution (Transform's examples and graph,
custom_config, train/eval args) from ML Metadata, so it trains exactly what the pipeline trained. Its use:
training with several worker processes, one launch per worker with TF_CONFIG set, e.g. two on this machine

  TF_CONFIG='{"cluster": {"worker": ["localhost:12345", "localhost:12346"]}, "task": {"type": "worker",
             "index": 0}}' python -m pipeline.launch_training --pipeline_root=ROOT --output_dir=OUT   # and index 1

(in Kubeflow / Vertex AI the Trainer component does the same with worker pools: kubeflow_runner.py
--vertex_workers). The chief (worker 0) writes OUT/serving_model, OUT/model_run and the checkpoints;
the other workers write to temporary directories they remove. Resume works as in the pipeline: a second
launch with the same settings continues from OUT/checkpoints.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)
from yt8m_tfx import command_line


def localhost_tf_configs(workers: int) -> List[str]:
    """TF_CONFIG for each of `workers` processes on this machine (on free ports); worker 0 is the chief."""
    import socket
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("localhost", 0))
    cluster = {"worker": [f"localhost:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(workers)]


def newest_trainer_execution(pipeline_root: str):
    """(input artifacts {key: [tfx Artifact]}, exec properties) of the root's newest Trainer execution."""
    from tfx.types import artifact_utils
    from ml_metadata.proto import metadata_store_pb2
    from pipeline import outputs
    store = outputs.metadata_store(pipeline_root)
    trainer_types = [t for t in (store.get_execution_types() if store else []) if t.name.endswith("Trainer")]
    executions = [e for t in trainer_types for e in store.get_executions_by_type(t.name)]
    if not executions:
        raise command_line.UserError(f"--pipeline_root={pipeline_root}: no Trainer execution there; run the "
                                     "pipeline there first (local_runner.py), then launch workers on it")
    execution = max(executions, key=lambda e: (e.create_time_since_epoch, e.id))
    inputs = {}
    for event in store.get_events_by_execution_ids([execution.id]):
        if event.type == metadata_store_pb2.Event.INPUT:
            inputs.setdefault(event.path.steps[0].key, []).append(event.artifact_id)
    artifact_types = {t.id: t for t in store.get_artifact_types()}
    input_dict = {}
    for key, ids in inputs.items():
        artifacts = store.get_artifacts_by_id(ids)
        input_dict[key] = [artifact_utils.deserialize_artifact(artifact_types[a.type_id], a) for a in artifacts]
    properties = {name: value.string_value or value.int_value
                  for name, value in execution.custom_properties.items()}
    return input_dict, properties


def fn_args_for(pipeline_root: str, output_dir: str, train_steps: int = 0, start_new_model: bool = False):
    """The FnArgs the TFX Trainer would hand run_fn, writing to output_dir instead of the root."""
    from tfx.components.trainer import fn_args_utils
    from tfx.utils import json_utils
    input_dict, properties = newest_trainer_execution(pipeline_root)
    custom_config = json_utils.loads(properties.get("custom_config") or "null") or {}
    custom_config.update(checkpoint_dir=os.path.join(output_dir, "checkpoints"), start_new_model=start_new_model)
    properties["custom_config"] = json_utils.dumps(custom_config)
    if train_steps:
        properties["train_args"] = json.dumps({"num_steps": train_steps})
    # As the Trainer's GenericExecutor._GetFnArgs completes them.
    fn_args = fn_args_utils.get_common_fn_args(input_dict, properties, working_dir=output_dir)
    fn_args.transform_output = fn_args.transform_graph_path
    fn_args.schema_file = fn_args.schema_path
    fn_args.serving_model_dir = os.path.join(output_dir, "serving_model")
    fn_args.model_run_dir = os.path.join(output_dir, "model_run")
    fn_args.hyperparameters = None
    if input_dict.get("hyperparameters"):  # the pipeline ran the Tuner: train with its best values
        from tfx.utils import io_utils
        with open(io_utils.get_only_uri_in_dir(input_dict["hyperparameters"][0].uri)) as f:
            fn_args.hyperparameters = json.load(f)
    return fn_args


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pipeline_root", required=True, help="a root the pipeline has trained in")
    p.add_argument("--output_dir", required=True, help="serving_model/, model_run/ and checkpoints/ go here")
    p.add_argument("--train_steps", type=int, default=0, help="default: the pipeline Trainer's")
    p.add_argument("--start_new_model", action="store_true", help="ignore checkpoints in --output_dir")
    command_line.add_verbose_flag(p)
    args = p.parse_args(argv)
    from absl import logging
    logging.set_verbosity(logging.INFO)  # this worker's log: its role, progress lines, resume
    fn_args = fn_args_for(os.path.abspath(args.pipeline_root), os.path.abspath(args.output_dir),
                          args.train_steps, args.start_new_model)
    from trainer.run_fn import run_fn
    run_fn(fn_args)
    return 0


if __name__ == "__main__":
    sys.exit(command_line.run_tool(main))
