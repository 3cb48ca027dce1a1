"""TFX Tuner stage (`--tune`): a KerasTuner search whose best hyperparameters feed the Trainer.

Each trial trains the project's own model code (trainer/run_fn.build_compiled_model) for a step budget
and is scored by the best GAP on the same id-hash validation split keep-best uses (trainer/data_split.py),
never on the eval split. The search space is the learning rate around the model's default, the strength
of the L2 penalty and, for MoE heads, the number of mixtures. The TFX Trainer receives the winner as
fn_args.hyperparameters; run_fn applies it with `apply_hyperparameters`.
"""
from __future__ import annotations

import yt8m_tfx  # noqa: F401  (sets TF_USE_LEGACY_KERAS before tensorflow loads)

import keras_tuner
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from keras_tuner.engine import base_tuner
from tfx import v1 as tfx

from trainer import data_split, keep_best
from trainer.config import HPARAM_PREFIX, TrainerConfig, TuningConfig, apply_hyperparameters
from trainer.models import default_learning_rate

OBJECTIVE = "validation_gap"
MOE_MODELS = frozenset({"MoeModel"})


def search_space(config: TrainerConfig) -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    base = config.base_learning_rate or default_learning_rate(config.model, config.hparams)
    hp.Float("base_learning_rate", base / 4, base * 2, sampling="log")
    hp.Choice("regularization_penalty", [1.0, 100.0, 1000.0])
    if config.model in MOE_MODELS:
        hp.Choice(HPARAM_PREFIX + "moe_num_mixtures", [1, 2, 4])
    return hp


def make_oracle(config: TrainerConfig, tuning: TuningConfig) -> keras_tuner.oracles.RandomSearchOracle:
    """Random search over search_space(config); the same TuningConfig.seed samples the same trials.
    KerasTuner treats seed 0 as "draw a random seed", so the oracle gets seed + 1."""
    return keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective(OBJECTIVE, "max"), max_trials=tuning.trials, seed=tuning.seed + 1,
        hyperparameters=search_space(config), allow_new_entries=False)


class Yt8mTuner(base_tuner.BaseTuner):
    """Runs each trial with the project's training code; no Keras model passes through KerasTuner."""

    def __init__(self, config: TrainerConfig, train_dataset, validation_dataset, steps: int, every: int, **kwargs):
        super().__init__(**kwargs)
        self.config, self.steps, self.every = config, steps, every
        self.train_dataset, self.validation_dataset = train_dataset, validation_dataset

    def run_trial(self, trial, *args, **kwargs):
        from trainer.run_fn import build_compiled_model
        config = apply_hyperparameters(self.config, trial.hyperparameters.values)
        keras.backend.clear_session()
        keras.utils.set_random_seed(config.seed)
        model = build_compiled_model(config, self.steps)
        selector = keep_best.KeepBest(self.validation_dataset, config.validation_batches, every=self.every,
                                      patience=config.patience, top_k=config.top_k,
                                      top_score_exponent=config.top_score_exponent)
        model.fit(self.train_dataset, steps_per_epoch=self.steps, epochs=1, callbacks=[selector], verbose=0)
        logging.info("trial %s %s: validation GAP %.4f at step %d", trial.trial_id, trial.hyperparameters.values,
                     selector.state.best_gap, selector.state.best_step)
        return {OBJECTIVE: selector.state.best_gap}

    def save_model(self, trial_id, model, step=0):  # trials keep no models: the Trainer trains the winner
        pass


def tuner_fn(fn_args) -> tfx.components.TunerFnResult:
    """Referenced by module path from pipeline/pipeline.py. custom_config = TrainerConfig fields plus
    "tuning" (TuningConfig fields) and the code fingerprint."""
    from trainer.run_fn import count_examples, input_fn, validation_input_fn
    custom_config = dict(fn_args.custom_config or {})
    tuning = TuningConfig(**custom_config.pop("tuning", {}))
    config = TrainerConfig.from_custom_config(custom_config)
    if config.validation_percent <= 0:
        raise ValueError("--tune scores trials on the validation split: --validation_percent must be > 0")
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    steps_per_epoch = data_split.steps_for_epochs(count_examples(fn_args.train_files), 1, config.batch_size,
                                                  config.validation_percent)
    steps = max(1, round(tuning.epochs_per_trial * steps_per_epoch))
    train = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, config.batch_size, config,
                     seed=config.seed, part="train")
    validation = validation_input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, config)
    tuner = Yt8mTuner(config, train, validation, steps=steps,
                      every=keep_best.evaluation_interval(steps_per_epoch, steps),
                      oracle=make_oracle(config, tuning), directory=fn_args.working_dir,
                      project_name="yt8m_tuning")
    return tfx.components.TunerFnResult(tuner=tuner, fit_kwargs={})
