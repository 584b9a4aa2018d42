"""Every registered scheduler is documented; the examples in the docstrings run."""

from __future__ import annotations

import doctest
import inspect

import pytest

import waferopt.schedulers as S
from waferopt.schedulers import _plugin, shapes


@pytest.mark.parametrize("record", _plugin.register_schedulers(), ids=lambda r: r.name)
def test_registered_class_is_documented(record):
    cls = record.load()
    doc = inspect.getdoc(cls) or ""
    summary = doc.splitlines()[0] if doc else ""
    assert summary.endswith("."), f"{record.name}: no one-line summary"
    assert record.description
    if record.name.endswith("Scheduler") and record.name != "ChainedGenericScheduler":
        assert "Args:" in doc, f"{record.name}: no Args section"
        for name in inspect.signature(cls).parameters:
            assert name in doc, f"{record.name}: argument {name!r} is not documented"


@pytest.mark.parametrize(
    "fn", [getattr(shapes, n) for n in shapes.__all__], ids=lambda f: f.__name__
)
def test_every_shape_has_a_formula_and_a_reference(fn):
    doc = inspect.getdoc(fn) or ""
    assert doc.splitlines()[0].strip()
    assert "v(t)" in doc or "math::" in doc or "``" in doc


def test_shapes_doctest_runs():
    result = doctest.testmod(shapes, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_names():
    for name in S.__all__:
        assert hasattr(S, name)
