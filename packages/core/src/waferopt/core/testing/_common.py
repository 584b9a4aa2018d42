"""Helpers shared by the optimizer and scheduler checks (private)."""

from __future__ import annotations

import copy
import inspect
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from ..optimizer import Optimizer
from .info import NotApplicable, OptimizerInfo, SchedulerInfo


def _device(explicit: str | torch.device | None = None) -> torch.device:
    return torch.device(explicit or os.environ.get("WAFEROPT_TEST_DEVICE", "cpu"))


def _skip_compile_requested() -> bool:
    return os.environ.get("WAFEROPT_SKIP_COMPILE", "").lower() not in ("", "0", "false", "no")


def _make_params(
    shapes: Sequence[tuple[int, ...]],
    seed: int = 0,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    device = device or _device()
    return [
        torch.nn.Parameter(torch.randn(s, generator=gen).to(device=device, dtype=dtype))
        for s in shapes
    ]


def _clone_params(params: Sequence[torch.Tensor]) -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(p.detach().clone()) for p in params]


def _set_grads(params: Sequence[torch.Tensor], step: int, skip: Sequence[int] = ()) -> None:
    """Deterministic gradients for ``step`` (the same for every run of a check)."""
    gen = torch.Generator().manual_seed(10_000 + step)
    for i, p in enumerate(params):
        grad = torch.randn(p.shape, generator=gen).to(p.device, p.dtype)
        p.grad = None if i in skip else grad


def _param_index(opt: Optimizer) -> Iterator[tuple[int, int, torch.Tensor]]:
    for gi, group in enumerate(opt.param_groups):
        for pi, p in enumerate(group["params"]):
            yield gi, pi, p


def _layout(opt: Optimizer) -> dict[tuple[int, int, str], tuple]:
    """(group, param, key) -> what must not change across steps."""
    out: dict[tuple[int, int, str], tuple] = {}
    for gi, pi, p in _param_index(opt):
        for key, value in opt.state.get(p, {}).items():
            if isinstance(value, torch.Tensor):
                out[(gi, pi, str(key))] = (
                    "tensor",
                    value.untyped_storage().data_ptr(),
                    value.data_ptr(),
                    tuple(value.shape),
                    value.dtype,
                    value.device,
                )
            else:
                out[(gi, pi, str(key))] = ("python", type(value))
    return out


def _where(key: tuple[int, int, str]) -> str:
    return f"state {key[2]!r} of parameter {key[1]} of group {key[0]}"


def _compare_layouts(before: dict, after: dict, when: str) -> None:
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    if new:
        raise AssertionError(f"{when} created state: {', '.join(map(_where, new))}")
    if gone:
        raise AssertionError(f"{when} removed state: {', '.join(map(_where, gone))}")
    for key, was in before.items():
        now = after[key]
        if was[0] == "python" or now[0] == "python":
            if was != now:
                raise AssertionError(f"{when} changed the type of {_where(key)}: {was} -> {now}")
            continue
        if was[1:3] != now[1:3]:
            raise AssertionError(
                f"{when} replaced the storage of {_where(key)} (update it in place)"
            )
        if was[3:] != now[3:]:
            raise AssertionError(
                f"{when} changed the shape/dtype/device of {_where(key)}: {was[3:]} -> {now[3:]}"
            )


def _snapshot(opt: Optimizer) -> dict[str, Any]:
    """Deep copy of every state value and group hyperparameter."""
    state = {}
    for gi, pi, p in _param_index(opt):
        for key, value in opt.state.get(p, {}).items():
            state[(gi, pi, str(key))] = (
                value.detach().clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)
            )
    groups = [
        {
            k: (v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v))
            for k, v in g.items()
            if k != "params"
        }
        for g in opt.param_groups
    ]
    params = [p.detach().clone() for _, _, p in _param_index(opt)]
    return {"state": state, "groups": groups, "params": params}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a.cpu(), b.cpu()))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _assert_same_snapshot(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    """Bitwise equality of two snapshots, naming the first difference."""
    for i, (x, y) in enumerate(zip(a["params"], b["params"])):
        if not _equal(x, y):
            diff = (x.double() - y.double()).abs().max().item()
            raise AssertionError(f"{what}: parameter {i} differs (max abs diff {diff:.3g})")
    if a["state"].keys() != b["state"].keys():
        raise AssertionError(
            f"{what}: state keys differ: {sorted(a['state'])} vs {sorted(b['state'])}"
        )
    for key in a["state"]:
        if not _equal(a["state"][key], b["state"][key]):
            raise AssertionError(f"{what}: {_where(key)} differs")
    for gi, (ga, gb) in enumerate(zip(a["groups"], b["groups"])):
        for k in ga.keys() | gb.keys():
            va, vb = ga.get(k), gb.get(k)
            if isinstance(va, torch.Tensor) or isinstance(vb, torch.Tensor):
                same = torch.as_tensor(va).double().cpu().equal(torch.as_tensor(vb).double().cpu())
            else:
                same = _equal(va, vb)
            if not same:
                raise AssertionError(
                    f"{what}: hyperparameter {k!r} of group {gi}: {va!r} vs {vb!r}"
                )


def _assert_close_snapshot(
    a: dict[str, Any], b: dict[str, Any], what: str, rtol: Any, atol: Any
) -> None:
    for i, (x, y) in enumerate(zip(a["params"], b["params"])):
        torch.testing.assert_close(
            x, y, rtol=rtol, atol=atol, msg=lambda m, i=i: f"{what}: parameter {i}: {m}"
        )
    if a["state"].keys() != b["state"].keys():
        raise AssertionError(f"{what}: state keys differ")
    for key in a["state"]:
        x, y = a["state"][key], b["state"][key]
        if isinstance(x, torch.Tensor):
            torch.testing.assert_close(
                x, y, rtol=rtol, atol=atol, msg=lambda m, key=key: f"{what}: {_where(key)}: {m}"
            )
        elif not _equal(x, y):
            raise AssertionError(f"{what}: {_where(key)} differs: {x!r} vs {y!r}")


def _save_load(obj: Any, weights_only: bool = True) -> Any:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=weights_only)


def _raises(
    error: type[BaseException], match: str, fn: Callable[[], Any], what: str
) -> BaseException:
    try:
        fn()
    except error as exc:
        if match and not re.search(match, str(exc)):
            raise AssertionError(
                f"{what}: raised {type(exc).__name__} as expected, but the message {str(exc)!r} "
                f"does not match {match!r}"
            ) from exc
        return exc
    except Exception as exc:
        raise AssertionError(
            f"{what}: expected {error.__name__}, got {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what}: expected {error.__name__}, nothing was raised")


def _accepts(cls: type, name: str) -> bool:
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _f32(value: float) -> float:
    """``value`` rounded to float32, the precision a scheduler's 0-d tensor holds."""
    return float(torch.tensor(value, dtype=torch.float32))


def _f32_tensor(value: float) -> torch.Tensor:
    """``value`` as the 0-d float32 tensor a scheduler writes, on the test device."""
    return torch.tensor(_f32(value), dtype=torch.float32, device=_device())


def _tensor_hyperparams(opt: Optimizer, keys: Sequence[str]) -> None:
    """Hold the number-valued ``keys`` of every group as 0-d float32 tensors."""
    for group in opt.param_groups:
        for key in keys:
            if _is_number(group.get(key)):
                group[key] = _f32_tensor(group[key])


class _CountingBackend:
    """A ``torch.compile`` backend that counts the graphs Dynamo hands it."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.frames = 0

    def __call__(self, gm: torch.fx.GraphModule, example_inputs: list[Any]) -> Callable[..., Any]:
        self.frames += 1
        if self.backend == "eager":
            return gm.forward
        from torch._dynamo.backends.registry import lookup_backend

        return lookup_backend(self.backend)(gm, example_inputs)


@contextmanager
def _fresh_dynamo() -> Iterator[None]:
    import torch._dynamo

    torch._dynamo.reset()
    try:
        yield
    finally:
        torch._dynamo.reset()


def _run_compiled(
    step: Callable[[], Any],
    params: Sequence[torch.Tensor],
    steps: int,
    *,
    compiled: bool,
    backend: str,
    what: str,
    after_each: Callable[[], None] | None = None,
) -> None:
    """Run ``step`` (under ``torch.compile(fullgraph=True)`` when ``compiled``) for
    ``steps`` steps with the kit's gradients, calling ``after_each()`` after each; a
    graph break or more than one compile is an ``AssertionError`` about ``what``."""
    counting = _CountingBackend(backend)
    with _fresh_dynamo():
        fn = torch.compile(step, backend=counting, fullgraph=True) if compiled else step
        for s in range(steps):
            _set_grads(params, s)
            try:
                fn()
            except Exception as exc:
                if not compiled:
                    raise
                raise AssertionError(
                    f"{what}: does not compile with fullgraph=True (a graph break): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if after_each is not None:
                after_each()
    if compiled and counting.frames != 1:
        raise AssertionError(
            f"{what}: compiled {counting.frames} times over {steps} steps (expected once; "
            "run with TORCH_LOGS=recompiles to see the guard that failed)"
        )


def _check_error_inputs(
    info: OptimizerInfo | SchedulerInfo, build: Callable[[Mapping[str, Any]], Any]
) -> None:
    """Each of ``info.error_inputs``, given to ``build``, raises its exception."""
    if not info.error_inputs:
        raise NotApplicable(f"{info.id} lists no error inputs")
    for case in info.error_inputs:
        what = f"{info.id}({', '.join(f'{k}={v!r}' for k, v in case.kwargs.items())})"
        if case.description:
            what += f" [{case.description}]"
        _raises(case.error, case.match, lambda case=case: build(case.kwargs), what)
