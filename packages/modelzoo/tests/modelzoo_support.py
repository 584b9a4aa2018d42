"""Helpers of the Model Zoo tests (the tiny models' location, skip-unless-installed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from waferopt.core import Kind
from waferopt.registry import get_registry

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
"""The tiny models named like Model Zoo's (TinyGPT, TinyDINO, TinyMLP) live in
examples/tiny_models.py, out of the wheel; the tests run from a checkout."""

TINY_MODELS = EXAMPLES / "tiny_models.py"


def model_factory(name: str) -> str:
    """The ``--model`` argument for one of the tiny models (``"TinyGPT"``)."""
    return f"{TINY_MODELS}:{name}"


def installed(optimizer: str) -> bool:
    """Whether an installed plugin registers the optimizer ``optimizer``."""
    return get_registry().find(optimizer, Kind.OPTIMIZER) is not None


def require_optimizer(optimizer: str) -> None:
    """Skip the test unless the optimizer ``optimizer`` is installed."""
    if not installed(optimizer):
        pytest.skip(f"{optimizer} is not installed")
