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

Two contenders running the very same kernel do not time alike: where a process's
large blocks land in memory moves a step by several percent. So that a ratio can be
read against that spread, every case also times a **control**, a second instance of
its first torch flavour, and reports it beside its twin (``Result.noise``); and
between rounds every contender's arrays move to fresh memory (:func:`relocate`), so
that none keeps the luckiest or unluckiest placement for the whole run.
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
    "ALLOCATOR",
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
    "pin_allocator",
    "relocate",
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
    control_of: str | None = None
    """The torch flavour that the control is a second instance of (None: no control)."""
    control_ms: float | None = None
    """The control's median: the same flavour, the same kernel, another instance."""

    def ratios(self) -> dict[str, float]:
        return {k: self.ours_ms / v for k, v in self.torch_ms.items()}

    def noise(self) -> float | None:
        """Control / its twin: how far apart two instances of one kernel measured in
        this run (1.00: not at all). Over the cases of a run, these values span the
        run's error bar: a ratio ours / torch inside that band is parity as far as one
        run can tell."""
        if self.control_of is None or self.control_ms is None:
            return None
        return self.control_ms / self.torch_ms[self.control_of]

    def to_json(self) -> dict:
        return {**asdict(self), "ratios": self.ratios(), "noise": self.noise()}


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
    torch's recipe: the default; ``dynamic`` as ``torch.compile`` takes it). It compiles
    during the warm-up steps."""

    def __init__(
        self, opt: torch.optim.Optimizer, fullgraph: bool = False, dynamic: bool | None = None
    ) -> None:
        self.opt = opt
        self._step = torch.compile(opt.step, fullgraph=fullgraph, dynamic=dynamic)

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


ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
"""glibc malloc settings the scripts run under (:func:`pin_allocator`). By default glibc
maps a large block afresh on each allocation until such a block is freed (which raises
the threshold to that block's size), and returns the top of the heap to the system
once more than its trim threshold is free there; a step that allocates 4 MB
temporaries (torch's foreach flavours) then costs anything from once to twice its time
in page faults, depending on what ran before it in the process. Pinned, blocks of up to 32 MiB (glibc's largest threshold) come from the heap,
which keeps up to 1 GiB of freed memory: each contender's steady state, whatever ran
before it."""


def pin_allocator() -> None:
    """Run the calling script again under :data:`ALLOCATOR` when its environment does not
    set those variables already (glibc reads them at start-up only). A script calls it
    first thing under ``if __name__ == "__main__"``; the processes it spawns inherit the
    settings.
    ``WAFEROPT_BENCH_MALLOC=default`` keeps glibc's defaults (the settings are recorded
    with the results either way: :func:`machine_info`)."""
    if os.environ.get("WAFEROPT_BENCH_MALLOC") == "default" or not sys.platform.startswith("linux"):
        return
    missing = {k: v for k, v in ALLOCATOR.items() if k not in os.environ}
    if missing:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **missing})


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


def _tensors(obj: Any, depth: int = 0) -> Iterable[Tensor]:
    """The tensors a contender steps on: an optimizer's state, and what a wrapper holds
    in its attributes (an optimizer, lists of optimizers or tensors: ``Compiled.opt``,
    ``BytesLimit.passes``...). Parameters come from the list the contender was built on."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, torch.optim.Optimizer):
        for state in obj.state.values():
            yield from (v for v in state.values() if isinstance(v, Tensor))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item, depth)
    elif depth < 3 and hasattr(obj, "__dict__") and not callable(obj):
        for value in vars(obj).values():
            yield from _tensors(value, depth + 1)


def relocate(contender: Any, params: list[Tensor]) -> int:
    """Move the arrays a contender steps on (its parameters, their gradients, its state)
    to fresh memory, values unchanged, one after the other, by swapping each tensor's
    storage (``.data``): the optimizer, its step counts and a compiled step (whose guards
    see the same tensor objects) are kept, nothing compiles again. Views (packed 0-d
    state) and single-element tensors stay. Returns how many arrays moved."""
    seen: set[int] = set()
    moved = 0
    grads = [p.grad for p in params if p.grad is not None]
    for t in (*params, *grads, *_tensors(contender)):
        if id(t) in seen or t._base is not None or t.numel() <= 1:
            continue
        seen.add(id(t))
        t.data = t.detach().clone()
        moved += 1
    return moved


def _rotated(names: list[str], r: int) -> list[str]:
    k = r % len(names)
    return names[k:] + names[:k]


CONTROL = "control"
"""The key of the control contender in :func:`run_case`."""


def run_case(
    case: Case,
    rounds: int = 5,
    steps: int = 10,
    warmup: int = 3,
    threads: int = 1,
    clock: str = "wall",
    control: bool = True,
) -> Result:
    """Time one case: contenders take turns for ``rounds`` rounds of ``steps`` steps
    (``clock``: a key of :data:`CLOCKS`). With ``control``, a second instance of the
    first torch flavour is timed too (:attr:`Result.control_ms`).

    Before every round, each contender's arrays move to fresh memory (:func:`relocate`),
    the contenders taking turns in the round's order, so that no contender steps on the
    placement it was built with, nor keeps one placement for the whole run: built once,
    one after the other, the first one built measured up to 5% slower than the others
    with the very same compiled kernel, whichever it was."""
    read = CLOCKS[clock]
    label, ours, flavours = case
    factories = dict(flavours)
    control_of = next(iter(flavours), None) if control else None
    if control_of is not None:
        factories[CONTROL] = flavours[control_of]
    names = ["ours", *factories]
    torch.set_num_threads(threads)
    # every instance's compiled step is a new variant of the same code object: start each
    # case afresh so that the cases do not add up to Dynamo's recompile limit
    torch._dynamo.reset()
    params = {name: make_params() for name in names}
    contenders = {
        name: (ours if name == "ours" else factories[name])(params[name]) for name in names
    }
    times: dict[str, list[float]] = {name: [] for name in names}
    with torch.no_grad():
        for opt in contenders.values():  # compiled contenders compile here
            _time_steps(opt, warmup)
        for r in range(rounds):
            order = _rotated(names, r)  # who moves, then who steps, first
            for name in order:  # the first round too: the build's placement is never timed
                relocate(contenders[name], params[name])
            gc.collect()
            gc.disable()
            try:
                for name in order:
                    times[name].extend(_time_steps(contenders[name], steps, read))
            finally:
                gc.enable()
    med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    ours_ms = med.pop("ours")
    control_ms = med.pop(CONTROL, None)
    return Result(label, ours_ms, med, rounds * steps, control_of, control_ms)


def markdown_table(results: Iterable[Result]) -> str:
    """One row per (case, torch flavour): medians and the ratio ours / torch; the row of
    the flavour that has a control also gives control / torch (the run's noise floor)."""
    lines = [
        "| case | ours (ms) | torch flavour | torch (ms) | ours / torch "
        "| 2nd torch instance / torch |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for res in results:
        if not res.torch_ms:
            lines.append(f"| {res.case} | {res.ours_ms:.2f} | (none) | | | |")
        noise = res.noise()
        for flavour, ms in res.torch_ms.items():
            floor = f"{noise:.2f}" if noise is not None and flavour == res.control_of else ""
            lines.append(
                f"| {res.case} | {res.ours_ms:.2f} | {flavour} | {ms:.2f} | "
                f"{res.ours_ms / ms:.2f} | {floor} |"
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
        "allocator": {k: os.environ.get(k) for k in ALLOCATOR},
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
