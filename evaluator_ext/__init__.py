"""YouTube-8M evaluation: pure numpy metrics plus their TFMA plugin (evaluator_ext.tfma_metrics)."""
from evaluator_ext.metrics_math import gap, hit_at_one, perr  # noqa: F401
