"""The one table of Model Zoo optimizer-block keys, and the views read from it."""

from __future__ import annotations

import warnings

import pytest
import torch

from waferopt.registry import ConfigError, configure_optimizer_params
from waferopt.registry.config_keys import (
    KEYS,
    Role,
    key_named,
    keys_with_role,
    pair_aliases,
    renamed_aliases,
)

from .conftest import require_optimizer


def test_each_key_and_alias_is_written_once():
    """No key, alias or pair part appears twice, and none is both a key and an alias."""
    names = [k.name for k in KEYS]
    olds = [a for k in KEYS for a in (*k.aliases, *(k.parts or ()))]
    assert len(set(names)) == len(names)
    assert len(set(olds)) == len(olds)
    assert not set(names) & set(olds)
    assert all(k.description for k in KEYS)


def test_views():
    assert renamed_aliases() == {"weight_decay_rate": "weight_decay"}
    assert pair_aliases()["betas"] == ("beta1", "beta2")
    assert keys_with_role(Role.GROUPING) == {"params", "adjust_learning_rate"}
    assert "max_gradient_norm" in keys_with_role(Role.TRAINER)
    assert key_named("optimizer_type").role is Role.SELECTOR
    with pytest.raises(KeyError):
        key_named("weight_decay_rate")  # an alias, not a key


@pytest.mark.parametrize("key", sorted(keys_with_role(Role.TRAINER, Role.GROUPING) - {"params"}))
def test_configure_optimizer_drops_every_non_argument_key_quietly(key, caplog):
    """Every trainer and grouping key of the table is left out of the optimizer's
    arguments with an info log, not the unknown-key warning."""
    require_optimizer("SGD")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, kwargs = configure_optimizer_params("SGD", {"lr": 0.1, key: 1.0})
    assert key not in kwargs
    assert "unexpected" not in caplog.text


@pytest.mark.parametrize(("alias", "key"), sorted(renamed_aliases().items()))
def test_every_renamed_alias_is_translated(alias, key):
    require_optimizer("SGD")
    with pytest.warns(DeprecationWarning, match=f"use '{key}'"):
        _, kwargs = configure_optimizer_params("SGD", {"lr": 0.1, alias: 0.5})
    assert kwargs[key] == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError, match="keep only"):
            configure_optimizer_params("SGD", {"lr": 0.1, alias: 0.5, key: 0.5})


def test_pair_parts_are_folded():
    require_optimizer("AdamW")
    with pytest.warns(DeprecationWarning, match="'betas'"):
        cls, kwargs = configure_optimizer_params("AdamW", {"beta1": 0.8, "beta2": 0.9})
    assert kwargs["betas"] == (0.8, 0.9)
    cls([torch.nn.Parameter(torch.zeros(1))], **kwargs)
