"""Training on Vertex AI worker pools from a Kubeflow pipeline (kubeflow_runner.py --vertex_workers N).

TFX's Vertex Trainer extension (tfx.extensions.google_cloud_ai_platform.Trainer) submits a Vertex AI
CustomJob whose every replica runs the pipeline's run_fn. Vertex sets TF_CONFIG on each replica: pool 0 is
the "chief", pool 1 the "worker"s, so trainer/distribution.py picks MultiWorkerMirroredStrategy and only
the chief writes the model (the same code path tests/test_multi_worker.py runs with local processes).
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

# tfx.extensions.google_cloud_ai_platform's custom_config keys (tested equal), here to keep imports light.
ENABLE_VERTEX_KEY = "ai_platform_enable_vertex"
VERTEX_REGION_KEY = "ai_platform_vertex_region"
TRAINING_ARGS_KEY = "ai_platform_training_args"


@dataclasses.dataclass(frozen=True)
class VertexTraining:
    project: str
    region: str
    workers: int = 1                       # replicas in all: one chief plus workers - 1
    machine_type: str = "n1-standard-8"
    accelerator_type: Optional[str] = None  # e.g. NVIDIA_TESLA_T4
    accelerator_count: int = 0

    def __post_init__(self):
        missing = [flag for flag, value in (("--vertex_project", self.project), ("--vertex_region", self.region))
                   if not value]
        if missing:
            raise ValueError(f"--vertex_workers needs {' and '.join(missing)}")
        if self.workers < 1:
            raise ValueError(f"--vertex_workers must be at least 1, not {self.workers}")
        if bool(self.accelerator_type) != (self.accelerator_count > 0):
            raise ValueError("give --vertex_accelerator_type and --vertex_accelerator_count together")


def worker_pool_specs(training: VertexTraining, image: str) -> List[Dict]:
    """Pool 0: the chief (one replica); pool 1: the other workers, on the same machine type and image."""
    machine: Dict = {"machine_type": training.machine_type}
    if training.accelerator_type:
        machine.update(accelerator_type=training.accelerator_type, accelerator_count=training.accelerator_count)
    pool = {"machine_spec": machine, "container_spec": {"image_uri": image}}
    specs = [dict(pool, replica_count=1)]
    if training.workers > 1:
        specs.append(dict(pool, replica_count=training.workers - 1))
    return specs


def trainer_custom_config(training: VertexTraining, image: str) -> Dict:
    """What the Vertex Trainer extension reads from the Trainer's custom_config."""
    return {ENABLE_VERTEX_KEY: True, VERTEX_REGION_KEY: training.region,
            TRAINING_ARGS_KEY: {"project": training.project,
                                "job_spec": {"worker_pool_specs": worker_pool_specs(training, image)}}}
