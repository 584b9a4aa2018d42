"""Optimizer step times under FSDP2: ``python benchmarks/bench_distributed.py``.

Two gloo ranks on loopback (one thread each). The bench's usual parameters (about 4M
in 50 tensors, see ``_harness.SHAPES``) are sharded by ``fully_shard``, so each rank
holds about half of every tensor as a DTensor shard. For each optimizer, two
contenders take turns, side by side in the same processes:

* ``fsdp2``: the optimizer over the DTensor parameters (what a user runs);
* ``plain``: the same optimizer over plain tensors of the shard's size (each rank's
  ``to_local()`` copies): the cost of the update itself.

The ratio fsdp2 / plain is the overhead of running on sharded parameters (target:
``TARGET_RATIO``, at most). torch's AdamW (its default foreach flavour) is run the same two ways
for comparison. Whole-tensor rules (Lamb's trust-ratio norms, Adafactor's RMS and
row / column moments) also pay their all-reduces in the fsdp2 column. Rank 0's
medians are reported, of wall-clock time and of the process's CPU time (which leaves
out the time a rank waits for a core, or for the other rank, on a busy machine).

Options:
    --rounds N     rounds of interleaved steps (default 5)
    --steps N      timed steps per contender per round (default 10)
    --only NAME    only this optimizer (repeatable; e.g. AdamW, SGD)
    --json PATH    also write the results as JSON
    --results PATH write them, with the machine, as section "distributed" of the results
                   file the docs render (``nox -s bench`` passes
                   docs/_data/bench-results.json)
(other options of ``nox -s bench`` are accepted and ignored)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import SHAPES, pin_allocator, write_results  # noqa: E402

WORLD = 2
TARGET_RATIO = 1.2
"""The target for FSDP2 / plain."""


def _ours(name: str, **kwargs: Any) -> Callable[[list[torch.Tensor]], torch.optim.Optimizer]:
    def make(params: list[torch.Tensor]) -> torch.optim.Optimizer:
        import waferopt.optim as optim

        return getattr(optim, name)(params, **kwargs)

    return make


OPTIMIZERS: dict[str, Callable[[list[torch.Tensor]], torch.optim.Optimizer]] = {
    "AdamW": _ours("AdamW", lr=1e-3, weight_decay=0.01),
    "SGD": _ours("SGD", lr=1e-2, momentum=0.9),
    "Lion": _ours("Lion", lr=1e-4, weight_decay=0.01),
    "Lamb": _ours("Lamb", lr=1e-3, weight_decay=0.01),
    "Adafactor": _ours("Adafactor", lr=1e-3),
    "torch AdamW": lambda ps: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.01),
}


def _sharded_params(seed: int) -> list[torch.Tensor]:
    """The bench shapes as FSDP2 parameters (DTensor shards) with sharded gradients."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    torch.manual_seed(seed)
    module = nn.ParameterList([nn.Parameter(torch.randn(s)) for s in SHAPES])
    fully_shard(module, mesh=init_device_mesh("cpu", (WORLD,)))
    params = list(module.parameters())
    for p in params:
        p.grad = torch.randn_like(p) * 1e-2
    return params


def _plain_like(sharded: list[torch.Tensor]) -> list[torch.Tensor]:
    """Plain tensors of the shard's size (copies of the local shards and their grads)."""
    out = []
    for p in sharded:
        q = p.detach().to_local().clone().requires_grad_()  # type: ignore[attr-defined]
        q.grad = p.grad.to_local().clone()  # type: ignore[union-attr]
        out.append(q)
    return out


def _time_steps(opt: torch.optim.Optimizer, steps: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each step: the CPU time of this process's thread does not
    count the time the process waits for a core on a busy machine."""
    out = []
    for _ in range(steps):
        wall, cpu = time.perf_counter(), time.thread_time()
        opt.step()
        out.append((time.perf_counter() - wall, time.thread_time() - cpu))
    return out


def _rank(rank: int, tmp: str, names: list[str], rounds: int, steps: int) -> None:
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{tmp}/rendezvous",
        rank=rank,
        world_size=WORLD,
        timeout=timedelta(seconds=300),
    )
    try:
        results = {}
        for name in names:
            make = OPTIMIZERS[name]
            sharded = _sharded_params(0)
            contenders = {"fsdp2": make(sharded), "plain": make(_plain_like(sharded))}
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in contenders}
            with torch.no_grad():
                for opt in contenders.values():
                    _time_steps(opt, 3)
                order = list(contenders)
                gc.collect()
                gc.disable()
                try:
                    for r in range(rounds):
                        for key in order[r % 2 :] + order[: r % 2]:
                            dist.barrier()
                            times[key].extend(_time_steps(contenders[key], steps))
                finally:
                    gc.enable()
            results[name] = {
                f"{k} {clock}": statistics.median(t[i] for t in v) * 1e3
                for k, v in times.items()
                for i, clock in enumerate(("wall", "cpu"))
            }
            del contenders, sharded
            gc.collect()
        if rank == 0:
            (Path(tmp) / "results.json").write_text(json.dumps(results))
    finally:
        dist.destroy_process_group()


def run(names: list[str], rounds: int, steps: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="waferopt-bench-dist-") as tmp:
        mp.start_processes(
            _rank, args=(tmp, names, rounds, steps), nprocs=WORLD, start_method="spawn"
        )
        return json.loads((Path(tmp) / "results.json").read_text())


def markdown_table(results: dict[str, dict[str, float]]) -> str:
    lines = [
        "| optimizer (2 gloo ranks) | plain, shard size (ms) | FSDP2 (ms) | FSDP2 / plain "
        "| CPU: plain (ms) | CPU: FSDP2 (ms) | CPU: FSDP2 / plain |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        cells = []
        for clock in ("wall", "cpu"):
            plain, fsdp2 = r[f"plain {clock}"], r[f"fsdp2 {clock}"]
            cells.append(f"{plain:.2f} | {fsdp2:.2f} | {fsdp2 / plain:.2f}")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--results", type=Path, default=None, metavar="PATH")
    args, _ = parser.parse_known_args(argv)
    names = list(OPTIMIZERS)
    if args.only:
        wanted = {n.lower() for n in args.only}
        names = [n for n in names if n.lower() in wanted]
        if not names:  # --only meant for the other bench scripts
            return 0
    if not dist.is_available() or not dist.is_gloo_available():
        print("bench_distributed: torch.distributed with gloo is not available", file=sys.stderr)
        return 0
    print(f"running {', '.join(names)} under FSDP2 ...", file=sys.stderr, flush=True)
    results = run(names, args.rounds, args.steps)
    print(markdown_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    if args.results is not None:
        write_results(
            args.results,
            "distributed",
            [{"optimizer": name, **times} for name, times in results.items()],
            rounds=args.rounds,
            steps=args.steps,
            ranks=WORLD,
            backend="gloo",
            threads=1,  # each rank's (see _rank)
            only=args.only,
            target_ratio=TARGET_RATIO,
        )
    return 0


if __name__ == "__main__":
    pin_allocator()
    raise SystemExit(main())
