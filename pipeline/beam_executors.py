"""TFX's Beam executors, each followed by the removal of a restarted job's temp folders from its outputs
(yt8m_tfx/beam_temp.py). create_pipeline gives the Beam components these instead of TFX's own; they run
the same code, so outputs are TFX's, without the leftovers that break the next stage."""
from __future__ import annotations

from absl import logging
from tfx.components.bulk_inferrer import executor as bulk_inferrer
from tfx.components.evaluator import executor as evaluator
from tfx.components.example_gen.import_example_gen import executor as import_example_gen
from tfx.components.statistics_gen import executor as statistics_gen
from tfx.components.transform import executor as transform
from tfx.dsl.components.base import executor_spec

from yt8m_tfx.beam_temp import remove_beam_temp_dirs


def _without_beam_temp(executor_class, name):
    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 (TFX's name)
        result = executor_class.Do(self, input_dict, output_dict, exec_properties)
        removed = remove_beam_temp_dirs(a.uri for artifacts in output_dict.values() for a in artifacts)
        if removed:
            logging.warning("Removed %d temp folders of a restarted Beam job: %s", len(removed), removed)
        return result
    # Importable under this name: TFX records an executor by its module and class name.
    return type(name, (executor_class,), {"Do": Do, "__module__": __name__, "__qualname__": name})


ImportExampleGenExecutor = _without_beam_temp(import_example_gen.Executor, "ImportExampleGenExecutor")
StatisticsGenExecutor = _without_beam_temp(statistics_gen.Executor, "StatisticsGenExecutor")
TransformExecutor = _without_beam_temp(transform.Executor, "TransformExecutor")
EvaluatorExecutor = _without_beam_temp(evaluator.Executor, "EvaluatorExecutor")
BulkInferrerExecutor = _without_beam_temp(bulk_inferrer.Executor, "BulkInferrerExecutor")
_REPLACEMENTS = {cls.__bases__[0]: cls for cls in (ImportExampleGenExecutor, StatisticsGenExecutor,
                                                   TransformExecutor, EvaluatorExecutor, BulkInferrerExecutor)}


def use_cleaning_executor(component) -> None:
    """Swaps a TFX Beam component's executor for its cleaning subclass (no-op for other components)."""
    spec = getattr(component, "executor_spec", None)
    replacement = _REPLACEMENTS.get(getattr(spec, "executor_class", None))
    if replacement is not None:
        new_spec = executor_spec.BeamExecutorSpec(replacement)
        new_spec.add_beam_pipeline_args(spec.beam_pipeline_args)
        new_spec.extra_flags = list(spec.extra_flags)
        component.executor_spec = new_spec
