"""Model Zoo tests: a fresh registry per test; helpers in modelzoo_support.py, the
tiny models in examples/tiny_models.py (both put on sys.path here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[2] / "examples")]

from waferopt.registry import reset_registry  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Each test starts and ends with a registry that rediscovers plugins."""
    reset_registry()
    yield
    reset_registry()
