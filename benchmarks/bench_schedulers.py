"""Scheduler step times against torch.optim.lr_scheduler: ``python benchmarks/bench_schedulers.py``.

The main case is a warm-up then decay, the most common Model Zoo schedule:
``SequentialLR([LinearLR, CosineDecayLR])`` against torch's
``SequentialLR([LinearLR, CosineAnnealingLR])``. Further rows show that the cost of a
step does not grow with the step count (the same scheduler timed around step 10**6)
and grows linearly with the number of children of a ``SequentialLR``.

Method: one thread; every contender owns an optimizer with one parameter group;
contenders take turns, ``--steps`` timed ``step()`` calls each per round, over
``--rounds`` rounds, so machine noise hits all alike. The figure is the median time
of one ``step()`` over all timed calls (``time.perf_counter_ns`` around each call).
torch runs twice: with a float ``lr`` (it updates a Python float recursively) and
with a tensor ``lr`` (it ``fill_``s the tensor). waferopt's eager step evaluates the
closed form on the host and ``fill_``s the group's 0-d tensor once (no host sync);
under ``torch.compile`` it runs the same formula as tensor ops instead.

Options:
    --rounds N     rounds of interleaved steps (default 7)
    --steps N      timed steps per contender per round (default 300)
    --json PATH    also write the results as JSON
    --results PATH write them, with the machine, as section "schedulers" of the results
                   file the docs render (``nox -s bench`` passes
                   docs/_data/bench-results.json)
(other options of ``nox -s bench`` are accepted and ignored)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.optim import lr_scheduler as T

from waferopt.core import Optimizer
from waferopt.schedulers import CosineDecayLR, LinearLR, SequentialLR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import pin_allocator, write_results

WARMUP, DECAY, LR = 1_000, 99_000, 1e-3
TARGET_RATIO = 1.5
"""Issue 10's target: ours / torch at most this, against both torch columns."""


class _Holder(Optimizer):
    """A waferopt optimizer that only holds param groups (the schedulers are timed alone)."""

    def __init__(self) -> None:
        super().__init__([torch.nn.Parameter(torch.zeros(1))], {"lr": LR})

    def preinitialize(self) -> None:
        pass

    def step(self, closure: Any = None) -> Any:
        return None


def _torch_optimizer(tensor_lr: bool = False) -> torch.optim.Optimizer:
    lr: Any = torch.tensor(LR) if tensor_lr else LR
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def ours_warmup_cosine(children: int = 2) -> Any:
    o = _Holder()
    first = LinearLR(o, 0.0, LR, WARMUP)
    rest = [CosineDecayLR(o, LR, 1e-5, DECAY) for _ in range(children - 1)]
    milestones = [WARMUP + i * DECAY for i in range(children - 1)]
    return SequentialLR(o, [first, *rest], milestones)


def torch_warmup_cosine(children: int = 2, tensor_lr: bool = False) -> Any:
    o = _torch_optimizer(tensor_lr)
    first = T.LinearLR(o, 1e-8, 1.0, WARMUP)
    rest = [T.CosineAnnealingLR(o, DECAY, 1e-5) for _ in range(children - 1)]
    milestones = [WARMUP + i * DECAY for i in range(children - 1)]
    return T.SequentialLR(o, [first, *rest], milestones)


def _advance_ours(sched: Any, step: int) -> Any:
    sched.load_state_dict({"last_epoch": torch.tensor(step)})
    return sched


def _advance_torch(sched: Any, step: int) -> Any:
    for _ in range(step):
        sched.step()
    return sched


Maker = Callable[[], Any]
CASES: list[tuple[str, Maker, Maker | None, Maker | None]] = [
    (
        "SequentialLR(Linear, Cosine), from step 0",
        ours_warmup_cosine,
        torch_warmup_cosine,
        lambda: torch_warmup_cosine(tensor_lr=True),
    ),
    (
        "same, around step 50,000",
        lambda: _advance_ours(ours_warmup_cosine(), 50_000),
        lambda: _advance_torch(torch_warmup_cosine(), 50_000),
        lambda: _advance_torch(torch_warmup_cosine(tensor_lr=True), 50_000),
    ),
    (
        "same, around step 10**6 (ours only: torch would need 10**6 steps to get there)",
        lambda: _advance_ours(ours_warmup_cosine(), 10**6),
        None,
        None,
    ),
    (
        "SequentialLR with 4 children",
        lambda: ours_warmup_cosine(4),
        lambda: torch_warmup_cosine(4),
        lambda: torch_warmup_cosine(4, tensor_lr=True),
    ),
    (
        "SequentialLR with 8 children",
        lambda: ours_warmup_cosine(8),
        lambda: torch_warmup_cosine(8),
        lambda: torch_warmup_cosine(8, tensor_lr=True),
    ),
]


def _time(sched: Any, steps: int, samples: list[int]) -> None:
    step = sched.step
    clock = time.perf_counter_ns
    for _ in range(steps):
        start = clock()
        step()
        samples.append(clock() - start)


def run(rounds: int, steps: int) -> list[dict[str, Any]]:
    torch.set_num_threads(1)
    results = []
    for label, *makers in CASES:
        contenders = [make() if make else None for make in makers]
        samples: list[list[int]] = [[] for _ in contenders]
        for sched in contenders:  # warm-up
            if sched is not None:
                _time(sched, 20, [])
        for _ in range(rounds):
            for sched, out in zip(contenders, samples):
                if sched is not None:
                    _time(sched, steps, out)
        ours_us, float_us, tensor_us = (
            statistics.median(out) / 1e3 if out else None for out in samples
        )
        assert ours_us is not None
        results.append(
            {
                "case": label,
                "waferopt_us": ours_us,
                "torch_us": float_us,
                "torch_tensor_lr_us": tensor_us,
                "ratio": ours_us / float_us if float_us else None,
                "ratio_tensor_lr": ours_us / tensor_us if tensor_us else None,
                "steps": len(samples[0]),
            }
        )
    return results


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| case | waferopt step (µs) | torch, float lr (µs) | ratio | torch, tensor lr (µs) | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def cell(value: float | None, digits: int) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    for r in results:
        lines.append(
            f"| {r['case']} | {r['waferopt_us']:.1f} | {cell(r['torch_us'], 1)} | "
            f"{cell(r['ratio'], 2)} | {cell(r['torch_tensor_lr_us'], 1)} | "
            f"{cell(r['ratio_tensor_lr'], 2)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json", default=None)
    parser.add_argument("--results", type=Path, default=None, metavar="PATH")
    args, _ = parser.parse_known_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "lr_scheduler.step() before optimizer.step()"
        results = run(args.rounds, args.steps)
    print(
        f"## Scheduler step time (median of {results[0]['steps']} steps, 1 thread, torch {torch.__version__})\n"
    )
    print(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.results is not None:
        write_results(
            args.results,
            "schedulers",
            results,
            rounds=args.rounds,
            steps=args.steps,
            target_ratio=TARGET_RATIO,
        )


if __name__ == "__main__":
    pin_allocator()
    main()
