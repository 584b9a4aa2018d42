"""Every citation of a docs section points at a section that exists.

The forms a citation may take (docs/explanation/semantics.md, "Citing this page"):

* a path and an anchor, ``docs/explanation/semantics.md#decision-9`` (in any file) or a
  Markdown link ``[...](../explanation/semantics.md#semantics-2-1)`` (in docs/);
* ``Decision N``: the anchor ``decision-N`` of docs/explanation/semantics.md;
* ``semantics §2.1`` or ``semantics.md §2.1``: the anchor ``semantics-2-1`` there.

An anchor is a MyST label (a line ``(name)=``) or the slug of a heading. The test reads
the code, the tests and the docs of the whole checkout; it needs nothing installed but
pytest, so `nox -s tests` runs it as well as `nox -s docs`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SPEC = DOCS / "explanation" / "semantics.md"
SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ".txt", ".rst"}
SKIP_DIRS = {".git", ".nox", "_build", "build", "dist", "node_modules", "__pycache__", "_generated"}

LABEL = re.compile(r"^\(([A-Za-z0-9_.:-]+)\)=\s*$", re.M)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.M | re.S)
PATH_ANCHOR = re.compile(r"\bdocs/([\w./-]+?\.md)#([\w.:-]+)")
LINK_ANCHOR = re.compile(r"\]\(([^()\s#]*\.md)?#([\w.:-]+)\)")
DECISION = re.compile(r"\bDecision (\d+)\b")
SECTION = re.compile(r"\bsemantics(?:\.md)? §\s?(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Citation:
    where: str  # "path:line"
    text: str  # the citation as written
    target: Path  # the cited page
    anchor: str


def slug(heading: str) -> str:
    """The anchor MyST (and GitHub) give a heading: lower case, punctuation dropped."""
    text = heading.strip().lower().replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"\s", "-", text)


def anchors(page: Path) -> set[str]:
    """The labels and heading slugs of one Markdown page (code fences ignored)."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return set(LABEL.findall(text)) | {slug(h) for h in HEADING.findall(text)}


def citations(path: Path, text: str) -> list[Citation]:
    """Every citation in one file's text."""
    found: list[Citation] = []
    lines = text.splitlines()
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for number, line in enumerate(lines, 1):
        where = f"{rel}:{number}"
        for match in PATH_ANCHOR.finditer(line):
            found.append(Citation(where, match.group(0), DOCS / match.group(1), match.group(2)))
        if path.suffix == ".md" and path.is_relative_to(DOCS):
            for match in LINK_ANCHOR.finditer(line):
                if match.group(1) and "://" in match.group(1):
                    continue
                target = (path.parent / match.group(1)).resolve() if match.group(1) else path
                found.append(Citation(where, match.group(0), target, match.group(2)))
        for match in DECISION.finditer(line):
            found.append(Citation(where, match.group(0), SPEC, f"decision-{match.group(1)}"))
        for match in SECTION.finditer(line):
            anchor = "semantics-" + match.group(1).replace(".", "-")
            found.append(Citation(where, match.group(0), SPEC, anchor))
    return found


def broken(cites: list[Citation]) -> list[str]:
    """The citations whose page or anchor does not exist, one line each."""
    cache: dict[Path, set[str] | None] = {}
    problems = []
    for cite in cites:
        if cite.target not in cache:
            cache[cite.target] = anchors(cite.target) if cite.target.is_file() else None
        known = cache[cite.target]
        if known is None:
            problems.append(f"{cite.where}: {cite.text!r}: no page {cite.target}")
        elif cite.anchor not in known:
            problems.append(
                f"{cite.where}: {cite.text!r}: no section #{cite.anchor} in {cite.target.name}"
            )
    return problems


def checkout_files() -> list[Path]:
    """The checkout's text files, without build outputs and virtual environments."""
    files = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith((".venv", ".ci"))]
        files += [Path(folder, n) for n in names if Path(n).suffix in SUFFIXES]
    return files


def test_every_citation_resolves():
    """No citation of a Decision, a semantics section or a docs anchor is dangling."""
    here = Path(__file__).resolve()
    cites = [
        cite
        for path in checkout_files()
        if path.resolve() != here  # this file's docstring shows the forms
        for cite in citations(path, path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert len(cites) > 20, "the scan found almost no citations: is the pattern still right?"
    problems = broken(cites)
    assert not problems, "citations of sections that do not exist:\n" + "\n".join(problems)


def test_every_decision_has_its_anchor():
    """Decisions 1 to 13 are numbered without a gap, each under its own anchor."""
    numbers = sorted(int(n) for n in re.findall(r"^\(decision-(\d+)\)=$", SPEC.read_text(), re.M))
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 13


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("see Decision 99", "#decision-99"),
        ("(semantics.md §7) holds", "#semantics-7"),
        ("semantics §2.9", "#semantics-2-9"),
        ("docs/explanation/semantics.md#decision-0", "#decision-0"),
        ("docs/explanation/nowhere.md#x", "no page"),
    ],
)
def test_a_dangling_citation_is_reported(text, problem):
    """The checker itself: each form of citation, pointing nowhere, is reported."""
    problems = broken(citations(ROOT / "example.py", text))
    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize(
    "text",
    [
        "Decision 13",
        "semantics.md §2.1",
        "semantics §6",
        "docs/explanation/semantics.md#decision-9",
        "docs/explanation/semantics.md#semantics-4",
    ],
)
def test_a_good_citation_passes(text):
    cites = citations(ROOT / "example.py", text)
    assert len(cites) == 1 and not broken(cites)


def test_heading_slugs():
    assert slug("Decision 8: `OneCycleLR` holds its end; `CyclicLR` honours `scale_mode`") == (
        "decision-8-onecyclelr-holds-its-end-cycliclr-honours-scale_mode"
    )
    assert slug("2.1 Adam, AdamW, AdamBase") == "21-adam-adamw-adambase"
