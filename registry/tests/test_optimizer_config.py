"""configure_optimizer / configure_optimizer_params with Model Zoo style keys."""

from __future__ import annotations

import copy
import logging

import pytest
import torch

from waferopt.registry import (
    ConfigError,
    UnknownNameError,
    configure_optimizer,
    configure_optimizer_params,
)


def model_params():
    return torch.nn.Linear(3, 2).parameters()


def test_keys_are_picked_from_the_signature_and_others_logged(caplog):
    """Keys the class takes are passed; trainer keys and unknown keys are dropped and logged."""
    config = {"learning_rate": 0.1, "momentum": 0.9, "log_summaries": True, "foo": 1}
    with caplog.at_level(logging.INFO):
        cls, kwargs = configure_optimizer_params("sgd", config)
    assert cls.__name__ == "SGD"
    assert kwargs == {"lr": 0.1, "momentum": 0.9}
    assert "foo" in caplog.text and "log_summaries" in caplog.text


def test_input_is_not_mutated():
    """Decision 10: the caller's dict is left as it was."""
    config = {"learning_rate": {"scheduler": "Linear"}, "beta1": 0.9, "momentum": "0.9"}
    before = copy.deepcopy(config)
    with pytest.warns(UserWarning, match="momentum"):
        configure_optimizer_params("SGD", config)
    assert config == before


def test_near_miss_warns_naming_both():
    """A dropped key close to a real parameter warns, naming both."""
    with pytest.warns(UserWarning, match="'weight_decy'.*'weight_decay'"):
        configure_optimizer_params("SGD", {"lr": 0.1, "weight_decy": 0.1})


@pytest.mark.parametrize("value", [1, 1.0, "1e-01", "0.1"])
def test_learning_rate_numbers(value):
    """Decision 11: an int is a number; YAML numeric strings are converted with a warning."""
    if isinstance(value, str):
        with pytest.warns(UserWarning, match="converted"):
            _, kwargs = configure_optimizer_params("SGD", {"learning_rate": value})
    else:
        _, kwargs = configure_optimizer_params("SGD", {"learning_rate": value})
    assert kwargs["lr"] == float(value) and isinstance(kwargs["lr"], float)


def test_schedule_learning_rate_leaves_lr_to_the_scheduler():
    """A schedule is not a number: a required lr gets a placeholder the scheduler overwrites."""
    _, kwargs = configure_optimizer_params("SGD", {"learning_rate": [{"scheduler": "Linear"}]})
    assert kwargs["lr"] == 0.1
    _, kwargs = configure_optimizer_params("ASGD", {"learning_rate": {"scheduler": "Linear"}})
    assert "lr" not in kwargs


def test_deprecated_names_are_translated():
    """Decision 12: 1.x names become the new keys with a DeprecationWarning naming them."""
    with pytest.warns(DeprecationWarning, match="'weight_decay_rate'.*'weight_decay'"):
        _, kwargs = configure_optimizer_params("SGD", {"lr": 0.1, "weight_decay_rate": 0.01})
    assert kwargs["weight_decay"] == 0.01
    with pytest.raises(ConfigError, match="weight_decay"):
        configure_optimizer_params(
            "SGD", {"lr": 0.1, "weight_decay_rate": 0.01, "weight_decay": 0.1}
        )


def test_string_numbers_in_arguments_are_converted():
    """YAML strings for numeric arguments are converted (Cerebras passed them on and failed)."""
    with pytest.warns(UserWarning, match="momentum"):
        _, kwargs = configure_optimizer_params("SGD", {"lr": 0.1, "momentum": "9e-1"})
    assert kwargs["momentum"] == 0.9


def test_bad_learning_rate_type():
    """A learning rate that is neither a number nor a schedule names the key."""
    with pytest.raises(ConfigError, match="learning_rate"):
        configure_optimizer_params("SGD", {"learning_rate": "fast"})


def test_configure_optimizer_builds_and_reports_bad_values():
    """configure_optimizer builds the class; a bad value is a ValueError naming it."""
    opt = configure_optimizer("SGD", model_params(), lr=0.1, momentum=0.9, nesterov=True)
    assert opt.param_groups[0]["nesterov"] is True
    with pytest.raises(ValueError, match="momentum"):
        configure_optimizer("SGD", model_params(), lr=0.1, momentum=-1.0)


def test_unknown_optimizer_name():
    """An unknown name is a ValueError with suggestions."""
    with pytest.raises(UnknownNameError, match="Did you mean 'SGD'"):
        configure_optimizer("SDG", model_params(), lr=0.1)
    assert issubclass(UnknownNameError, ValueError)


def test_each_unknown_key_is_reported_once(caplog):
    """A near miss warns, naming the argument, and is not in the log line; the other
    unknown keys are in the log line Cerebras writes, and do not warn."""
    config = {"learning_rate": 0.1, "momentun": 0.9, "foo": 1}
    with caplog.at_level(logging.WARNING), pytest.warns(UserWarning, match="momentun") as caught:
        configure_optimizer_params("sgd", config)
    messages = [str(w.message) for w in caught]
    assert messages == ["SGD: unknown key 'momentun' was dropped; did you mean 'momentum'?"]
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and "['foo']" in logged[0] and "momentun" not in logged[0]
