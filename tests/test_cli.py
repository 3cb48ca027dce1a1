"""The runners' shared training flags (pipeline/cli.py) -> TrainerConfig."""
import argparse

import pytest

from pipeline import cli


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
                    "--hparam", "dropout=0.5", "--moe_num_mixtures=4")
    assert config.hparams == {"moe_num_mixtures": 4, "netvlad_cluster_size": 32, "gating": False,
                              "dbof_pooling_method": "average", "dropout": 0.5}


def test_malformed_flags_are_errors():
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_hparam("no_equals_sign")
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_bool("maybe")
