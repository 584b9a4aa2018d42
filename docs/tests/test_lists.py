"""No page of docs/ copies the list of first-party distributions by hand.

The list lives once, in `registry/src/waferopt/registry/distributions.py`; pages show it
with the `distributions` directive (docs/_ext/waferopt_docs.py), drawn when the site is
built. A paragraph or table that names more than half of the distributions is a copy
that would fall behind the day one is added.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
SKIP = {"_build", "_generated", "tests", "api"}
GENERATED = {DOCS / "reference.md"}  # `waferopt plugins --markdown`, tested in registry/tests


def _first_party() -> list[str]:
    path = ROOT / "registry" / "src" / "waferopt" / "registry" / "distributions.py"
    spec = importlib.util.spec_from_file_location("_docs_distributions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return [d.name for d in module.FIRST_PARTY]


def _copies(text: str, names: list[str]) -> list[str]:
    """The blocks (paragraphs, tables) of ``text`` that name more than half of ``names``."""
    found = []
    for block in re.split(r"\n\s*\n", text):
        named = {n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", block)}
        if len(named) > len(names) / 2:
            found.append(block.strip().splitlines()[0])
    return found


def test_no_page_lists_the_distributions_by_hand() -> None:
    names = _first_party()
    offenders = []
    for page in sorted(DOCS.rglob("*.md")):
        if set(page.relative_to(DOCS).parts) & SKIP or page in GENERATED:
            continue
        for first_line in _copies(page.read_text(encoding="utf-8"), names):
            offenders.append(f"{page.relative_to(DOCS)}: {first_line[:80]}")
    assert not offenders, (
        "these pages list the first-party distributions by hand; use the "
        f"`distributions` directive instead: {offenders}"
    )


def test_the_check_catches_a_copied_list() -> None:
    names = _first_party()
    text = "Intro.\n\nThe distributions: " + ", ".join(f"`{n}`" for n in names) + ".\n"
    assert _copies(text, names) == [
        "The distributions: " + ", ".join(f"`{n}`" for n in names) + "."
    ]
    assert _copies("Install `waferopt-adam` and `waferopt-schedulers`.", names) == []
