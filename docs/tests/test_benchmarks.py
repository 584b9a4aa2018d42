"""The benchmarks page shows only numbers from `nox -s bench`'s results file.

`docs/benchmarks.md` holds the prose (the method, how to read the rows); its tables are
drawn at build time from `docs/_data/bench-results.json` (the `bench-results`
directive, `docs/_ext/bench_data.py`). These tests fail when the page writes a table by
hand, when its prose cites a measurement that the results file does not hold, or when
the results file lacks what the page renders (the machine, a section, a row's fields).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(DOCS / "_ext"))

import bench_data  # noqa: E402

PAGE = DOCS / "benchmarks.md"
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
DIRECTIVE = re.compile(r"^```\{bench-results\}[ \t]+(\w+)[ \t]*$", re.M)
# A measurement: a decimal number (1.98, 0.5), or any number with a time unit or an "x".
MEASUREMENT = re.compile(r"(?<![\w.])(\d+\.\d+|\d+(?:\.\d+)?(?=\s?(?:ms|µs|us|ns|x)\b))")


def _prose() -> str:
    return FENCE.sub("", PAGE.read_text(encoding="utf-8"))


def test_every_section_is_rendered_once() -> None:
    """The page renders each section of the results file, each once."""
    names = DIRECTIVE.findall(PAGE.read_text(encoding="utf-8"))
    assert sorted(names) == sorted(bench_data.SECTIONS), names


def test_no_table_is_written_by_hand() -> None:
    rows = [line for line in _prose().splitlines() if line.lstrip().startswith("|")]
    assert not rows, f"benchmarks.md writes a table by hand: {rows[:3]}"


def test_prose_cites_only_numbers_of_the_results_file() -> None:
    rendered = bench_data.rendered_text()
    shown = set(re.findall(r"\d+(?:\.\d+)?", rendered))
    cited = MEASUREMENT.findall(_prose())
    stray = sorted({n for n in cited if n not in shown})
    assert not stray, (
        f"benchmarks.md cites {stray}, which no table of docs/_data/bench-results.json "
        "shows: cite the generated tables, or rerun `nox -s bench`"
    )


def test_the_check_catches_a_stray_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prose check is not vacuous: a measurement written by hand is caught."""
    page = tmp_path / "benchmarks.md"
    page.write_text(PAGE.read_text(encoding="utf-8") + "\nOurs took 123.456 ms.\n")
    monkeypatch.setattr(sys.modules[__name__], "PAGE", page)
    with pytest.raises(AssertionError, match=r"123\.456"):
        test_prose_cites_only_numbers_of_the_results_file()


@pytest.mark.parametrize("name", list(bench_data.SECTIONS))
def test_each_section_says_where_and_how_it_ran(name: str) -> None:
    section = bench_data.section(name)
    machine = section["machine"]
    for key in ("cpu", "cores", "torch", "threads", "date", "python", "platform"):
        assert machine.get(key) not in (None, ""), f"{name}: machine.{key} is missing"
    for key in ("rounds", "steps"):
        assert isinstance(section["settings"].get(key), int), f"{name}: settings.{key}"
    assert section["rows"], f"{name}: no rows"
    line = bench_data.machine_line(section)
    assert machine["cpu"] in line and machine["torch"] in line and section["command"] in line


def test_optimizer_rows_render_every_case() -> None:
    section = bench_data.section("optimizers")
    text = "\n".join(table for _, table in bench_data.optimizer_tables(section))
    for row in section["rows"]:
        assert f"| {row['case']} | {row['ours_ms']:.2f} |" in text
        for flavour, ms in row["torch_ms"].items():
            assert f"| {flavour} | {ms:.2f} | {row['ours_ms'] / ms:.2f} |" in text
        if row.get("control_of") is not None:  # the noise floor, on its twin's row
            twin = row["torch_ms"][row["control_of"]]
            floor = row["control_ms"] / twin
            assert f"| {row['control_of']} | {twin:.2f} | {row['ours_ms'] / twin:.2f} | " \
                f"{floor:.2f} |" in text  # fmt: skip


def test_a_bench_script_writes_its_section(tmp_path: Path) -> None:
    """What `nox -s bench` does, on one small case: the script adds its section, with
    the machine, and keeps the sections of the others."""
    results = tmp_path / "bench-results.json"
    results.write_text(json.dumps({"format": 1, "sections": {"other": {"rows": [1]}}}))
    script = bench_data.BENCHMARKS / "bench_optimizers.py"
    subprocess.run(
        [sys.executable, str(script), "--only", "sgd", "--rounds", "1", "--steps", "1",
         f"--results={results}"],
        check=True, capture_output=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")},
            "WAFEROPT_BENCH_MALLOC": "pin",
            "WAFEROPT_BENCH_COMPILE": "0",
            "OMP_NUM_THREADS": "1",
        },
    )  # fmt: skip
    data = json.loads(results.read_text())
    assert data["sections"]["other"] == {"rows": [1]}
    section = data["sections"]["optimizers"]
    assert section["rows"] and {r["family"] for r in section["rows"]} == {"sgd"}
    assert section["settings"]["only"] == ["sgd"]
    assert section["settings"]["compiled_rows"] is False
    assert str(results) not in section["command"]
    assert "**only**" in bench_data.machine_line(section)
    # every case times a control, a second instance of its first torch flavour
    for row in section["rows"]:
        assert row["control_of"] == next(iter(row["torch_ms"]))
        assert (
            row["control_ms"] > 0
            and row["noise"] == row["control_ms"] / (row["torch_ms"][row["control_of"]])
        )
    # the script restarted itself under the pinned allocator, and says so
    harness = bench_data.script("_harness.py")
    assert section["machine"]["allocator"] == harness.ALLOCATOR
    assert "MALLOC_MMAP_THRESHOLD_" in bench_data.machine_line(section)


def test_relocate_moves_every_array_and_keeps_the_trajectory() -> None:
    """The harness moves a contender's arrays between rounds (`relocate`): each array
    gets new storage with the same values, views and scalars stay, and the optimizer
    steps on as if nothing happened (ours, whose step counts are packed views, and
    torch's)."""
    import torch

    from waferopt.adam import Adam

    harness = bench_data.script("_harness.py")
    shapes = [(64, 32), (32,), (7,)]
    for make in (
        lambda ps: Adam(ps, lr=1e-2),
        lambda ps: torch.optim.Adam(ps, lr=1e-2, foreach=False),
    ):
        moved_ps = harness.make_params(shapes=shapes)
        still_ps = harness.make_params(shapes=shapes)
        moved, still = make(moved_ps), make(still_ps)
        with torch.no_grad():
            moved.step()
            still.step()
            arrays = [*moved_ps, *(p.grad for p in moved_ps)] + [
                v for st in moved.state.values() for v in st.values() if v.numel() > 1
            ]
            before = {id(t): (t.data_ptr(), t.clone()) for t in arrays}
            scalars = {
                id(v): v.data_ptr()
                for st in moved.state.values()
                for v in st.values()
                if v.numel() == 1
            }
            assert harness.relocate(moved, moved_ps) == len(arrays)
            for t in arrays:
                ptr, value = before[id(t)]
                assert t.data_ptr() != ptr and torch.equal(t, value)
            for st in moved.state.values():
                for v in st.values():
                    if v.numel() == 1:
                        assert v.data_ptr() == scalars[id(v)]
            for _ in range(3):
                moved.step()
                still.step()
        for a, b in zip(moved_ps, still_ps):
            assert torch.equal(a, b)


def test_the_calibration_run_puts_torch_in_the_slot_of_ours() -> None:
    """`--calibrate` (an A/A run of the harness) times the first torch flavour in the slot
    of ours, and refuses to write the results file the docs render."""
    script = bench_data.BENCHMARKS / "bench_optimizers.py"
    env = {**os.environ, "WAFEROPT_BENCH_COMPILE": "0", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, str(script), "--only", "ASGD", "--rounds", "1", "--steps", "1",
         "--calibrate"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert "| ASGD (A/A: foreach in the slot of ours) |" in run.stdout
    refused = subprocess.run(
        [sys.executable, str(script), "--calibrate", "--results=unused.json"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert refused.returncode == 2 and "takes no --results" in refused.stderr
