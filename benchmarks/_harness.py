"""Benchmark harness: median optimizer step time, ours against torch.optim flavours.

A *case* is ``(label, ours, {flavour: torch_factory})``: ``ours`` and each torch
factory take a list of parameters (with ``.grad`` set) and return an optimizer.
Modules ``benchmarks/cases_*.py`` expose ``CASES: list[Case]``.

Every contender gets its own copy of the same parameters and random gradients
(about 4M parameters over 50 tensors: a few large matrices and many small vectors,
like a transformer block's weights, biases and norms). Steps run on one thread
(``torch.set_num_threads(1)``); the contenders take turns, ``steps`` timed steps
each per round, over several rounds, so that machine noise hits all of them alike.
The reported time is the median over all timed steps.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "CLOCKS",
    "SHAPES",
    "BytesLimit",
    "Case",
    "Compiled",
    "Result",
    "compiled_case",
    "limit_case",
    "machine_info",
    "make_params",
    "markdown_table",
    "run_case",
    "write_results",
]

Case = tuple[
    str,
    Callable[[list[Tensor]], Any],
    dict[str, Callable[[list[Tensor]], Any]],
]
"""``(label, ours, {flavour: factory})``; a factory returns anything with ``step()``."""

SHAPES: list[tuple[int, ...]] = (
    [(1024, 1024)] * 3  # large matrices
    + [(768, 1024)]
    + [(4096,)] * 6  # wide vectors
    + [(1024,)] * 40  # biases and norm weights
)
"""3,997,696 parameters in 50 tensors."""


@dataclass
class Result:
    """Median step times of one case (milliseconds)."""

    case: str
    ours_ms: float
    torch_ms: dict[str, float]
    steps: int

    def ratios(self) -> dict[str, float]:
        return {k: self.ours_ms / v for k, v in self.torch_ms.items()}

    def to_json(self) -> dict:
        return {**asdict(self), "ratios": self.ratios()}


COMPILE = os.environ.get("WAFEROPT_BENCH_COMPILE", "1") not in ("0", "false", "no")
"""Whether the compiled rows run (``WAFEROPT_BENCH_COMPILE=0`` skips them: compiling
every contender takes minutes)."""


def compiled_case(
    label: str,
    ours: Callable[[list[Tensor]], Any],
    theirs: dict[str, Callable[[list[Tensor]], Any]],
) -> list[Case]:
    """``[(label + " compiled", ours compiled with fullgraph, {flavour: theirs compiled})]``
    (torch's recipe, ``torch.compile(opt.step)``), or ``[]`` when compiled rows are off."""
    if not COMPILE:
        return []
    return [
        (
            f"{label} compiled",
            lambda ps: Compiled(ours(ps), fullgraph=True),
            {name: (lambda ps, f=f: Compiled(f(ps))) for name, f in theirs.items()},
        )
    ]


def limit_case(
    label: str, ours: Callable[[list[Tensor]], Any], passes: list[tuple[int, int]]
) -> list[Case]:
    """Our compiled step beside the bytes-moved floor of its rule (:class:`BytesLimit`)."""
    if not COMPILE:
        return []
    what = ", then ".join(f"{r}R+{w}W" for r, w in passes)
    return [
        (
            f"{label} compiled",
            lambda ps: Compiled(ours(ps), fullgraph=True),
            {f"bytes-moved limit ({what})": lambda ps: BytesLimit(ps, passes)},
        )
    ]


class Compiled:
    """A contender whose step is ``torch.compile(opt.step)`` (ours: ``fullgraph=True``;
    torch's recipe: the default). It compiles during the warm-up steps."""

    def __init__(self, opt: torch.optim.Optimizer, fullgraph: bool = False) -> None:
        self.opt = opt
        self._step = torch.compile(opt.step, fullgraph=fullgraph)

    def step(self) -> None:
        self._step()


class BytesLimit:
    """The memory-traffic floor of a step: compiled passes over each param's size, pass
    k reading ``passes[k][0]`` arrays and writing ``passes[k][1]``: what a rule over
    params, grads and state has to move at the least (two passes for a rule that must
    read everything once before it can write, such as a norm-scaled update)."""

    def __init__(self, params: list[Tensor], passes: list[tuple[int, int]]) -> None:
        self.passes = [
            (
                [[torch.rand_like(p) for _ in range(reads)] for p in params],
                [[torch.empty_like(p) for _ in range(writes)] for p in params],
            )
            for reads, writes in passes
        ]
        self._move = torch.compile(_move, fullgraph=True)

    def step(self) -> None:
        for ins, outs in self.passes:
            self._move(ins, outs)


def _move(ins: list[list[Tensor]], outs: list[list[Tensor]]) -> list[Tensor]:
    sums = []
    for xs, ys in zip(ins, outs):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        for j, y in enumerate(ys):
            y.copy_(total * (j + 1))
        if not ys:  # a reading pass (statistics, norms): reduce what was read
            sums.append(total.sum())
    return sums


def make_params(seed: int = 0, shapes: Iterable[tuple[int, ...]] = SHAPES) -> list[Tensor]:
    """Fresh parameters (float32, CPU) with random gradients, the same for a given seed."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.randn(shape, generator=gen).requires_grad_()
        p.grad = torch.randn(shape, generator=gen) * 1e-2
        params.append(p)
    return params


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}
"""What a step's time is read from: wall-clock time, or the CPU time of the stepping
thread (steadier on a loaded machine: it leaves out the time spent waiting for a core;
meaningful with one thread, ``threads=1``)."""


def _time_steps(
    opt: Any, steps: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    out = []
    for _ in range(steps):
        start = clock()
        opt.step()
        out.append(clock() - start)
    return out


def run_case(
    case: Case,
    rounds: int = 5,
    steps: int = 10,
    warmup: int = 3,
    threads: int = 1,
    clock: str = "wall",
) -> Result:
    """Time one case: contenders take turns for ``rounds`` rounds of ``steps`` steps
    (``clock``: a key of :data:`CLOCKS`)."""
    read = CLOCKS[clock]
    label, ours, flavours = case
    torch.set_num_threads(threads)
    # every instance's compiled step is a new variant of the same code object: start each
    # case afresh so that the cases do not add up to Dynamo's recompile limit
    torch._dynamo.reset()
    # A throwaway set first: the first large allocations of a process are mapped afresh
    # (glibc raises its mmap threshold only once such a block is freed), later ones come
    # from the heap; without it, whoever is built first (ours) steps on memory laid out
    # unlike everyone else's, measured 5-13% slower with the very same compiled kernel.
    _ = make_params()
    del _
    contenders: dict[str, Any] = {"ours": ours(make_params())}
    for name, factory in flavours.items():
        contenders[name] = factory(make_params())
    times: dict[str, list[float]] = {name: [] for name in contenders}
    with torch.no_grad():
        for opt in contenders.values():
            _time_steps(opt, warmup)
        order = list(contenders)
        gc.collect()
        gc.disable()
        try:
            for r in range(rounds):
                # rotate who goes first so that no contender always runs after the same one
                for name in order[r % len(order) :] + order[: r % len(order)]:
                    times[name].extend(_time_steps(contenders[name], steps, read))
        finally:
            gc.enable()
    med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    ours_ms = med.pop("ours")
    return Result(label, ours_ms, med, rounds * steps)


def markdown_table(results: Iterable[Result]) -> str:
    """One row per (case, torch flavour): medians and the ratio ours / torch."""
    lines = [
        "| case | ours (ms) | torch flavour | torch (ms) | ours / torch |",
        "|---|---:|---|---:|---:|",
    ]
    for res in results:
        if not res.torch_ms:
            lines.append(f"| {res.case} | {res.ours_ms:.2f} | (none) | | |")
        for flavour, ms in res.torch_ms.items():
            lines.append(
                f"| {res.case} | {res.ours_ms:.2f} | {flavour} | {ms:.2f} | "
                f"{res.ours_ms / ms:.2f} |"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------- machine-readable results
RESULTS_FORMAT = 1
"""Version of the results file's layout (``docs/_data/bench-results.json``)."""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_HAS_LOADAVG = hasattr(os, "getloadavg")


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, torch, threads, load, date (UTC)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if _HAS_LOADAVG else None,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _command() -> str:
    """The command that ran, without the results file's (local) path."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if not skip and not arg.startswith("--results"):
            args.append(arg)
        skip = arg == "--results"
    return " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *args])


def write_results(path: Path, section: str, rows: list[dict[str, Any]], **settings: Any) -> None:
    """Write one script's results as section ``section`` of the JSON file at ``path``,
    keeping the other scripts' sections (``nox -s bench`` runs them one after another).

    The section holds ``machine`` (:func:`machine_info`, taken now, after the run),
    ``settings`` (rounds, steps, the cases chosen...) and ``rows``.
    """
    data: dict[str, Any] = {"format": RESULTS_FORMAT, "sections": {}}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
        if old.get("format") == RESULTS_FORMAT:
            data["sections"].update(old.get("sections", {}))
    machine = machine_info()
    if "threads" in settings:  # the processes that ran the steps, when not this one
        machine["threads"] = settings.pop("threads")
    data["sections"][section] = {
        "machine": machine,
        "settings": settings,
        "command": _command(),
        "rows": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)
    print(f"results: section {section!r} written to {path}", file=sys.stderr)
