"""Options of the docs tests (kept light: `nox -s tests` loads this file too)."""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--site",
        default=None,
        help="the built HTML site for test_site.py (default: docs/_build/html)",
    )
