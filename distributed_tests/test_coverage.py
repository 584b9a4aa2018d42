"""The distributed tests cover every first-party optimizer that is installed."""

from __future__ import annotations

import inspect

from _harness import OPTIMIZERS, TOYS

from waferopt.core import Kind
from waferopt.registry import get_registry


def test_every_first_party_optimizer_is_in_the_table() -> None:
    """A new optimizer of a waferopt-* distribution (the modern family included) must
    get an entry in _harness.OPTIMIZERS, so that it runs under DDP, FSDP2 and ZeRO."""
    installed = {
        e.name
        for e in get_registry().entries
        if e.kind is Kind.OPTIMIZER
        and e.plugin.distribution.startswith("waferopt-")
        and not inspect.isabstract(e.load())
    }
    assert installed, "no first-party optimizer installed"
    missing = sorted(installed - set(OPTIMIZERS))
    assert not missing, f"add these to distributed_tests/_harness.py OPTIMIZERS: {missing}"
    unknown = sorted(set(OPTIMIZERS) - installed - set(TOYS))
    assert not unknown, f"not registered by a first-party distribution: {unknown}"
