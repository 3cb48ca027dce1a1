"""Every pipeline default in one place (TFX template convention).

local_runner.py and kubeflow_runner.py start from these and override them from flags.
"""
from __future__ import annotations

import os

from trainer.config import TrainerConfig

_TRAINER_DEFAULTS = TrainerConfig()  # the trainer's own defaults, so they are written down once

PIPELINE_NAME = "yt8m-tfx"

# Input: like the starter code's --train_data_pattern / --eval_data_pattern.
TRAIN_DATA_PATTERN = "train*.tfrecord"
EVAL_DATA_PATTERN = "validate*.tfrecord"

# Ingest (--ingest): "copy" re-writes the shards through ImportExampleGen (shuffled, GZIP, the TFX default);
# "import" links the existing shards as the Examples artifact (pipeline/ingest.py). The component ids of both.
INGEST_MODES = ("copy", "import")
INGEST = "copy"
# local_runner.py links frame-level shards (~280 KB a video, ~1.5 TB for the real release): on the DirectRunner
# ImportExampleGen's shuffle holds every record in memory (bench/results/frame_level.json: 3.0 GiB at 1,250
# videos, 8.5 GiB at 5,000), and re-writing them buys nothing.
FRAME_LEVEL_INGEST = "import"
EXAMPLE_GEN_IDS = ("ImportExampleGen", "ShardImporter")
# StatisticsGen's sample rate (--stats_sample_rate): 1 = every video; lower on big inputs.
STATS_SAMPLE_RATE = 1.0

# Module paths, imported by the Transform/Trainer executors and Beam workers (the package is installed).
PREPROCESSING_FN = "transform.preprocessing.preprocessing_fn"
RUN_FN = "trainer.run_fn.run_fn"
TUNER_FN = "trainer.tuning.tuner_fn"

MODEL = _TRAINER_DEFAULTS.model
# Training length: passes over the training videos; keep-best (trainer/keep_best.py) exports the best
# step on the validation split and stops after PATIENCE evaluations without improvement, so the same
# defaults fit 2,000 synthetic and millions of real videos.
NUM_EPOCHS = 100
VALIDATION_PERCENT = _TRAINER_DEFAULTS.validation_percent
PATIENCE = _TRAINER_DEFAULTS.patience
BATCH_SIZE = _TRAINER_DEFAULTS.batch_size

# Frame-level videos per model call in the Evaluator: bounds a Beam worker's decoded frames and activations
# (64 x 300 frames x 1152 floats = 88 MB of input); video-level keeps Beam's adaptive batches.
FRAME_LEVEL_INFERENCE_BATCH = 64

# Blessing: the candidate needs GAP >= GAP_THRESHOLD and must not be worse than the last blessed model.
GAP_THRESHOLD = 0.05

# Trainer checkpoints (resume by default, trainer/checkpoints.py), relative to the pipeline root.
CHECKPOINT_DIR = "checkpoints"

# Where Pusher copies a blessed model, relative to the pipeline root unless absolute.
SERVING_MODEL_DIR = "serving_model"

# Beam runner presets (direct, dataflow, flink, spark): pipeline/beam_presets.py.


def default_pipeline_root() -> str:
    return os.path.join(os.getcwd(), "tfx_output")
