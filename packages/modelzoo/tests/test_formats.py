"""Reading both Model Zoo formats: where the block is, trainer settings, names, no mutation."""

from __future__ import annotations

import copy
import warnings

import pytest
from tiny_models import TinyMLP

from waferopt.modelzoo import build, inspect_config, load_config, parse_config
from waferopt.registry import ConfigError, ConfigErrors

SETTINGS = {
    "log_summaries": True,
    "loss_scaling_factor": "dynamic",
    "initial_loss_scale": 2**15,
    "steps_per_increase": 2000,
    "min_loss_scale": 1.0e-5,
    "max_loss_scale": 2.0**31,
    "max_gradient_norm": 1.0,
    "max_gradient_value": 5.0,
    "grad_accum_steps": 4,
}


def test_legacy_block_trainer_settings_are_returned_not_passed():
    config = {
        "optimizer": {"optimizer_type": "SGD", "momentum": 0.9, "weight_decay": 0.0, **SETTINGS}
    }
    config["optimizer"]["learning_rate"] = None  # no schedule: no scheduler needed
    result = build(TinyMLP(), config)
    assert result.format == "legacy"
    assert result.trainer_settings == SETTINGS
    assert set(result.optimizer_kwargs) == {"momentum", "weight_decay", "lr"}
    assert result.optimizer.param_groups[0]["momentum"] == 0.9


@pytest.mark.parametrize(
    "config",
    [
        {"optimizer": {"SGD": {"lr": 0.1, "momentum": 0.5, **SETTINGS}}},
        {"optimizer": {"sgd": {"lr": 0.1, "momentum": 0.5}, **SETTINGS}},
        {"trainer": {"init": {"optimizer": {"SGD": {"lr": 0.1, "momentum": 0.5, **SETTINGS}}}}},
        {"SGD": {"lr": 0.1, "momentum": 0.5, **SETTINGS}},
    ],
    ids=["top-level", "lower-case-name-settings-beside", "trainer-init", "block-alone"],
)
def test_trainer_format_locations(config):
    """The trainer block is found at the top, under trainer.init, or alone; names are
    case-insensitive; trainer keys inside or beside the class arguments are settings."""
    before = copy.deepcopy(config)
    result = build(TinyMLP(), config)
    assert config == before
    assert result.format == "trainer"
    assert type(result.optimizer).__name__ == "SGD"
    assert result.trainer_settings == SETTINGS
    assert [g["lr"] for g in result.optimizer.param_groups] == [0.1, 0.1]
    assert result.schedulers == []


def test_legacy_block_alone_and_optim_params_are_flattened():
    config = {"optimizer_type": "SGD", "learning_rate": None, "optim_params": {"momentum": 0.25}}
    result = build(TinyMLP(), config)
    assert result.optimizer.param_groups[0]["momentum"] == 0.25


def test_weight_decay_rate_is_translated_with_deprecation_warning():
    config = {"optimizer": {"SGD": {"lr": 0.1, "weight_decay_rate": 0.05}}}
    with pytest.warns(DeprecationWarning, match="'weight_decay'"):
        result = build(TinyMLP(), config)
    assert [g["weight_decay"] for g in result.optimizer.param_groups] == [0.05, 0.0]


def test_yaml_numeric_strings_are_converted(tmp_path):
    """PyYAML reads 1e-4 (no dot) as a string; every such value becomes a number."""
    path = tmp_path / "c.yaml"
    path.write_text(
        "optimizer:\n  SGD:\n    lr: 1e-1\n    momentum: 9e-1\n    weight_decay: 1e-4\n"
        "    max_gradient_norm: 1e0\n"
    )
    raw = load_config(path)
    assert raw["optimizer"]["SGD"]["lr"] == "1e-1"
    with pytest.warns(UserWarning, match="converted"):
        result = build(TinyMLP(), path)
    group = result.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.1, 0.9, 1e-4)
    assert result.trainer_settings == {"max_gradient_norm": 1.0}


def test_yaml_text_is_accepted():
    result = build(TinyMLP(), "optimizer:\n  SGD: {lr: 0.5}\n")
    assert result.optimizer.param_groups[0]["lr"] == 0.5


def test_ignored_keys_are_reported():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = build(TinyMLP(), {"optimizer": {"SGD": {"lr": 0.1, "momentumm": 0.9, "foo": 1}}})
    assert result.ignored_keys == ["foo", "momentumm"]


def test_no_mutation_of_nested_input():
    config = {
        "optimizer": {
            "optimizer_type": "SGD",
            "learning_rate": None,
            "weight_decay_rate": 0.1,
            "adjust_learning_rate": {"fc2.*": 2.0},
            "params": [{"params": ["fc1.*"], "tag": "first"}],
            "optim_params": {"momentum": 0.5},
            **SETTINGS,
        }
    }
    before = copy.deepcopy(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build(TinyMLP(), config)
    assert config == before


@pytest.mark.parametrize(
    ("config", "path", "fragment"),
    [
        ({"model": {}}, "", "no optimizer found"),
        ({"optimizer": ["SGD"]}, "optimizer", "must be a mapping"),
        ({"optimizer": {"SGD": {}, "Adam": {}}}, "optimizer", "single optimizer name"),
        ({"optimizer": {"SGD": 3}}, "optimizer.SGD", "must be a mapping"),
        ({"optimizer": {"optimizer_type": 7}}, "optimizer.optimizer_type", "optimizer name"),
        ({"optimizer": {"SGDD": {"lr": 0.1}}}, "optimizer.SGDD", "Did you mean 'SGD'"),
        (
            {"optimizer": {"optimizer_type": "sgdd", "learning_rate": None}},
            "optimizer.optimizer_type",
            "Did you mean",
        ),
        (
            {"optimizer": {"SGD": {"lr": 0.1, "weight_decay": "heavy"}}},
            "optimizer.SGD.weight_decay",
            "number",
        ),
        ({"optimizer": {"SGD": {"lr": -1.0}}}, "optimizer.SGD.lr", "learning rate"),
        (
            {"optimizer": {"SGD": {"lr": 0.1, "momentum": -0.5}}},
            "optimizer.SGD.momentum",
            "momentum",
        ),
        (
            {"optimizer": {"SGD": {"lr": 0.1, "weight_decay": 0.1, "weight_decay_rate": 0.2}}},
            "optimizer.SGD.weight_decay_rate",
            "deprecated",
        ),
        ({"optimizer": {"SGD": {"lr": 0.1}}, "schedulers": 5}, "schedulers", "list"),
    ],
)
def test_single_problems_name_their_path(config, path, fragment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError) as info:
            build(TinyMLP(), config)
    assert info.value.path == path
    assert fragment in str(info.value)


def test_problems_are_all_collected():
    """A bad optimizer name, a bad weight decay and a glob matching nothing: three errors."""
    config = {
        "optimizer": {
            "optimizer_type": "sgdd",
            "learning_rate": None,
            "weight_decay": -1,
            "params": [{"params": "nothing*", "tag": "t"}],
        }
    }
    report = inspect_config(TinyMLP(), config)
    assert not report.ok
    assert sorted(e.path for e in report.errors) == [
        "optimizer.optimizer_type",
        "optimizer.params[0].params",
        "optimizer.weight_decay",
    ]
    with pytest.raises(ConfigErrors):
        build(TinyMLP(), config)


def test_parse_config_reports_the_format_and_paths():
    spec, errors = parse_config(
        {
            "trainer": {
                "init": {
                    "optimizer": {"AdamW": {"learning_rate": 1.0, "params": []}},
                    "schedulers": [],
                }
            }
        }
    )
    assert errors == []
    assert spec.format == "trainer"
    assert spec.path == "trainer.init.optimizer.AdamW"
    assert spec.learning_rate_path == "trainer.init.optimizer.AdamW.learning_rate"
    assert spec.schedulers == [] and spec.schedulers_path == "trainer.init.schedulers"
    assert spec.tag_filters == [] and spec.tag_filters_path == "trainer.init.optimizer.AdamW.params"
