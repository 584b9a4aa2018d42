"""configure_optimizer builds every first-party optimizer from Model Zoo style keys."""

from __future__ import annotations

import warnings

import pytest
import torch

from waferopt.registry import configure_optimizer
from waferopt.registry._catalogue import SPEC_OPTIMIZERS

from .conftest import require_optimizer

# Model Zoo style optimizer blocks (keys as configs write them, trainer keys included).
BLOCKS = {
    "SGD": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
    "ASGD": {"learning_rate": 0.01, "t0": 100.0},
    "Adam": {"learning_rate": 1e-3, "betas": [0.9, 0.95], "eps": 1e-8, "amsgrad": True},
    "AdamW": {"betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "correct_bias": True},
    "AdamBase": {"learning_rate": 1e-3, "l2_regularization_rate": 0.01, "correct_bias": False},
    "Adamax": {"learning_rate": 2e-3, "betas": [0.8, 0.99]},
    "NAdam": {"learning_rate": 2e-3, "momentum_decay": 5e-3},
    "RAdam": {"learning_rate": 1e-3, "weight_decay": 0.01},
    "Lamb": {"learning_rate": 1e-3, "betas": [0.9, 0.999], "weight_decay": 0.01, "adam": False},
    "Adadelta": {"learning_rate": 1.0, "rho": 0.95},
    "Adagrad": {"learning_rate": 0.01, "lr_decay": 1e-4, "initial_accumulator_value": 0.1},
    "Adafactor": {"learning_rate": 1e-2, "scale_parameter": False, "eps": [1e-30, 1e-3]},
    "RMSprop": {"learning_rate": 1e-2, "alpha": 0.9, "momentum": 0.5, "centered": True},
    "Lion": {"learning_rate": 1e-4, "betas": [0.95, 0.98], "weight_decay": 0.1},
    "Rprop": {"learning_rate": 1e-3, "etas": [0.4, 1.3], "step_sizes": [1e-5, 10.0]},
}
TRAINER_KEYS = {"log_summaries": True, "max_gradient_norm": 1.0, "grad_accum_steps": 2}


def test_every_spec_optimizer_has_a_block():
    """The table above covers the spec's optimizers (so none is silently untested)."""
    assert set(BLOCKS) == set(SPEC_OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_configure_builds_with_the_given_values(name):
    """Every given key reaches the param group; trainer keys do not; the step runs."""
    require_optimizer(name)
    model = torch.nn.Linear(4, 3)
    block = BLOCKS[name]
    opt = configure_optimizer(name.lower(), model.parameters(), **block, **TRAINER_KEYS)
    assert type(opt).__name__ == name
    group = opt.param_groups[0]
    for key, value in block.items():
        key = "lr" if key == "learning_rate" else key
        if key in group:
            expected = tuple(value) if isinstance(value, list) else value
            got = tuple(group[key]) if isinstance(group[key], (list, tuple)) else group[key]
            assert got == pytest.approx(expected), key
    assert not set(TRAINER_KEYS) & set(group)
    model(torch.randn(2, 4)).sum().backward()
    before = [p.detach().clone() for p in model.parameters()]
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_adamw_from_the_issue_example():
    """The issue's AdamW block, as a Model Zoo YAML would give it (numbers as strings too)."""
    require_optimizer("AdamW")
    model = torch.nn.Linear(4, 3)
    with pytest.warns(UserWarning, match="eps"):
        opt = configure_optimizer(
            "AdamW",
            model.parameters(),
            betas=[0.9, 0.95],
            eps="1e-8",
            weight_decay=0.1,
            correct_bias=True,
        )
    group = opt.param_groups[0]
    assert tuple(group["betas"]) == (0.9, 0.95)
    assert group["eps"] == 1e-8 and group["weight_decay"] == 0.1 and group["correct_bias"] is True


def test_deprecated_adam_names_from_model_zoo_1x():
    """beta1 / beta2 / weight_decay_rate (Model Zoo 1.x) become betas / weight_decay."""
    require_optimizer("AdamW")
    model = torch.nn.Linear(4, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = configure_optimizer(
            "adamw", model.parameters(), beta1=0.8, beta2=0.9, weight_decay_rate=0.05
        )
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    for old, new in (("beta1", "betas"), ("beta2", "betas"), ("weight_decay_rate", "weight_decay")):
        assert any(f"'{old}'" in m and f"'{new}'" in m for m in messages), (old, messages)
    group = opt.param_groups[0]
    assert tuple(group["betas"]) == (0.8, 0.9) and group["weight_decay"] == 0.05
