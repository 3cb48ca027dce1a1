"""create_pipeline(...): the only place TFX components are wired together.

ImportExampleGen (or ShardImporter, --ingest=import) -> StatisticsGen -> ImportSchemaGen (curated)
  -> ExampleValidator -> AnomaliesGate -> Transform -> Trainer
  -> Evaluator (GAP plugin, blessing vs latest blessed model)
  -> BulkInferrer (top-k signature, blessed models only) -> PredictionsCsvExporter, Pusher
"""
from __future__ import annotations

import dataclasses
import json
import posixpath
from typing import Any, List, Optional

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS before tensorflow loads)

import tensorflow_data_validation as tfdv
import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.dsl.components.base.base_beam_component import BaseBeamComponent

from evaluator_ext import tfma_metrics
from inference.components import PredictionsCsvExporter
from pipeline import beam_executors, beam_presets, configs, uris, vertex
from pipeline.ingest import ShardImporter, files_fingerprint
from pipeline.validation_gate import AnomaliesGate
from trainer import signatures
from trainer.config import TrainerConfig, TuningConfig
from trainer.models import check_model_matches_data
from transform.normalization import DEFAULT_INPUT_NORMALIZATION
from transform.preprocessing import (FIRST_LABEL_VERTICAL_KEY, NUM_LABELS_BUCKET_KEY, RGB_NORM_BUCKET_KEY,
                                     TransformConfig)
from yt8m_tfx import code_fingerprint, features
from yt8m_tfx.code_fingerprint import CUSTOM_CONFIG_KEY, fingerprint, module_of
from yt8m_tfx.schema import schema_path


def split_data_patterns(train_data_pattern: str, eval_data_pattern: str):
    """Full glob patterns (the seed's flags) -> (input_base, train pattern, eval pattern) for ExampleGen.

    input_base is the deepest folder holding both patterns; works for local paths and gs:// / s3:// URIs.
    """
    (train_folder, train_files), (eval_folder, eval_files) = map(uris.split_pattern,
                                                                 (train_data_pattern, eval_data_pattern))
    (train_scheme, _, train_path), (eval_scheme, _, eval_path) = (
        folder.rpartition("://") for folder in (train_folder, eval_folder))
    if train_scheme != eval_scheme:
        raise ValueError(f"train and eval data must be on the same filesystem, got {train_data_pattern!r} "
                         f"and {eval_data_pattern!r}")
    # commonpath on the paths without "scheme://", which it would collapse to "scheme:/".
    base = posixpath.commonpath([train_path, eval_path])
    return ((f"{train_scheme}://" if train_scheme else "") + base,
            posixpath.relpath(posixpath.join(train_path, train_files), base),
            posixpath.relpath(posixpath.join(eval_path, eval_files), base))


def create_eval_config(gap_threshold: float, top_k: int, inference_batch_size: int = 0) -> tfma.EvalConfig:
    """inference_batch_size: videos per model call in the Evaluator (0: Beam's adaptive batches, which grow
    to thousands of examples when a batch is quick: fine for video-level, gigabytes for frame-level)."""
    # Every project metric's config carries the plugin's code fingerprint: the Evaluator's only cache key
    # that changes when the metric code does (TFMA loads the plugin by module name).
    plugin_code = code_fingerprint.fingerprint([tfma_metrics.__name__])

    def metric(class_name, **config):
        return tfma.MetricConfig(class_name=class_name, module=tfma_metrics.__name__,
                                 config=json.dumps({**config, code_fingerprint.CUSTOM_CONFIG_KEY: plugin_code}))
    gap = metric("GlobalAveragePrecision", top_k=int(top_k))
    # Blessing looks at the overall slice only (small slices are noisy): GAP above the threshold and
    # not worse than the latest blessed model (the change check is skipped on the first run).
    gap.per_slice_thresholds.add(
        slicing_specs=[tfma.SlicingSpec()],
        threshold=tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": gap_threshold}),
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -1e-10})))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(
            signature_name=signatures.SERVING_SIGNATURE,
            prediction_key=signatures.PROBABILITIES_OUTPUT,
            label_key=features.LABELS_MULTI_HOT_KEY,
            preprocessing_function_names=[signatures.TRANSFORM_FEATURES_SIGNATURE],
            inference_batch_size=inference_batch_size)],
        slicing_specs=[
            tfma.SlicingSpec(),
            tfma.SlicingSpec(feature_keys=[NUM_LABELS_BUCKET_KEY]),
            tfma.SlicingSpec(feature_keys=[RGB_NORM_BUCKET_KEY]),
            tfma.SlicingSpec(feature_keys=[FIRST_LABEL_VERTICAL_KEY]),
        ],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            gap,
            metric("HitAtOne"),
            metric("PrecisionAtEqualRecallRate"),
            metric("MeanAveragePrecision", top_k=int(top_k)),
        ])])


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """Everything create_pipeline needs. schema_file: the curated schema as the executors see it (default: this
    checkout's copy for the release and data level; in a container: its path there). train_steps 0 lets the
    Trainer derive the steps from trainer_config.num_epochs. normalize_frames z-scores frame features;
    input_normalization is the video-level features' (transform/normalization.py). tuning adds the Tuner stage,
    whose best hyperparameters the Trainer uses. preprocessing_fn, run_fn and tuner_fn are module paths the
    executors import. ingest "import" links the existing shards instead of re-writing them (pipeline/ingest.py);
    stats_sample_rate < 1 computes the statistics on that share of the videos. vertex_training runs the Trainer
    as a Vertex AI job on worker pools of vertex_image (pipeline/vertex.py)."""
    pipeline_name: str
    pipeline_root: str
    train_data_pattern: str
    eval_data_pattern: str
    trainer_config: TrainerConfig
    train_steps: int
    gap_threshold: float = configs.GAP_THRESHOLD
    serving_model_dir: Optional[str] = None
    inference_data_pattern: Optional[str] = None
    beam_pipeline_args: List[str] = dataclasses.field(default_factory=list)
    metadata_connection_config: Any = None
    enable_cache: bool = True
    schema_file: Optional[str] = None
    normalize_frames: bool = False
    input_normalization: str = DEFAULT_INPUT_NORMALIZATION
    tuning: Optional[TuningConfig] = None
    preprocessing_fn: str = configs.PREPROCESSING_FN
    run_fn: str = configs.RUN_FN
    tuner_fn: str = configs.TUNER_FN
    ingest: str = configs.INGEST
    stats_sample_rate: float = configs.STATS_SAMPLE_RATE
    vertex_training: Optional[vertex.VertexTraining] = None
    vertex_image: Optional[str] = None

    def __post_init__(self):
        check_model_matches_data(self.trainer_config.model, self.trainer_config.frame_features)
        if self.ingest not in configs.INGEST_MODES:
            raise ValueError(f"--ingest must be one of {configs.INGEST_MODES}, got {self.ingest!r}")
        if not 0 < self.stats_sample_rate <= 1:
            raise ValueError(f"--stats_sample_rate must be in (0, 1], got {self.stats_sample_rate}")
        if not self.trainer_config.checkpoint_dir:  # resume-by-default needs a place that outlives one execution
            object.__setattr__(self, "trainer_config", dataclasses.replace(
                self.trainer_config, checkpoint_dir=posixpath.join(self.pipeline_root, configs.CHECKPOINT_DIR)))
        object.__setattr__(self, "beam_pipeline_args", list(self.beam_pipeline_args or []))

    @property
    def frame_level(self) -> bool:
        return self.trainer_config.frame_features

    @property
    def payload_format(self):
        return (tfx.proto.PayloadFormat.FORMAT_TF_SEQUENCE_EXAMPLE if self.frame_level
                else tfx.proto.PayloadFormat.FORMAT_TF_EXAMPLE)


def create_pipeline(*args, **kwargs) -> tfx.dsl.Pipeline:
    """The TFX template's entry point: PipelineSettings' fields, positional or by name."""
    settings = PipelineSettings(*args, **kwargs)
    example_gen = _example_gen(settings)
    examples = example_gen.outputs["examples"]
    validation = _validation_stages(settings, examples)
    statistics_gen, schema_gen, example_validator, anomalies_gate = validation
    schema = schema_gen.outputs["schema"]
    transform = _transform(settings, examples, schema, anomalies_gate)
    # Frame-level: raw SequenceExamples, the Trainer applies the Transform graph while reading.
    training_examples = examples if settings.frame_level else transform.outputs["transformed_examples"]
    tuner, trainer = _training_stages(settings, training_examples, transform, schema)
    model_resolver, evaluator = _evaluation_stages(settings, examples, trainer)
    inference_gen, bulk_inferrer, csv_exporter = _batch_prediction_stages(settings, examples, trainer, evaluator)
    components = [example_gen, *validation, transform, *([tuner] if tuner else []), trainer, model_resolver,
                  evaluator, *([inference_gen] if inference_gen else []), bulk_inferrer, csv_exporter,
                  _pusher(settings, trainer, evaluator)]
    for component in components:
        beam_executors.use_cleaning_executor(component)
        if isinstance(component, BaseBeamComponent) and beam_presets.names_jobs(settings.beam_pipeline_args):
            # The engine's UI and REST API then say which stage a job is.
            component.with_beam_pipeline_args([f"--job_name={settings.pipeline_name}.{component.id}"])
    return tfx.dsl.Pipeline(
        pipeline_name=settings.pipeline_name,
        pipeline_root=settings.pipeline_root,
        components=components,
        enable_cache=settings.enable_cache,
        metadata_connection_config=settings.metadata_connection_config,
        beam_pipeline_args=settings.beam_pipeline_args)


def _example_gen(s: PipelineSettings):
    """ImportExampleGen (copy: shuffled GZIP shards of its own) or ShardImporter (import: the shards linked)."""
    if s.ingest == "import":
        patterns = {"train": s.train_data_pattern, "eval": s.eval_data_pattern}
        return ShardImporter(
            split_patterns=json.dumps(patterns),
            payload_format=tfx.proto.PayloadFormat.Name(s.payload_format),
            files_fingerprint=files_fingerprint(patterns),
            code_fingerprint=fingerprint([ShardImporter.__module__])).with_id(configs.EXAMPLE_GEN_IDS[1])
    input_base, train_pattern, eval_pattern = split_data_patterns(s.train_data_pattern, s.eval_data_pattern)
    return tfx.components.ImportExampleGen(
        input_base=input_base,
        input_config=tfx.proto.Input(splits=[
            tfx.proto.Input.Split(name="train", pattern=train_pattern),
            tfx.proto.Input.Split(name="eval", pattern=eval_pattern),
        ]),
        payload_format=s.payload_format).with_id(configs.EXAMPLE_GEN_IDS[0])


def _validation_stages(s: PipelineSettings, examples):
    """StatisticsGen, the curated schema, ExampleValidator and the gate that stops a run on anomalies."""
    statistics_gen = tfx.components.StatisticsGen(
        examples=examples,
        # Sketches (Misra-Gries, KMV) for the top-k / unique counts of the string features (the video ids):
        # bounded memory instead of a count per distinct value, which grows with the dataset.
        stats_options=tfdv.StatsOptions(sample_rate=s.stats_sample_rate if s.stats_sample_rate < 1 else None,
                                        use_sketch_based_topk_uniques=True))
    schema_gen = tfx.components.ImportSchemaGen(
        schema_file=s.schema_file or schema_path(s.frame_level, s.trainer_config.dataset))
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    anomalies_gate = AnomaliesGate(anomalies=example_validator.outputs["anomalies"],
                                   code_fingerprint=fingerprint([AnomaliesGate.__module__]))
    return statistics_gen, schema_gen, example_validator, anomalies_gate


def _transform(s: PipelineSettings, examples, schema, anomalies_gate):
    config = s.trainer_config
    transform_config = TransformConfig(frame_features=s.frame_level, max_frames=config.max_frames,
                                       output_frames=config.sample_frames, normalize_frames=s.normalize_frames,
                                       input_normalization=s.input_normalization, dataset=config.dataset)
    transform = tfx.components.Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn=s.preprocessing_fn,
        # Its pre-/post-transform statistics are read by nothing here and cost a full pass over the data.
        disable_statistics=True,
        # Frame-level output would be ~1.4 MB of floats a video; the Trainer applies the graph itself.
        materialize=not s.frame_level,
        custom_config={**transform_config.to_custom_config(),
                       CUSTOM_CONFIG_KEY: fingerprint([module_of(s.preprocessing_fn)])})
    transform.add_upstream_node(anomalies_gate)  # no training on data that fails validation
    return transform


def _training_stages(s: PipelineSettings, training_examples, transform, schema):
    """(the Tuner or None, the Trainer: the pipeline's own, or a Vertex AI job)."""
    tuner = None
    if s.tuning:
        tuner = tfx.components.Tuner(
            tuner_fn=s.tuner_fn,
            examples=training_examples,
            transform_graph=transform.outputs["transform_graph"],
            schema=schema,
            train_args=tfx.proto.TrainArgs(num_steps=0),
            eval_args=tfx.proto.EvalArgs(num_steps=0),
            custom_config={**s.trainer_config.to_custom_config(), "tuning": dataclasses.asdict(s.tuning),
                           CUSTOM_CONFIG_KEY: fingerprint([module_of(s.tuner_fn)])})
    custom_config = {**s.trainer_config.to_custom_config(), CUSTOM_CONFIG_KEY: fingerprint([module_of(s.run_fn)])}
    trainer_component = tfx.components.Trainer
    if s.vertex_training:
        trainer_component = tfx.extensions.google_cloud_ai_platform.Trainer
        custom_config.update(vertex.trainer_custom_config(s.vertex_training, s.vertex_image))
    trainer = trainer_component(
        run_fn=s.run_fn,
        hyperparameters=tuner.outputs["best_hyperparameters"] if tuner else None,
        examples=training_examples,
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=tfx.proto.TrainArgs(num_steps=s.train_steps),
        custom_config=custom_config)
    return tuner, trainer


def _evaluation_stages(s: PipelineSettings, examples, trainer):
    """The latest blessed model as baseline, and the Evaluator (GAP plugin) that blesses or not."""
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(
        examples=examples,
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=create_eval_config(s.gap_threshold, s.trainer_config.top_k,
                                       configs.FRAME_LEVEL_INFERENCE_BATCH if s.frame_level else 0))
    return model_resolver, evaluator


def _batch_prediction_stages(s: PipelineSettings, examples, trainer, evaluator):
    """(the inference shards' ExampleGen or None, BulkInferrer, PredictionsCsvExporter): predictions of a blessed
    model over the eval split, or over --inference_data_pattern (e.g. the test set)."""
    inference_gen, inference_split = None, "eval"
    if s.inference_data_pattern:
        inference_base, inference_files = uris.split_pattern(s.inference_data_pattern)
        inference_gen = tfx.components.ImportExampleGen(
            input_base=inference_base,
            input_config=tfx.proto.Input(splits=[tfx.proto.Input.Split(name="inference", pattern=inference_files)]),
            # One input split would otherwise be hash-split 2:1 into train/eval, and BulkInferrer, reading the
            # "inference" split, would predict nothing.
            output_config=tfx.proto.Output(split_config=tfx.proto.SplitConfig(splits=[
                tfx.proto.SplitConfig.Split(name="inference", hash_buckets=1)])),
            payload_format=s.payload_format,
        ).with_id("inference_example_gen")
        examples, inference_split = inference_gen.outputs["examples"], "inference"
    # BulkInferrer writes nothing for an unblessed model; skip the CSV export too in that case.
    with tfx.dsl.Cond(evaluator.outputs["blessing"].future()[0].custom_property("blessed") == 1):
        bulk_inferrer = tfx.components.BulkInferrer(
            examples=examples,
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            data_spec=tfx.proto.DataSpec(example_splits=[inference_split]),
            model_spec=tfx.proto.ModelSpec(model_signature_name=[signatures.TOP_K_SIGNATURE]))
        csv_exporter = PredictionsCsvExporter(inference_result=bulk_inferrer.outputs["inference_result"],
                                              dataset=s.trainer_config.dataset,
                                              code_fingerprint=fingerprint([PredictionsCsvExporter.__module__]))
    return inference_gen, bulk_inferrer, csv_exporter


def _pusher(s: PipelineSettings, trainer, evaluator):
    return tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=s.serving_model_dir or uris.join(s.pipeline_root, configs.SERVING_MODEL_DIR))))
