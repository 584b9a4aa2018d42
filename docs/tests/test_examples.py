"""Every code example of docs/ runs, so the docs cannot drift from the code.

For each page, its ```python blocks run in order in one namespace (a page reads as one
script, like a notebook) in a fresh temporary working directory; its ```yaml blocks
that hold an `optimizer:` section are built with `waferopt.optim.build` on a small
model. A block whose first line is `# requires: pkg, ...` is skipped, with the reason,
only when one of those packages cannot be imported (nox -s docs installs them all).

Run by `nox -s docs`; `pytest docs/tests/test_examples.py -k tutorial` runs one page.
"""

from __future__ import annotations

import importlib.util
import os
import re
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1]
SKIP = {"_build", "_generated", "tests", "api"}
FENCE = re.compile(r"^```(python|yaml)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
REQUIRES = re.compile(r"^# requires: (.+)$", re.M)


def pages() -> list[Path]:
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        rel = path.relative_to(DOCS)
        if path.name != "README.md" and not set(rel.parts) & SKIP:
            found.append(path)
    return found


def blocks(page: Path, language: str) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


PYTHON_PAGES = [p for p in pages() if blocks(p, "python")]
YAML_PAGES = [p for p in pages() if any("optimizer:" in b for _, b in blocks(p, "yaml"))]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(DOCS)) for p in paths]


def _missing(requirements: str) -> list[str]:
    return [
        r.strip() for r in requirements.split(",") if importlib.util.find_spec(r.strip()) is None
    ]


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_ids(PYTHON_PAGES))
def test_python_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    namespace: dict[str, object] = {"__name__": "__docs_example__"}
    for line, code in blocks(page, "python"):
        wanted = REQUIRES.search(code)
        if wanted and (missing := _missing(wanted.group(1))):
            pytest.skip(f"{page.name}:{line} needs {', '.join(missing)}")
        compiled = compile(code, f"{page.relative_to(DOCS)}:{line}", "exec")
        try:
            exec(compiled, namespace)
        except Exception as exc:
            raise AssertionError(
                f"the example at {page.relative_to(DOCS)}:{line} failed: {exc!r}"
            ) from exc


class _TinyModel:
    """Built lazily: a model with the parameter names Model Zoo globs look for."""

    @staticmethod
    def make():
        import torch

        class Block(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.dense_layer = torch.nn.Linear(4, 4)
                self.norm = torch.nn.LayerNorm(4)

        class Model(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embeddings = torch.nn.Embedding(10, 4)
                self.decoder = Block()
                self.lm_head = torch.nn.Linear(4, 10)

        return Model()


@pytest.mark.parametrize("page", YAML_PAGES, ids=_ids(YAML_PAGES))
def test_yaml_examples_build(page: Path) -> None:
    import waferopt.optim as optim

    for line, text in blocks(page, "yaml"):
        if "optimizer:" not in text:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                built = optim.build(_TinyModel.make(), text)
            except Exception as exc:
                raise AssertionError(
                    f"the config at {page.relative_to(DOCS)}:{line} failed: {exc!r}"
                ) from exc
        assert built.optimizer is not None


def test_pages_are_found() -> None:
    assert len(PYTHON_PAGES) >= 3, _ids(PYTHON_PAGES)
    assert os.sep not in "".join(SKIP)
