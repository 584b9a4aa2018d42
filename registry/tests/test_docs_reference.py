"""docs/reference.md lists every first-party name with a description (cf. datasette's test_docs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from waferopt.registry import get_registry
from waferopt.registry._catalogue import NAMES_BY_DISTRIBUTION
from waferopt.registry.cli import plugins_report, reference_markdown

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference.md"


def first_party_report():
    report = plugins_report(get_registry())
    report["names"] = [n for n in report["names"] if n["distribution"] in NAMES_BY_DISTRIBUTION]
    return report


def test_every_registered_name_has_a_description():
    """A registration without a one-line description is a documentation bug."""
    missing = [n["name"] for n in first_party_report()["names"] if not n["description"].strip()]
    assert missing == []


def test_reference_is_up_to_date():
    """docs/reference.md is what `waferopt plugins --markdown` prints: regenerate it."""
    if set(NAMES_BY_DISTRIBUTION) - {p.distribution for p in get_registry().plugins}:
        pytest.skip("needs every first-party distribution installed")
    expected = reference_markdown(first_party_report())
    assert REFERENCE.read_text() == expected, "run: waferopt plugins --markdown > docs/reference.md"


def test_every_spec_name_is_registered():
    """Every name the spec lists resolves to a registered class of the right kind."""
    from waferopt.core import Kind, LRScheduler, Optimizer, WeightDecayScheduler
    from waferopt.registry._catalogue import SPEC_LR_SCHEDULERS, SPEC_OPTIMIZERS, SPEC_WD_SCHEDULERS

    registry = get_registry()
    installed = {p.distribution for p in registry.plugins}
    for names, kind, base in (
        (SPEC_OPTIMIZERS, Kind.OPTIMIZER, Optimizer),
        (SPEC_LR_SCHEDULERS, Kind.LR_SCHEDULER, LRScheduler),
        (SPEC_WD_SCHEDULERS, Kind.WD_SCHEDULER, WeightDecayScheduler),
    ):
        for name in names:
            dist = next(d for d, ns in NAMES_BY_DISTRIBUTION.items() if name in ns)
            if dist in installed:
                assert issubclass(registry.resolve(name, kind), base), name
