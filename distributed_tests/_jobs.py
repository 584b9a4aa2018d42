"""The functions each rank runs (module level: the processes are spawned)."""

from __future__ import annotations

import traceback
from typing import Any

import torch
import torch.distributed as dist
from _harness import (
    OPTIMIZERS,
    STEPS,
    batches,
    eval_mode,
    full_params,
    loss_fn,
    make_model,
    make_scheduler,
    optimizer_class,
    shard_batch,
    train_mode,
    trained_params,
)
from torch import nn


def wrap(model: nn.Module, mode: str, world: int, reshard: bool = True) -> nn.Module:
    """The model as ``mode`` runs it: ``ddp``, ``fsdp`` (FSDP2, per layer and root),
    ``zero`` (DDP; the optimizer is wrapped instead) or ``plain`` (as is)."""
    if mode == "plain":
        return model
    if mode in ("ddp", "zero"):
        from torch.nn.parallel import DistributedDataParallel as DDP

        return DDP(model)
    if mode == "fsdp":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh("cpu", (world,))
        for layer in (model.fc1, model.fc2):
            fully_shard(layer, mesh=mesh, reshard_after_forward=reshard)
        fully_shard(model, mesh=mesh, reshard_after_forward=reshard)
        return model
    raise ValueError(mode)


def make_optimizer(name: str, model: nn.Module, mode: str) -> Any:
    cls, kwargs = optimizer_class(name), OPTIMIZERS[name][1]
    if mode == "zero":
        from torch.distributed.optim import ZeroRedundancyOptimizer

        if name == "Prodigy":
            # ZeRO gives each rank a part of the params: Prodigy's sums over all params
            # must be all-reduced, which fsdp_in_use asks for
            kwargs = {**kwargs, "fsdp_in_use": True}
        return ZeroRedundancyOptimizer(trained_params(name, model), optimizer_class=cls, **kwargs)
    return cls(trained_params(name, model), **kwargs)


def _is_dtensor(t: Any) -> bool:
    from torch.distributed.tensor import DTensor

    return isinstance(t, DTensor)


def train_job(
    rank: int,
    world: int,
    configs: list[tuple[str, bool]],
    names: list[str],
    compiled: tuple[str, ...] = (),
    steps: int = STEPS,
) -> dict[tuple[str, bool], dict[str, Any]]:
    """:func:`train` for each ``(mode, reshard_after_forward)`` of ``configs``, and
    :func:`compile_job` for the ``compiled`` names (under the key ``("compile", True)``),
    in one job (each job pays for starting its processes)."""
    out = {
        (mode, reshard): train(rank, world, mode, names, reshard, steps)
        for mode, reshard in configs
    }
    if compiled:
        out[("compile", True)] = compile_job(rank, world, list(compiled), steps=steps)
    return out


def train(
    rank: int, world: int, mode: str, names: list[str], reshard: bool, steps: int
) -> dict[str, Any]:
    """Train every optimizer of ``names`` under ``mode``; per name: the whole params at
    the end, the lr values the scheduler wrote and which state tensors are DTensors,
    or the error (with its traceback) if a step failed."""
    results: dict[str, Any] = {}
    for name in names:
        try:
            model = make_model()
            wrapped = wrap(model, mode, world, reshard)
            opt = make_optimizer(name, wrapped, mode)
            train_mode(opt)
            sched = make_scheduler(opt, name, steps) if mode != "zero" else None
            lr_seen = []
            for batch in batches(steps):
                opt.zero_grad()
                loss_fn(wrapped, shard_batch(batch, rank, world)).backward()
                opt.step()
                if sched is not None:
                    sched.step()
                    lrs = [g["lr"] for g in opt.param_groups]
                    lr_seen.append(
                        [
                            (
                                type(v).__name__,
                                _is_dtensor(v),
                                float(v),
                                v.dim() if isinstance(v, torch.Tensor) else None,
                            )
                            for v in lrs
                        ]
                    )
            state_dtensor = sorted(
                {
                    f"{k}:{_is_dtensor(v)}"
                    for st in getattr(opt, "state", {}).values()
                    for k, v in st.items()
                    if isinstance(v, torch.Tensor)
                }
            )
            results[name] = {
                "params": full_params(wrapped),
                "lrs": lr_seen,
                "state_dtensor": state_dtensor,
            }
            if eval_mode(opt):  # schedule-free: the average, gathered like the params
                results[name]["params_eval"] = full_params(wrapped)
        except Exception as exc:  # reported per optimizer, the job goes on
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()}
        dist.barrier()
    return results


def helpers_job(rank: int, world: int) -> dict[str, Any]:
    """waferopt.core.distributed on DTensors cut every way a 1-d mesh allows (uneven and
    empty shards included): each helper against the same computation on the whole
    tensor. Returns, per case, the largest difference (or the error message)."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Partial, Replicate, Shard, distribute_tensor
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    from waferopt.core import distributed as D

    mesh = init_device_mesh("cpu", (world,))
    g = torch.Generator().manual_seed(7)
    cases = {
        "rows-uneven": ((5, 4), Shard(0)),
        "rows-empty": ((2, 7), Shard(0)),
        "cols-uneven": ((4, 7), Shard(1)),
        "3d-middle": ((2, 5, 3), Shard(1)),
        "vector": ((5,), Shard(0)),
        "replicated": ((3, 4), Replicate()),
    }
    out: dict[str, Any] = {}
    for label, (shape, placement) in cases.items():
        whole = torch.randn(shape, generator=g, dtype=torch.float64)
        dt = distribute_tensor(whole, mesh, [placement])
        loc = dt.to_local()
        diffs = {}
        local_shape, offset = compute_local_shape_and_global_offset(shape, mesh, [placement])
        region = D.shard_region(dt)
        diffs["region"] = float(
            tuple(r.stop - r.start for r in region) != tuple(local_shape)
            or tuple(r.start for r in region) != tuple(offset)
        )
        diffs["local_part"] = float(not torch.equal(D.local_part(whole, dt), loc))
        diffs["full_tensor"] = (D.full_tensor(loc, dt) - whole).abs().max().item()
        diffs["norm"] = (D.norms([loc], [dt])[0] - whole.norm()).abs().item()
        for dims in [(0,), (-1,), tuple(range(len(shape)))]:
            got_sum = D.sums([loc], [dt], [dims])[0]
            got_mean = D.means([loc], [dt], [dims])[0]
            diffs[f"sum{dims}"] = (got_sum - whole.sum(dim=dims, keepdim=True)).abs().max().item()
            diffs[f"mean{dims}"] = (
                (got_mean - whole.mean(dim=dims, keepdim=True)).abs().max().item()
            )
            want_part = D.local_part(whole.mean(dim=dims, keepdim=True), dt)
            got_part = D.local_part(got_mean, dt)
            diffs[f"local_part{dims}"] = (
                (got_part - want_part).abs().max().item() if want_part.numel() else 0.0
            )
        out[label] = diffs
    # several tensors with different cuts: one exchange, the right sums for each
    a = distribute_tensor(torch.arange(12.0).reshape(4, 3), mesh, [Shard(0)])
    b = distribute_tensor(torch.arange(6.0).reshape(2, 3), mesh, [Shard(1)])
    n = D.norms([a.to_local(), b.to_local()], [a, b])
    out["batched-norms"] = {
        "a": (n[0] - torch.arange(12.0).norm()).abs().item(),
        "b": (n[1] - torch.arange(6.0).norm()).abs().item(),
    }
    partial = DTensor.from_local(torch.ones(3), mesh, [Partial()])
    try:
        D.norms([partial.to_local()], [partial])
        out["partial"] = "accepted"
    except ValueError as exc:
        out["partial"] = str(exc)
    return out


# ---------------------------------------------------------------- distributed checkpoints
def _checkpoint_state(model: nn.Module, opt: Any, sched: Any) -> dict[str, Any]:
    from torch.distributed.checkpoint.state_dict import (
        get_model_state_dict,
        get_optimizer_state_dict,
    )

    return {
        "model": get_model_state_dict(model),
        "optim": get_optimizer_state_dict(model, opt),
        "sched": sched.state_dict(),
    }


def save_checkpoint(path: str, model: nn.Module, opt: Any, sched: Any) -> None:
    """Model, optimizer and scheduler through torch.distributed.checkpoint."""
    import torch.distributed.checkpoint as dcp

    dcp.save(_checkpoint_state(model, opt, sched), checkpoint_id=path)


def load_checkpoint(path: str, model: nn.Module, opt: Any, sched: Any) -> None:
    """The inverse of :func:`save_checkpoint`, resharded to this job's ranks."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import (
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    state = _checkpoint_state(model, opt, sched)
    dcp.load(state, checkpoint_id=path)
    set_model_state_dict(model, state["model"])
    set_optimizer_state_dict(model, opt, state["optim"])
    sched.load_state_dict(state["sched"])


def dcp_job(
    rank: int,
    world: int,
    mode: str,
    names: list[str],
    phases: list[tuple[str | None, str | None]],
    split: int = 2,
    steps: int = STEPS,
) -> list[dict[str, Any]]:
    """For each phase ``(load_from, save_to)`` and each optimizer: build the model
    (``fsdp`` or ``plain``), then either load the checkpoint ``load_from/<name>`` and
    take steps ``split..steps``, or take every step, saving ``save_to/<name>`` after
    ``split`` of them. Returns, per phase and optimizer, the whole params at the end,
    the lr after each step taken and the scheduler's step count (or the error).

    Runs in a gloo job, or in one process without a process group (``rank=0,
    world=1``, ``mode="plain"``): DCP then reads and writes the whole tensors."""
    out = []
    for load_from, save_to in phases:
        results: dict[str, Any] = {}
        for name in names:
            try:
                model = make_model()
                wrapped = wrap(model, "fsdp", world) if mode == "fsdp" else model
                opt = make_optimizer(name, wrapped, mode)
                train_mode(opt)
                sched = make_scheduler(opt, name, steps)
                start = 0
                if load_from is not None:
                    load_checkpoint(f"{load_from}/{name}", wrapped, opt, sched)
                    start = split
                data = batches(steps)
                lrs = []
                for i in range(start, steps):
                    if save_to is not None and i == split:
                        save_checkpoint(f"{save_to}/{name}", wrapped, opt, sched)
                    opt.zero_grad()
                    loss_fn(wrapped, shard_batch(data[i], rank, world)).backward()
                    opt.step()
                    sched.step()
                    lrs.append(float(opt.param_groups[0]["lr"]))
                results[name] = {
                    "params": full_params(wrapped),
                    "lrs": lrs,
                    "sched_steps": int(sched.last_epoch),
                }
            except Exception as exc:
                results[name] = {
                    "error": f"{type(exc).__name__}: {exc}",
                    "tb": traceback.format_exc(),
                }
            if dist.is_initialized():
                dist.barrier()
        out.append(results)
    return out


# ---------------------------------------------------------------- torch.compile
def compile_job(
    rank: int, world: int, names: list[str], backend: str = "eager", steps: int = STEPS
) -> dict[str, Any]:
    """Under FSDP2, the optimizer step plus the scheduler step compiled with
    ``fullgraph=True``: how many graphs Dynamo compiled over ``steps`` steps (1 means
    it compiled once), and the whole params at the end (or the error)."""
    import torch._dynamo

    results: dict[str, Any] = {}
    for name in names:
        torch._dynamo.reset()
        frames = [0]

        def counting(gm: Any, example_inputs: Any, frames: list = frames) -> Any:
            frames[0] += 1
            if backend == "eager":
                return gm.forward
            from torch._dynamo.backends.registry import lookup_backend

            return lookup_backend(backend)(gm, example_inputs)

        try:
            model = make_model()
            wrapped = wrap(model, "fsdp", world)
            opt = make_optimizer(name, wrapped, "fsdp")
            train_mode(opt)
            sched = make_scheduler(opt, name, steps)

            @torch.compile(backend=counting, fullgraph=True)
            def optimizer_step(opt: Any = opt, sched: Any = sched) -> None:
                opt.step()
                sched.step()

            for batch in batches(steps):
                opt.zero_grad()
                loss_fn(wrapped, shard_batch(batch, rank, world)).backward()
                optimizer_step()
            results[name] = {"frames": frames[0], "params": full_params(wrapped)}
        except Exception as exc:
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()}
        dist.barrier()
    torch._dynamo.reset()
    return results
