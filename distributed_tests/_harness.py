"""Multi-process test harness: real gloo jobs on loopback, compared with one process.

:func:`launch` starts ``world`` processes with ``torch.multiprocessing`` (spawn), joins
them into a gloo process group that rendezvouses through a file and talks over the
loopback interface only (``GLOO_SOCKET_IFNAME=lo``), runs a worker function in each
and returns what each rank returned. A job that does not finish within its timeout is
killed and the test fails; an exception in a rank fails the test with that rank's
traceback.

The training jobs train a small model (:class:`Net`: two linear layers with uneven
sizes and a 3-d parameter, float64) for a few steps on a fixed global batch; each rank
sees its slice of it, and :func:`train` run in one process on the whole batch is the
reference the distributed runs are compared with.
"""

from __future__ import annotations

import functools
import os
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

STEPS = 4
GLOBAL_BATCH = 12
"""Divisible by 2 and 3 ranks."""
IN, HIDDEN, OUT = 8, 10, 5
"""10 and 5 rows: uneven shards on 3 ranks (4, 4, 2 and 2, 2, 1)."""
JOB_TIMEOUT = 150.0
"""Seconds a whole job (every rank) may take before it is killed and the test fails."""

# Every first-party optimizer, with hyperparameters that move the small model in a few
# steps. A test checks that this table names every optimizer the registry lists from a
# first-party distribution (a new family must add its entries here).
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "SGD": ("waferopt.sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    "ASGD": ("waferopt.sgd", {"lr": 0.05, "weight_decay": 0.01}),
    "AdamBase": ("waferopt.adam", {"lr": 0.01, "weight_decay": 0.01}),
    "Adam": ("waferopt.adam", {"lr": 0.01, "weight_decay": 0.01}),
    "AdamW": ("waferopt.adam", {"lr": 0.01, "weight_decay": 0.1}),
    "Adamax": ("waferopt.adam", {"lr": 0.01, "weight_decay": 0.01}),
    "NAdam": ("waferopt.adam", {"lr": 0.01, "weight_decay": 0.01}),
    "RAdam": ("waferopt.adam", {"lr": 0.01, "weight_decay": 0.01}),
    "Lamb": ("waferopt.adam", {"lr": 0.01, "weight_decay": 0.01}),
    "Adadelta": ("waferopt.adaptive", {"lr": 1.0, "weight_decay": 0.01}),
    "Adagrad": ("waferopt.adaptive", {"lr": 0.05, "weight_decay": 0.01}),
    "Adafactor": ("waferopt.adaptive", {"lr": 0.01, "weight_decay": 0.01}),
    "RMSprop": ("waferopt.adaptive", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.01}),
    "Lion": ("waferopt.sign", {"lr": 0.001, "weight_decay": 0.1}),
    "Rprop": ("waferopt.sign", {"lr": 0.01}),
    "Muon": ("waferopt.modern", {"lr": 0.02, "weight_decay": 0.01}),
    "AdamWScheduleFree": ("waferopt.modern", {"lr": 0.01, "weight_decay": 0.01}),
    "Prodigy": ("waferopt.modern", {"lr": 1.0, "d0": 1e-3, "weight_decay": 0.01}),
    "AdEMAMix": ("waferopt.modern", {"lr": 0.01, "weight_decay": 0.01}),
    # rules that read whole tensors, written with the authoring API (see _toys)
    "NormalizedSGD": ("_toys", {"lr": 0.05}),
    "OrthogonalSGD": ("_toys", {"lr": 0.05}),
}
MATRICES_ONLY = ("Muon",)
"""Optimizers that take 2-d parameters only: they get the two weight matrices."""
TOYS = ("NormalizedSGD", "OrthogonalSGD")
"""Not first-party: authoring-API examples of whole-tensor rules (``_toys``)."""

RTOL, ATOL = 1e-9, 1e-11
"""float64 runs: a distributed run sums the same products in another order (the
all-reduce of two or three partial batches), so results agree to rounding, about
1e-15 relative per step, amplified by the few steps; 1e-9 leaves room for that and is
far below any real difference (a wrong reduction moves parameters by 1e-4 or more)."""


def assert_params_close(
    got: dict[str, torch.Tensor], want: dict[str, torch.Tensor], label: str
) -> None:
    """Every parameter of ``want`` in ``got`` to ``RTOL``/``ATOL``; ``label`` says which
    run (and rank) failed."""
    for key, value in want.items():
        torch.testing.assert_close(
            got[key], value, rtol=RTOL, atol=ATOL, msg=lambda m, key=key: f"{label}, {key}: {m}"
        )


def trained_params(name: str, model: nn.Module) -> list[nn.Parameter]:
    """The parameters ``name`` optimizes (all, or the matrices for MATRICES_ONLY)."""
    params = list(model.parameters())
    return [p for p in params if p.dim() == 2] if name in MATRICES_ONLY else params


def train_mode(opt: Any) -> None:
    """Put a schedule-free optimizer in training mode (ZeRO: the one it wraps)."""
    inner = getattr(opt, "optim", opt)
    if callable(getattr(inner, "train", None)):
        inner.train()


def eval_mode(opt: Any) -> bool:
    """Put a schedule-free optimizer in eval mode (the params then hold its average);
    False for an optimizer without modes. Under ZeRO each rank's wrapped optimizer moves
    its own part of the params, and ZeRO broadcasts params only in ``step()``: its
    broadcast (``_sync_params``, torch's private API) gives every rank every part."""
    inner = getattr(opt, "optim", opt)
    if not callable(getattr(inner, "eval", None)):
        return False
    inner.eval()
    if inner is not opt:
        opt._sync_params()
    return True


def optimizer_class(name: str) -> type:
    module, _ = OPTIMIZERS[name]
    return getattr(__import__(module, fromlist=[name]), name)


# ---------------------------------------------------------------- the model and the data
class Net(nn.Module):
    """Two linear layers (10 and 5 rows) and a 3-d parameter (5 x 2 x 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(IN, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, OUT)
        self.cube = nn.Parameter(torch.randn(OUT, 2, 3) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.tanh(self.fc1(x))) * (1 + self.cube.sum(dim=(1, 2)))


def make_model(seed: int = 0) -> Net:
    torch.manual_seed(seed)
    return Net().double()


def batches(steps: int = STEPS) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The global batches, the same in every process."""
    g = torch.Generator().manual_seed(1234)
    return [
        (
            torch.randn(GLOBAL_BATCH, IN, generator=g, dtype=torch.float64),
            torch.randn(GLOBAL_BATCH, OUT, generator=g, dtype=torch.float64),
        )
        for _ in range(steps)
    ]


def shard_batch(
    batch: tuple[torch.Tensor, torch.Tensor], rank: int, world: int
) -> tuple[torch.Tensor, torch.Tensor]:
    per = GLOBAL_BATCH // world
    x, y = batch
    return x[rank * per : (rank + 1) * per], y[rank * per : (rank + 1) * per]


def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def full_params(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter as a whole plain tensor (gathers DTensor shards: collective)."""
    out = {}
    for name, p in model.named_parameters():
        t = p.detach()
        if hasattr(t, "full_tensor"):
            t = t.full_tensor()
        out[name.replace("module.", "")] = t.clone()
    return out


def make_scheduler(opt: Any, name: str, steps: int = STEPS) -> Any:
    from waferopt.schedulers.lr_scheduler import LinearLR

    lr = OPTIMIZERS[name][1]["lr"]
    return LinearLR(opt, initial_learning_rate=lr, end_learning_rate=lr / 4, total_iters=steps)


def train_single(
    name: str, steps: int = STEPS, scheduler: bool = True, evaluate: bool = False
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """The reference: one process, the whole global batch. Returns the params at the
    end (``evaluate``: after :func:`eval_mode`) and the lr after each step."""
    model = make_model()
    opt = optimizer_class(name)(trained_params(name, model), **OPTIMIZERS[name][1])
    train_mode(opt)
    sched = make_scheduler(opt, name, steps) if scheduler else None
    lrs = []
    for batch in batches(steps):
        opt.zero_grad()
        loss_fn(model, batch).backward()
        opt.step()
        if sched is not None:
            sched.step()
        lrs.append(float(opt.param_groups[0]["lr"]))
    if evaluate:
        eval_mode(opt)
    return full_params(model), lrs


# ---------------------------------------------------------------- launching jobs
def once(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Cache ``fn``'s result *or its exception* per arguments: the tests that read one
    job run it once, and a failed job fails each of them at once instead of rerunning."""
    done: dict[tuple, tuple[bool, Any]] = {}

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        if args not in done:
            try:
                done[args] = (True, fn(*args))
            except Exception as exc:
                done[args] = (False, exc)
        ok, value = done[args]
        if not ok:
            raise value
        return value

    return wrapper


def _entry(rank: int, fn: Callable[..., Any], world: int, tmp: str, args: tuple) -> None:
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{tmp}/rendezvous",
        rank=rank,
        world_size=world,
        timeout=timedelta(seconds=60),
    )
    try:
        out = fn(rank, world, *args)
        torch.save(out, Path(tmp) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def launch(
    fn: Callable[..., Any], world: int, *args: Any, timeout: float = JOB_TIMEOUT
) -> list[Any]:
    """Run ``fn(rank, world, *args)`` in ``world`` gloo ranks; return each rank's result.

    ``fn`` must be a module-level function (the processes are spawned). Raises the
    failing rank's exception, or ``TimeoutError`` (after killing every rank) when the
    job takes longer than ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="waferopt-dist-") as tmp:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        ctx = mp.start_processes(
            _entry, args=(fn, world, tmp, args), nprocs=world, join=False, start_method="spawn"
        )
        deadline = time.monotonic() + timeout
        while not ctx.join(timeout=max(deadline - time.monotonic(), 0.1)):
            if time.monotonic() >= deadline:
                for p in ctx.processes:
                    if p.is_alive():
                        p.kill()
                for p in ctx.processes:
                    p.join(5)
                raise TimeoutError(f"{fn.__name__} on {world} ranks took more than {timeout}s")
        return [torch.load(Path(tmp) / f"rank{r}.pt", weights_only=False) for r in range(world)]
