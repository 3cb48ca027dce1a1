"""Compile the same create_pipeline(...) to a KFP v2 pipeline spec (KubeflowV2DagRunner, kfp 2.x).

  python kubeflow_runner.py --image=REGISTRY/yt8m-tfx:TAG --pipeline_root=gs://BUCKET/yt8m \
      --train_data_pattern='gs://BUCKET/yt8m/train*.tfrecord' \
      --eval_data_pattern='gs://BUCKET/yt8m/validate*.tfrecord' --output_file=yt8m_pipeline.yaml

then upload the YAML with the kfp client or UI (see README). Nothing here needs a cluster.
"""
from __future__ import annotations

import argparse

import os

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1)
from yt8m_tfx.schema import SCHEMA_DIR, VIDEO_LEVEL_SCHEMA_PATH

CONTAINER_PROJECT_ROOT = "/yt8m_tfx"  # must match the Dockerfile's WORKDIR


def parse_args(argv=None):
    from pipeline import beam_presets, configs
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", required=True, help="container image with this project installed")
    p.add_argument("--pipeline_root", required=True, help="gs://, s3:// or a mounted PVC path")
    p.add_argument("--train_data_pattern", required=True)
    p.add_argument("--eval_data_pattern", required=True)
    p.add_argument("--inference_data_pattern")
    p.add_argument("--output_file", default="yt8m_pipeline.yaml")
    p.add_argument("--pipeline_name", default=configs.PIPELINE_NAME)
    p.add_argument("--model", default=configs.MODEL)
    p.add_argument("--train_steps", type=int, default=configs.TRAIN_STEPS)
    p.add_argument("--eval_steps", type=int, default=configs.EVAL_STEPS)
    p.add_argument("--batch_size", type=int, default=configs.BATCH_SIZE)
    p.add_argument("--gap_threshold", type=float, default=configs.GAP_THRESHOLD)
    p.add_argument("--serving_model_dir")
    p.add_argument("--container_project_root", default=CONTAINER_PROJECT_ROOT,
                   help="where the Dockerfile puts this project inside the image")
    beam_presets.add_beam_flags(p)
    return p.parse_args(argv)


def compile_pipeline(args) -> str:
    from tfx import v1 as tfx
    from pipeline import beam_presets
    from pipeline.pipeline import create_pipeline
    from trainer.config import TrainerConfig

    pipeline = create_pipeline(
        pipeline_name=args.pipeline_name,
        pipeline_root=args.pipeline_root,
        train_data_pattern=args.train_data_pattern,
        eval_data_pattern=args.eval_data_pattern,
        trainer_config=TrainerConfig(model=args.model, batch_size=args.batch_size),
        train_steps=args.train_steps,
        eval_steps=args.eval_steps,
        gap_threshold=args.gap_threshold,
        serving_model_dir=args.serving_model_dir,
        inference_data_pattern=args.inference_data_pattern,
        # Executors run in the image, so the schema path is the one inside it.
        schema_file=os.path.join(args.container_project_root, "pipeline", "schema",
                                 os.path.relpath(VIDEO_LEVEL_SCHEMA_PATH, SCHEMA_DIR)),
        # Distributed Beam workers default to the pipeline image, which has this project installed.
        beam_pipeline_args=beam_presets.args_from_flags(args, default_image=args.image))
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=args.image),
        output_filename=args.output_file)
    runner.run(pipeline)
    return args.output_file


def main(argv=None):
    print(f"wrote {compile_pipeline(parse_args(argv))}")


if __name__ == "__main__":
    main()
