"""Documented behaviour that no test held before (issue 11.1): each found by planting a
bug that the suite did not catch."""

from __future__ import annotations

import pytest
import torch

from waferopt import optim
from waferopt.core import Kind

from .conftest import optimizer_plugin


# ---------------------------------------------------------------------------- weight decay
class Holder(torch.nn.Module):
    """A plain module holding a parameter (``scale``)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class FancyRMSNorm(torch.nn.Module):
    """A custom norm (matched by its name's ``RMSNorm`` ending) whose parameter sits in a
    child module: its name is ``<index>.inner.scale``."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = Holder()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x * torch.rsqrt(x.square().mean(-1, keepdim=True) + 1e-6))


class Wrapper(torch.nn.Module):
    """The same layout under a module that is not a norm (the control)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = Holder()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def _decay_of(built, name: str) -> float:
    for info in built.param_groups:
        if name in info.names:
            return info.weight_decay
    raise AssertionError(f"{name} is in no group")


@pytest.mark.parametrize("fmt", ["legacy", "trainer"])
def test_parameter_nested_under_a_custom_rms_norm_gets_no_weight_decay(fmt):
    """``1.inner.scale``: its own module is a plain Holder, its ancestor ``1`` a
    ``*RMSNorm``; the ancestor rule puts it in the weight_decay=0 group. The same
    parameter under a module that is not a norm keeps the weight decay."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), FancyRMSNorm(), Wrapper())
    block = (
        {"optimizer_type": "AdamW", "learning_rate": 0.01, "weight_decay": 0.1}
        if fmt == "legacy"
        else {"AdamW": {"lr": 0.01, "weight_decay": 0.1}}
    )
    built = optim.build(model, {"optimizer": block})
    assert _decay_of(built, "1.inner.scale") == 0.0
    assert _decay_of(built, "2.inner.scale") == 0.1  # same layout, not a norm
    assert _decay_of(built, "0.weight") == 0.1
    assert _decay_of(built, "0.bias") == 0.0
    group = next(
        g
        for g in built.optimizer.param_groups
        if any(p is model[1].inner.scale for p in g["params"])
    )
    assert float(group["weight_decay"]) == 0.0


# ---------------------------------------------------------------------------- plugins
def test_waferopt_plugins_matches_entry_point_names(site, monkeypatch):
    """WAFEROPT_PLUGINS names an entry point (not its distribution): only that entry
    point loads, whatever its distribution is called."""
    site.add(
        "some-distribution",
        {"ep_mod": optimizer_plugin("ep_mod", "ByEntryPoint")},
        {"wanted_entry": "ep_mod"},
    )
    site.add(
        "other-distribution",
        {"other_mod": optimizer_plugin("other_mod", "NotWanted")},
        {"other_entry": "other_mod"},
    )
    monkeypatch.setenv("WAFEROPT_PLUGINS", "wanted-entry")  # normalised like dist names
    registry = site.registry()
    assert [(p.distribution, p.entry_point) for p in registry.plugins] == [
        ("some-distribution", "wanted_entry")
    ]
    assert registry.find("ByEntryPoint", Kind.OPTIMIZER) is not None
    assert registry.find("NotWanted", Kind.OPTIMIZER) is None


def test_waferopt_plugins_entry_point_of_a_multi_entry_distribution(site, monkeypatch):
    """A distribution with two entry points: naming one entry point loads that one only."""
    site.add(
        "two-entries",
        {
            "first_mod": optimizer_plugin("first_mod", "FirstOpt"),
            "second_mod": optimizer_plugin("second_mod", "SecondOpt"),
        },
        {"first": "first_mod", "second": "second_mod"},
    )
    monkeypatch.setenv("WAFEROPT_PLUGINS", "second")
    registry = site.registry()
    assert registry.find("SecondOpt", Kind.OPTIMIZER) is not None
    assert registry.find("FirstOpt", Kind.OPTIMIZER) is None


# ---------------------------------------------------------------------------- scheduler tags
def test_scheduler_state_dict_whose_tags_match_no_group_is_rejected():
    """Loading a scheduler state dict whose param_group_tags match no group of this
    optimizer raises a ValueError that names the tags and the groups' tags. (That the
    scheduler is left unchanged is tested in test_atomic_loads.py.)"""
    model = torch.nn.Linear(3, 2)
    optimizer = optim.configure_optimizer(
        "SGD",
        [{"params": [model.weight], "tags": {"decay"}}, {"params": [model.bias]}],
        lr=0.1,
    )
    scheduler = optim.configure_scheduler(
        optimizer,
        {
            "CosineDecayLR": {
                "initial_learning_rate": 0.1,
                "end_learning_rate": 0.0,
                "total_iters": 10,
                "param_group_tags": "decay",
            }
        },
    )
    state = scheduler.state_dict()
    state["param_group_tags"] = {"embeddings"}
    with pytest.raises(ValueError, match=r"embeddings.*match no param group.*decay"):
        scheduler.load_state_dict(state)
