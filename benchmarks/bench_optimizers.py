"""Optimizer step times against torch.optim: ``python benchmarks/bench_optimizers.py``.

Runs every case of every ``benchmarks/cases_*.py`` (see ``_harness.py`` for the
format and the method) and prints a markdown table of median step times and the
ratio ours / torch for each torch flavour.

Options:
    --only NAME    run only the cases whose label, or whose module (``adam`` for
                   ``cases_adam.py``), is NAME (case-insensitive; repeatable)
    --rounds N     rounds of interleaved steps (default 5)
    --steps N      timed steps per contender per round (default 10)
    --clock C      wall (default) or cpu: the stepping thread's CPU time, steadier
                   while other jobs load the machine (it leaves out waiting for a core)
    --json PATH    also write the results as JSON
    --calibrate    an A/A run, a check of the harness itself: in every case the slot of
                   ours is taken by one more instance of the first torch flavour, so
                   every ratio against that flavour measures the harness's bias and
                   noise, not an optimizer (reads 1.00 on average when the slots are
                   fair); not written to the results file
    --results PATH write them, with the machine, as section "optimizers" of the results
                   file the docs render (``nox -s bench`` passes
                   docs/_data/bench-results.json)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import (  # noqa: E402
    COMPILE,
    SHAPES,
    Case,
    markdown_table,
    pin_allocator,
    run_case,
    write_results,
)


def discover(directory: Path = HERE) -> list[tuple[str, Case]]:
    """``(module suffix, case)`` for every case of every ``cases_*.py`` in ``directory``."""
    found = []
    for path in sorted(directory.glob("cases_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except ImportError as exc:  # a family that is not installed
            print(f"skipping {path.name}: {exc}", file=sys.stderr)
            continue
        suffix = path.stem.removeprefix("cases_")
        found.extend((suffix, case) for case in module.CASES)
    return found


def select(cases: list[tuple[str, Case]], only: list[str]) -> list[tuple[str, Case]]:
    if not only:
        return cases
    wanted = {name.lower() for name in only}
    chosen = [(m, case) for m, case in cases if case[0].lower() in wanted or m in wanted]
    if not chosen:
        labels = ", ".join(case[0] for _, case in cases)
        raise SystemExit(f"--only {only}: no such case or module; cases: {labels}")
    return chosen


def calibration(case: Case) -> Case | None:
    """The A/A twin of ``case`` (``--calibrate``): its first torch flavour in the slot of
    ours; None for a case without a torch flavour."""
    label, _, flavours = case
    if not flavours:
        return None
    first = next(iter(flavours))
    return (f"{label} (A/A: {first} in the slot of ours)", flavours[first], flavours)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--results", type=Path, default=None, metavar="PATH")
    parser.add_argument("--calibrate", action="store_true")
    args = parser.parse_args(argv)
    if args.calibrate and args.results is not None:
        parser.error("--calibrate measures the harness, not waferopt: it takes no --results")
    chosen = select(discover(), args.only)
    if args.calibrate:
        chosen = [(f, aa) for f, case in chosen if (aa := calibration(case)) is not None]
    results, families = [], []
    for family, case in chosen:
        print(f"running {case[0]} ...", file=sys.stderr, flush=True)
        results.append(run_case(case, rounds=args.rounds, steps=args.steps, clock=args.clock))
        families.append(family)
    print(markdown_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps([r.to_json() for r in results], indent=2))
    if args.results is not None:
        write_results(
            args.results,
            "optimizers",
            [{"family": f, **r.to_json()} for f, r in zip(families, results)],
            rounds=args.rounds,
            steps=args.steps,
            clock=args.clock,
            only=args.only,
            compiled_rows=COMPILE,
            parameters=sum(math.prod(s) for s in SHAPES),
            tensors=len(SHAPES),
        )
    return 0


if __name__ == "__main__":
    pin_allocator()
    raise SystemExit(main())
