"""The runners' shared training flags (pipeline/cli.py) -> TrainerConfig."""
import argparse

import pytest

from pipeline import cli
from yt8m_tfx import command_line


def _parse(*argv):
    parser = argparse.ArgumentParser()
    cli.add_training_flags(parser)
    return cli.trainer_config_from_flags(parser.parse_args(list(argv)))


def test_seed_spellings_and_defaults():
    assert _parse("--frame_features=True", "--model=DbofModel").frame_features
    assert _parse("--frame_features", "--model=DbofModel").batch_size == 256  # frame-level default
    video = _parse("--start_new_model=false")
    assert not video.frame_features and not video.start_new_model and video.batch_size == 1024
    assert _parse("--start_new_model").start_new_model


def test_hparams_are_typed_and_merge_with_moe_mixtures():
    config = _parse("--model=NetVLADModel", "--frame_features", "--hparam", "netvlad_cluster_size=32",
                    "--hparam", "gating=false", "--hparam", "dbof_pooling_method=average",
                    "--hparam", "drop_rate=0.5", "--moe_num_mixtures=4")
    assert config.hparams == {"moe_num_mixtures": 4, "netvlad_cluster_size": 32, "gating": False,
                              "dbof_pooling_method": "average", "drop_rate": 0.5}


def test_malformed_flags_are_errors():
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_hparam("no_equals_sign")
    with pytest.raises(argparse.ArgumentTypeError):
        command_line.parse_bool("maybe")


def _parser():
    parser = cli.FlagFileParser()
    cli.add_training_flags(parser)
    return parser


def test_flag_files_skip_comments_and_later_flags_override(tmp_path):
    flags = tmp_path / "my.flags"
    flags.write_text("# a recipe\n\n--model=MoeModel\n--num_epochs=7  # short\n--hparam=input_dropout=0.1\n")
    args = _parser().parse_args([f"@{flags}", "--num_epochs=9"])
    config = cli.trainer_config_from_flags(args)
    assert (config.model, config.num_epochs, config.hparams["input_dropout"]) == ("MoeModel", 9, 0.1)
    assert cli.training_length(args) == (0, 9)


@pytest.mark.parametrize("recipe", ["video_level_best", "video_level_fast", "starter_code"])
def test_every_recipe_parses_to_a_video_level_config(recipe):
    from tests.conftest import PROJECT_ROOT
    import os
    args = _parser().parse_args([f"@{os.path.join(PROJECT_ROOT, 'recipes', recipe + '.flags')}"])
    config = cli.trainer_config_from_flags(args)
    assert not config.frame_features and config.num_epochs > 0


def test_training_length_epochs_by_default_steps_when_given():
    parser = _parser()
    assert cli.training_length(parser.parse_args([])) == (0, 100)
    assert cli.training_length(parser.parse_args(["--train_steps=50"])) == (50, 0)
    assert _parse("--train_steps=50").num_epochs == 0
    with pytest.raises(SystemExit, match="not both"):
        cli.training_length(parser.parse_args(["--train_steps=50", "--num_epochs=2"]))


def test_model_default_learning_rate_unless_given():
    from trainer.models import default_learning_rate
    assert _parse().base_learning_rate == 0  # 0 = the model's own (resolved when the model is built)
    assert default_learning_rate("LogisticModel") == 0.1 and default_learning_rate("MoeModel") == 0.05
    assert _parse("--base_learning_rate=0.02").base_learning_rate == 0.02
    assert _parse().learning_rate_schedule == "exponential"  # the starter code's
    assert _parse("--learning_rate_schedule=cosine").learning_rate_schedule == "cosine"


def test_tuning_without_a_validation_split_is_refused_before_anything_runs():
    from tests.conftest import PROJECT_ROOT
    import os
    best = "@" + os.path.join(PROJECT_ROOT, "recipes", "video_level_best.flags")
    with pytest.raises(SystemExit, match="--validation_percent > 0"):
        cli.tuning_config_from_flags(_parser().parse_args([best, "--tune"]))
    tuning = cli.tuning_config_from_flags(_parser().parse_args([best, "--tune", "--validation_percent=5"]))
    assert tuning.trials == 6
    assert cli.tuning_config_from_flags(_parser().parse_args([best])) is None


def test_the_starter_codes_training_flags_reach_the_trainer_config():
    from trainer.config import TrainerConfig
    defaults, default_config = TrainerConfig(), _parse()
    for field in ("regularization_penalty", "learning_rate_decay", "learning_rate_decay_examples",
                  "clip_gradient_norm", "seed", "weight_decay"):
        assert getattr(default_config, field) == getattr(defaults, field)
    config = _parse("--regularization_penalty=100", "--learning_rate_decay=0.9",
                    "--learning_rate_decay_examples=1000", "--clip_gradient_norm=5", "--seed=7", "--weight_decay=0.5")
    assert (config.regularization_penalty, config.learning_rate_decay, config.learning_rate_decay_examples,
            config.clip_gradient_norm, config.seed, config.weight_decay) == (100, 0.9, 1000, 5, 7, 0.5)


def test_frame_level_data_is_linked_and_video_level_copied_unless_told():
    parser = argparse.ArgumentParser()
    cli.add_training_flags(parser)
    cli.add_ingest_flags(parser)
    assert cli.ingest_mode(parser.parse_args([])) == "copy"
    assert cli.ingest_mode(parser.parse_args(["--frame_features", "--model=DbofModel"])) == "import"
    assert cli.ingest_mode(parser.parse_args(["--frame_features", "--model=DbofModel", "--ingest=copy"])) == "copy"
    assert cli.ingest_mode(parser.parse_args(["--ingest=import"])) == "import"


def _non_default(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return None  # strings need a valid value: set below
    return value + 3


def test_every_declared_setting_is_a_flag_that_reaches_the_config():
    """One declaration per setting (trainer/config.setting): each one's flag exists and sets its field."""
    from trainer.config import TrainerConfig, TuningConfig, flag_settings
    strings = {"model": "MoeModel", "feature_names": "mean_rgb", "label_loss": "HingeLoss",
               "learning_rate_schedule": "cosine", "precision": "mixed_bfloat16"}
    argv, expected = ["--tune"], {}
    for config_class in (TrainerConfig, TuningConfig):
        defaults = config_class()
        for name, flag, _ in flag_settings(config_class):
            value = strings.get(name, _non_default(getattr(defaults, name)))
            if name in ("top_score_exponent", "class_prior_strength", "class_frequency_exponent"):
                value = 0.1  # checked ranges
            if name in ("sample_frames", "frame_features", "max_frames"):
                continue  # frame-level settings need a frame-level model: covered above
            if name == "validation_percent":
                value = 20.0
            argv.append(f"--{flag}={value}")
            expected[(config_class, name)] = value
    args = _parser().parse_args(argv)
    trainer, tuning = cli.trainer_config_from_flags(args), cli.tuning_config_from_flags(args)
    for (config_class, name), value in expected.items():
        assert getattr(trainer if config_class is TrainerConfig else tuning, name) == value, name


def test_model_flag_help_names_every_model():
    from trainer.config import TrainerConfig, flag_settings
    from trainer.models import MODELS
    help_text = next(d["help"] for name, _, d in flag_settings(TrainerConfig) if name == "model")
    named = {word.strip(",;:().") for word in help_text.split()}
    assert {word for word in named if word.endswith("Model")} == set(MODELS)


def test_readme_flag_table_is_generated_from_the_flags():
    """`make bench-report` regenerates it; a new or changed flag without that fails here."""
    import os
    import local_runner
    from pipeline import flag_docs
    from tests.conftest import PROJECT_ROOT
    readme = open(os.path.join(PROJECT_ROOT, "README.md")).read()
    assert flag_docs.section(local_runner.build_parser()) in readme, \
        "README flag table is stale: run `make bench-report`"


def test_both_runners_build_their_pipeline_settings_from_the_shared_flags():
    import local_runner
    from pipeline.pipeline import PipelineSettings
    args = local_runner.parse_args(["--model=MoeModel", "--gap_threshold=0.2", "--pipeline_root=/tmp/r",
                                    "--train_data_pattern=/d/train*", "--eval_data_pattern=/d/validate*"])
    settings = PipelineSettings(**cli.pipeline_kwargs(args, "yt8m-2018", train_data_pattern="/x/train*",
                                                      ingest="import"))
    assert settings.train_data_pattern == "/x/train*" and settings.eval_data_pattern == "/d/validate*"
    assert (settings.trainer_config.model, settings.gap_threshold, settings.ingest) == ("MoeModel", 0.2, "import")
    assert settings.trainer_config.checkpoint_dir == "/tmp/r/checkpoints"
