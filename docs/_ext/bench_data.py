"""The benchmark tables of the docs, rendered from ``nox -s bench``'s results file.

``nox -s bench`` runs every ``benchmarks/bench_*.py`` with
``--results=docs/_data/bench-results.json``; each script writes its section there (the
machine, the settings, one row per case). This module turns a section into Markdown:
a line saying what it was measured on, then the tables, each drawn by the function that
prints the same table on the console (so the page and the console never differ).

No Sphinx here: ``waferopt_docs.py`` (the ``bench-results`` directive) and
``docs/tests/test_benchmarks.py`` both use it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "_data" / "bench-results.json"
"""The file ``nox -s bench`` writes (``BENCH_RESULTS`` in ``noxfile.py``)."""
BENCHMARKS = ROOT / "benchmarks"
SECTIONS = {
    "optimizers": "bench_optimizers.py",
    "distributed": "bench_distributed.py",
    "schedulers": "bench_schedulers.py",
}
"""Each section of the results file and the script that writes it."""


def load(path: Path = RESULTS) -> dict[str, Any]:
    """The sections of the results file (a missing file is an error that says how to
    write it)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `nox -s bench` to write it")
    sections: dict[str, Any] = json.loads(path.read_text()).get("sections", {})
    return sections


def section(name: str, path: Path = RESULTS) -> dict[str, Any]:
    """One section of the results file (a missing one is an error naming its script)."""
    if name not in SECTIONS:
        raise KeyError(f"no benchmark section {name!r}; expected one of {', '.join(SECTIONS)}")
    sections = load(path)
    if name not in sections:
        raise KeyError(
            f"{path} has no section {name!r}: run `nox -s bench` (it runs "
            f"benchmarks/{SECTIONS[name]})"
        )
    return sections[name]  # type: ignore[no-any-return]


@cache
def script(name: str) -> ModuleType:
    """A benchmark script, imported by its path (its table functions)."""
    path = BENCHMARKS / name
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"_docs_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def machine_line(section: dict[str, Any]) -> str:
    """One paragraph: when, on what, with which settings and command."""
    m, s = section["machine"], section["settings"]
    cores = f"{m['cores']} cores" + (
        f", {m['usable_cores']} usable" if m.get("usable_cores") not in (None, m["cores"]) else ""
    )
    parts = [
        f"Measured {m['date'].replace('T', ' ').replace('Z', ' UTC')} on {m['cpu']} "
        f"({cores}), {m['platform']}, Python {m['python']}, torch {m['torch']}, "
        f"{m['threads']} thread{'s' if m['threads'] != 1 else ''} per process"
    ]
    if m.get("load_average"):
        parts.append("load average " + ", ".join(f"{x:.2f}" for x in m["load_average"]))
    allocator = m.get("allocator")
    if allocator is not None:  # absent from files written before the harness recorded it
        pinned = {k: v for k, v in allocator.items() if v is not None}
        parts.append(
            "glibc malloc " + ", ".join(f"`{k}={v}`" for k, v in pinned.items())
            if pinned
            else "glibc malloc defaults"
        )
    how = f"{s['rounds']} rounds of {s['steps']} steps per contender"
    if "parameters" in s:
        how += f", {s['parameters']:,} parameters in {s['tensors']} tensors"
    if "ranks" in s:
        how += f", {s['ranks']} {s['backend']} ranks"
    if s.get("clock") == "cpu":
        how += ", each step timed by its thread's CPU time (`--clock cpu`)"
    if s.get("compiled_rows") is False:
        how += ", without the compiled rows (`WAFEROPT_BENCH_COMPILE=0`)"
    if s.get("only"):
        how += ", **only** " + ", ".join(f"`{o}`" for o in s["only"]) + " (a partial run)"
    parts.append(how)
    return "; ".join(parts) + f". Command: `{section['command']}`."


def optimizer_tables(section: dict[str, Any]) -> list[tuple[str, str]]:
    """``(family, table)`` for each family of ``benchmarks/cases_<family>.py``, in run order."""
    harness = script("_harness.py")
    families: dict[str, list[Any]] = {}
    for row in section["rows"]:
        result = harness.Result(
            row["case"],
            row["ours_ms"],
            row["torch_ms"],
            row["steps"],
            row.get("control_of"),
            row.get("control_ms"),
        )
        families.setdefault(row["family"], []).append(result)
    return [(family, harness.markdown_table(rows)) for family, rows in families.items()]


def distributed_table(section: dict[str, Any]) -> str:
    rows = {
        r["optimizer"]: {k: v for k, v in r.items() if k != "optimizer"} for r in section["rows"]
    }
    return script(SECTIONS["distributed"]).markdown_table(rows)


def schedulers_table(section: dict[str, Any]) -> str:
    return script(SECTIONS["schedulers"]).markdown(section["rows"])


def render(name: str, data: dict[str, Any]) -> list[tuple[str | None, str]]:
    """``(heading or None, Markdown)`` blocks of one section, the machine line first."""
    blocks: list[tuple[str | None, str]] = [(None, machine_line(data))]
    if name == "optimizers":
        blocks += [(f"waferopt-{family}", table) for family, table in optimizer_tables(data)]
    elif name == "distributed":
        blocks.append((None, distributed_table(data)))
    elif name == "schedulers":
        blocks.append((None, schedulers_table(data)))
    else:
        raise KeyError(f"no benchmark section {name!r}; expected one of {', '.join(SECTIONS)}")
    target = data["settings"].get("target_ratio")
    if target is not None:
        blocks.append((None, f"Target: a ratio of at most {target}."))
    return blocks


def rendered_text(path: Path = RESULTS) -> str:
    """Everything the page shows from the results file (for the docs tests)."""
    return "\n\n".join(text for name in SECTIONS for _, text in render(name, section(name, path)))
