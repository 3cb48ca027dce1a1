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
from yt8m_tfx.schema import SCHEMA_DIR

CONTAINER_PROJECT_ROOT = "/yt8m_tfx"  # must match the Dockerfile's WORKDIR


def parse_args(argv=None):
    from pipeline import beam_presets, cli, configs
    p = cli.FlagFileParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", required=True, help="container image with this project installed")
    p.add_argument("--pipeline_root", required=True, help="gs://, s3:// or a mounted PVC path")
    p.add_argument("--train_data_pattern", required=True)
    p.add_argument("--eval_data_pattern", required=True)
    p.add_argument("--inference_data_pattern")
    p.add_argument("--output_file", default="yt8m_pipeline.yaml")
    p.add_argument("--pipeline_name", default=configs.PIPELINE_NAME)
    p.add_argument("--serving_model_dir")
    p.add_argument("--container_project_root", default=CONTAINER_PROJECT_ROOT,
                   help="where the Dockerfile puts this project inside the image")
    cli.add_training_flags(p)
    cli.add_ingest_flags(p)
    beam_presets.add_beam_flags(p)
    vertex = p.add_argument_group("Vertex AI training (multi-worker)")
    vertex.add_argument("--vertex_workers", type=int, default=0,
                        help="train as a Vertex AI job on this many replicas (1 chief + N-1 workers, "
                             "MultiWorkerMirroredStrategy); 0 = inside the pipeline's own Trainer step")
    vertex.add_argument("--vertex_project", help="GCP project of the Vertex AI training job")
    vertex.add_argument("--vertex_region", help="e.g. us-central1")
    vertex.add_argument("--vertex_machine_type", default="n1-standard-8")
    vertex.add_argument("--vertex_accelerator_type", help="e.g. NVIDIA_TESLA_T4 (with --vertex_accelerator_count)")
    vertex.add_argument("--vertex_accelerator_count", type=int, default=0)
    return p.parse_args(argv)


def vertex_training(args):
    """--vertex_* flags as a pipeline.vertex.VertexTraining, or None (train in the pipeline's step)."""
    if not args.vertex_workers:
        return None
    from pipeline.vertex import VertexTraining
    try:
        return VertexTraining(project=args.vertex_project, region=args.vertex_region, workers=args.vertex_workers,
                              machine_type=args.vertex_machine_type, accelerator_type=args.vertex_accelerator_type,
                              accelerator_count=args.vertex_accelerator_count)
    except ValueError as error:
        raise SystemExit(f"kubeflow_runner.py: {error}") from None


def require_kfp():
    """kfp is an optional dependency (requirements-kubeflow.txt); say how to get it instead of a traceback."""
    try:
        import kfp  # noqa: F401
        import kfp.pipeline_spec  # noqa: F401
    except ImportError as error:
        raise SystemExit(f"kubeflow_runner.py needs the optional Kubeflow dependencies ({error}): "
                         "pip install --ignore-requires-python -r requirements-kubeflow.txt -c requirements.lock"
                         " (or pip install '.[kubeflow]')") from None


def pipeline_dataset(args) -> str:
    """--dataset; else the release detected from local data; else (bucket URIs, not read at compile time)
    the default release, said on the console."""
    if args.dataset:
        return args.dataset
    from pipeline import uris
    from yt8m_tfx import features
    if uris.is_uri(args.train_data_pattern):
        print(f"--dataset not given: compiling for {features.DEFAULT_DATASET} (data on {args.train_data_pattern} "
              f"is not read at compile time; pass --dataset=yt8m-2017 or yt8m-2016 for an older release)")
        return features.DEFAULT_DATASET
    from pipeline.data_checks import detect_dataset
    return detect_dataset([args.train_data_pattern, args.eval_data_pattern], args.frame_features)


def compile_pipeline(args) -> str:
    require_kfp()
    from tfx import v1 as tfx
    from pipeline import beam_presets, cli, configs
    from pipeline.pipeline import create_pipeline
    from yt8m_tfx.schema import schema_path

    dataset = pipeline_dataset(args)
    pipeline = create_pipeline(**cli.pipeline_kwargs(
        args, dataset,
        # Executors run in the image, so the schema path is the one inside it.
        schema_file=os.path.join(args.container_project_root, "yt8m_tfx", "schemas",
                                 os.path.relpath(schema_path(args.frame_features, dataset), SCHEMA_DIR)),
        # Linking (--ingest=import) fingerprints the shards when the pipeline is built: here that would be
        # at compile time, on a machine that may not reach the bucket. Copy unless told.
        ingest=args.ingest or configs.INGEST,
        vertex_training=vertex_training(args), vertex_image=args.image,
        # Distributed Beam workers default to the pipeline image, which has this project installed.
        beam_pipeline_args=beam_presets.args_from_flags(args, default_image=args.image)))
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=args.image),
        output_filename=args.output_file)
    runner.run(pipeline)
    return args.output_file


def main(argv=None):
    print(f"wrote {compile_pipeline(parse_args(argv))}")


if __name__ == "__main__":
    main()
