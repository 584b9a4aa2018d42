"""The conformance kit: the checks every waferopt optimizer and scheduler passes.

One battery for every family and every third-party plugin (the shape of torch's
``OptimizerInfo`` tables and optax's shared ``_common_test.py``): describe a class
with a few constructor configurations in an :class:`OptimizerInfo` or a
:class:`SchedulerInfo`, and the kit checks the contracts of ``waferopt.core``.

Optimizer checks (each configuration):

* **static step** -- every state tensor exists after construction; ``step()`` adds
  no state key and keeps every state tensor's storage, shape and dtype; parameters
  without a gradient are skipped (value and state untouched); ``step(closure)``
  calls the closure once and returns its loss;
* **bitwise resume** -- ``state_dict()`` through ``torch.save``/``torch.load`` into a
  fresh instance continues on exactly the same trajectory, loading into the
  existing storages;
* **tensor hyperparameters** -- ``lr`` and ``weight_decay`` held as 0-d tensors (as
  schedulers write them), changed in place mid-run, give the trajectory of the
  same values held as floats;
* **global step** -- with ``enable_global_step`` (when the class takes it, or keeps
  a ``step`` state of its own) a 0-d float32 counter per parameter counts steps;
* **parameter groups** -- several groups with their own hyperparameters match
  one optimizer per group, bitwise, and ``add_param_group`` creates the new
  parameters' state without touching the existing one;
* **error inputs** -- each :class:`ErrorInput` raises its exception, with a
  message matching its regex;
* **mismatched state dict** -- a state dict of another layout raises
  ``ValueError`` and leaves the optimizer exactly as it was;
* **no host sync** -- ``step()`` calls none of ``.item()``, ``bool(tensor)``,
  ``float(tensor)``, ``.tolist()``... (checked with a ``TorchFunctionMode``);
* **compiled step** (opt-out, marked ``compile``) -- ``torch.compile(opt.step,
  fullgraph=True)`` has no graph break, compiles once over several steps while a
  tensor ``lr`` changes, and matches the eager trajectory.

Scheduler checks (each configuration): the value after ``k`` steps equals that of
a fresh scheduler built with ``last_epoch=k-1`` and of one loaded from the state
dict (closed form); values are 0-d tensors written in place into tensor-valued
groups (same storage); ``param_group_tags`` restrict the groups written;
``state_dict`` round trip continues identically; no host sync; and an optimizer
step plus a scheduler step compile once with ``fullgraph=True``.

Plain functions::

    from waferopt.core.testing import OptimizerInfo, ErrorInput, check_optimizer

    check_optimizer(OptimizerInfo(MyOpt, configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1}],
                                  error_inputs=[ErrorInput({"lr": -1.0}, match="lr")]))

As pytest tests (one test per check and configuration)::

    # test_conformance.py
    from waferopt.core.testing import OptimizerInfo, SchedulerInfo, conformance_tests

    TestConformance = conformance_tests(
        optimizers=[OptimizerInfo(MyOpt, configs=[{"lr": 1e-2}])],
        schedulers=[SchedulerInfo(MyLR, configs=[{"total_iters": 10}])],
    )

Load the pytest plugin (it registers the ``compile`` marker and the
``--waferopt-skip-compile`` option) with ``-p waferopt.core.testing`` in your
``addopts``, or ``pytest_plugins = ["waferopt.core.testing"]`` in your root
``conftest.py``. Environment: ``WAFEROPT_SKIP_COMPILE=1`` skips the compiled
checks, ``WAFEROPT_TEST_DEVICE=cuda`` runs every check on another device.

References:
    PyTorch, ``torch/testing/_internal/common_optimizers.py`` (``OptimizerInfo``).
"""

from __future__ import annotations

import copy
import inspect
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from .optimizer import Optimizer
from .scheduler import Scheduler, read_group_value

__all__ = [
    "OPTIMIZER_CHECKS",
    "SCHEDULER_CHECKS",
    "ErrorInput",
    "NotApplicable",
    "OptimizerInfo",
    "ReferenceSGD",
    "SchedulerInfo",
    "check_optimizer",
    "check_scheduler",
    "conformance_tests",
    "no_host_sync",
]


# ---------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class ErrorInput:
    """A constructor call that must fail.

    Args:
        kwargs: constructor keyword arguments (everything but the params or the
            optimizer).
        match: a regex searched (``re.search``) in the exception message.
        error: the exception type expected.
        description: what the case is about (used in failure messages).
    """

    kwargs: Mapping[str, Any]
    match: str
    error: type[BaseException] = ValueError
    description: str = ""


@dataclass
class OptimizerInfo:
    """What the kit needs to know about an optimizer class.

    Args:
        cls: the optimizer class (a subclass of ``waferopt.core.Optimizer``).
        configs: constructor keyword arguments to try, one dict each. Give at
            least one with a non-zero ``weight_decay`` so that the tensor check
            of ``weight_decay`` means something.
        error_inputs: constructor calls that must raise.
        shapes: shapes of the parameters the checks build.
        steps: optimizer steps per check.
        tensor_hyperparams: group keys checked as 0-d tensors (those present in
            the group as a number).
        rtol, atol: tolerance of the tensor-versus-float and compiled-versus-eager
            comparisons (``None``: ``torch.testing.assert_close`` defaults).
            Resume and parameter groups are compared bitwise.
        global_step_counts_steps: the optimizer advances its ``step`` state once
            per ``step()``; set False when it keeps a counter that only the user
            advances (through ``increment_global_step``).
        compile: run the compiled-step check.
        compile_configs: indices in ``configs`` to compile (keep it small).
        compile_backend: ``torch.compile`` backend; ``"eager"`` (the default) runs
            Dynamo only, which is what finds graph breaks and recompiles, fast.
        known_failures: ``{check name: reason}`` for checks the class is known to
            fail (``"no_host_sync"``, ``"compiled_step"``...): pytest marks them
            ``xfail(strict=True)`` (so a fix is noticed), :func:`check_optimizer`
            reports them as skipped.
        name: test id (default: the class name).
    """

    cls: type
    configs: Sequence[Mapping[str, Any]] = ({},)
    error_inputs: Sequence[ErrorInput] = ()
    shapes: Sequence[tuple[int, ...]] = ((5, 4), (4,), (2, 3, 4))
    steps: int = 4
    tensor_hyperparams: Sequence[str] = ("lr", "weight_decay")
    rtol: float | None = None
    atol: float | None = None
    global_step_counts_steps: bool = True
    compile: bool = True
    compile_configs: Sequence[int] = (0,)
    compile_backend: str = "eager"
    known_failures: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None

    @property
    def id(self) -> str:
        return self.name or self.cls.__name__


SchedulerConfig = Mapping[str, Any] | Callable[[Optimizer], Mapping[str, Any]]


@dataclass
class SchedulerInfo:
    """What the kit needs to know about a scheduler class.

    Args:
        cls: the scheduler class (a subclass of ``waferopt.core.Scheduler``).
        configs: constructor keyword arguments (all but the optimizer), one dict
            each, or a callable ``f(optimizer) -> dict`` for schedulers that take
            other schedulers.
        error_inputs: constructor calls that must raise.
        factory: ``f(cls, optimizer, kwargs) -> scheduler``; default
            ``cls(optimizer, **kwargs)``.
        group_defaults: extra hyperparameters the test optimizer's groups hold
            (``{"momentum": 0.9}`` for a momentum scheduler); the groups always
            hold ``lr=0.1`` and ``weight_decay=0.01``.
        steps: scheduler steps per check.
        closed_form: the value at step ``k`` depends on ``k`` alone (compare a
            fresh scheduler built with ``last_epoch=k-1``); False for a schedule
            the spec defines recursively.
        compile: run the compiled-step check.
        compile_configs: indices in ``configs`` to compile.
        compile_backend: ``torch.compile`` backend (``"eager"``: Dynamo only).
        torch_load_weights_only: load state dicts with ``torch.load(...,
            weights_only=True)`` as torch's default does.
        known_failures: ``{check name: reason}``, as for :class:`OptimizerInfo`.
        name: test id (default: the class name).
    """

    cls: type
    configs: Sequence[SchedulerConfig] = ({},)
    error_inputs: Sequence[ErrorInput] = ()
    factory: Callable[[type, Optimizer, dict[str, Any]], Scheduler] | None = None
    group_defaults: Mapping[str, Any] = field(default_factory=dict)
    steps: int = 12
    closed_form: bool = True
    compile: bool = True
    compile_configs: Sequence[int] = (0,)
    compile_backend: str = "eager"
    torch_load_weights_only: bool = True
    known_failures: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None

    @property
    def id(self) -> str:
        return self.name or self.cls.__name__


class NotApplicable(Exception):
    """Raised by a check that does not apply to the class or configuration."""


# ---------------------------------------------------------------------------- helpers
def _device(explicit: str | torch.device | None = None) -> torch.device:
    return torch.device(explicit or os.environ.get("WAFEROPT_TEST_DEVICE", "cpu"))


def _skip_compile_requested() -> bool:
    return os.environ.get("WAFEROPT_SKIP_COMPILE", "").lower() not in ("", "0", "false", "no")


def _make_params(
    shapes: Sequence[tuple[int, ...]], seed: int = 0, device: torch.device | None = None
) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    device = device or _device()
    return [torch.nn.Parameter(torch.randn(s, generator=gen).to(device)) for s in shapes]


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


# ---------------------------------------------------------------------------- host sync
_SYNC_METHODS = frozenset(
    {
        "item",
        "tolist",
        "numpy",
        "__bool__",
        "__float__",
        "__int__",
        "__index__",
        "__complex__",
        "nonzero",
        "masked_select",
        "unique",
        "unique_consecutive",
        "_local_scalar_dense",
    }
)


class _NoHostSyncMode(TorchFunctionMode):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        name = getattr(func, "__name__", "")
        if name in _SYNC_METHODS:
            raise AssertionError(
                f"{self.what} called Tensor.{name}(), which waits for the device and breaks "
                "a compiled graph; keep hyperparameters and state as tensors and use tensor ops "
                "(torch.where instead of a Python branch)"
            )
        if name in ("cpu", "to") and args and isinstance(args[0], torch.Tensor):
            src = args[0].device
            out = func(*args, **(kwargs or {}))
            if src.type != "cpu" and isinstance(out, torch.Tensor) and out.device.type == "cpu":
                raise AssertionError(f"{self.what} copied a {src.type} tensor to the host")
            return out
        return func(*args, **(kwargs or {}))


@contextmanager
def no_host_sync(what: str = "the code under test") -> Iterator[None]:
    """Fail with ``AssertionError`` on a tensor-to-host read inside the block.

    Catches ``.item()``, ``bool(t)`` (a Python ``if`` on a tensor), ``float(t)``,
    ``int(t)``, indexing with a tensor as an int, ``.tolist()``, ``.numpy()``,
    data-dependent shapes (``nonzero``, ``masked_select``, ``unique``) and a copy
    of a device tensor to the CPU.
    """
    with _NoHostSyncMode(what):
        yield


# ---------------------------------------------------------------------------- reference optimizer
class ReferenceSGD(Optimizer):
    """A plain static-step SGD the scheduler checks drive (not for training).

    θ ← θ − η·b with b ← μ·b + (g + λθ). ``lr``, ``weight_decay`` and
    ``momentum`` may be floats or 0-d tensors; extra keyword arguments become
    group defaults (so that a scheduler of any key has something to write).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 0.1,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        enable_global_step: bool = False,
        **extra: Any,
    ) -> None:
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, **extra}
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def preinitialize(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if self.enable_global_step:
                    self.increment_global_step(p)
                buf = self.state[p]["momentum_buffer"]
                buf.mul_(group["momentum"]).add_(p.grad + group["weight_decay"] * p)
                p.sub_(group["lr"] * buf)
        return loss


# ---------------------------------------------------------------------------- optimizer checks
def _build_optimizer(info: OptimizerInfo, config: Mapping[str, Any], params: Any) -> Optimizer:
    opt = info.cls(params, **dict(config))
    if not isinstance(opt, Optimizer):
        raise AssertionError(f"{info.id} is not a waferopt.core.Optimizer")
    return opt


def _run(
    opt: Optimizer, params: Sequence[torch.Tensor], steps: range, skip: Sequence[int] = ()
) -> None:
    for s in steps:
        _set_grads(params, s, skip)
        opt.step()


def check_static_step(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """State exists after construction; ``step()`` keeps its keys and storages.

    Also: parameters without a gradient keep their value and state, the others
    move and stay finite, and ``step(closure)`` returns the closure's loss.
    """
    params = _make_params(info.shapes)
    initial = [p.detach().clone() for p in params]
    opt = _build_optimizer(info, config, params)
    before = _layout(opt)
    skipped = len(params) - 1
    skipped_state = {k: v for k, v in _snapshot(opt)["state"].items() if k[1] == skipped}
    for s in range(info.steps):
        _set_grads(params, s, skip=(skipped,))
        opt.step()
        _compare_layouts(before, _layout(opt), f"{info.id}.step() (step {s + 1})")
    for i, (p, p0) in enumerate(zip(params, initial)):
        if i == skipped:
            if not torch.equal(p.detach(), p0):
                raise AssertionError(f"{info.id}.step() changed parameter {i}, whose grad is None")
            continue
        if not torch.isfinite(p.detach()).all():
            raise AssertionError(f"{info.id}.step() made parameter {i} non-finite")
        if torch.equal(p.detach(), p0):
            raise AssertionError(
                f"{info.id}.step() left parameter {i} unchanged after {info.steps} steps"
            )
    now = {k: v for k, v in _snapshot(opt)["state"].items() if k[1] == skipped}
    for key, value in skipped_state.items():
        if not _equal(value, now[key]):
            raise AssertionError(f"{info.id}.step() changed {_where(key)}, whose grad is None")

    # closure
    calls = []

    def closure() -> torch.Tensor:
        calls.append(1)
        opt.zero_grad()
        loss = torch.stack([(p * p).sum() for p in params]).sum()
        loss.backward()
        return loss

    result = opt.step(closure)
    if len(calls) != 1:
        raise AssertionError(f"{info.id}.step(closure) called the closure {len(calls)} times")
    if not isinstance(result, torch.Tensor) or result.dim() != 0:
        raise AssertionError(
            f"{info.id}.step(closure) must return the closure's loss, got {result!r}"
        )
    _compare_layouts(before, _layout(opt), f"{info.id}.step(closure)")


def check_state_dict_resume(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """Resume through ``state_dict`` (``torch.save``/``torch.load``) is bitwise exact.

    The state dict is loaded into a fresh instance on copies of the parameters,
    into its existing state storages; both then take the same steps.
    """
    pa = _make_params(info.shapes)
    a = _build_optimizer(info, config, pa)
    half = max(1, info.steps // 2)
    _run(a, pa, range(half))
    saved = _save_load(a.state_dict())
    pb = _clone_params(pa)
    b = _build_optimizer(info, config, pb)
    layout = _layout(b)
    b.load_state_dict(saved)
    _compare_layouts(layout, _layout(b), f"{info.id}.load_state_dict")
    _assert_same_snapshot(_snapshot(a), _snapshot(b), f"{info.id}: right after load_state_dict")
    _run(a, pa, range(half, half + info.steps))
    _run(b, pb, range(half, half + info.steps))
    _assert_same_snapshot(
        _snapshot(a), _snapshot(b), f"{info.id}: resumed run vs uninterrupted run"
    )


def check_tensor_hyperparams(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """A 0-d tensor ``lr`` / ``weight_decay`` gives the trajectory of the float.

    The tensor is written into every group after construction (as a scheduler
    does) and changed in place mid-run; the float run changes its float at the
    same step. The optimizer must read the tensor each step and never replace it.
    """
    probe = _build_optimizer(info, config, _make_params(info.shapes))
    keys = [k for k in info.tensor_hyperparams if _is_number(probe.param_groups[0].get(k))]
    if not keys:
        raise NotApplicable(f"no group key among {list(info.tensor_hyperparams)} holds a number")
    for key in keys:
        value = _f32(probe.param_groups[0][key])
        changed = _f32(value * 0.5)
        pf, pt = _make_params(info.shapes), _make_params(info.shapes)
        of = _build_optimizer(info, config, pf)
        for group in of.param_groups:
            group[key] = value
        kwargs = dict(config)
        if _is_number(kwargs.get(key)):  # the constructor accepts a tensor too
            kwargs[key] = _f32_tensor(kwargs[key])
        ot = _build_optimizer(info, kwargs, pt)
        tensors = []
        for group in ot.param_groups:
            group[key] = _f32_tensor(value)
            tensors.append(group[key])
        half = max(1, info.steps // 2)
        _run(of, pf, range(half))
        _run(ot, pt, range(half))
        for group, tensor in zip(of.param_groups, tensors):
            group[key] = changed
            tensor.fill_(changed)
        _run(of, pf, range(half, info.steps + 1))
        _run(ot, pt, range(half, info.steps + 1))
        for gi, (group, tensor) in enumerate(zip(ot.param_groups, tensors)):
            if group[key] is not tensor:
                raise AssertionError(
                    f"{info.id}.step() replaced the tensor {key!r} of group {gi}; "
                    "it must read it (a scheduler updates it in place)"
                )
        _assert_close_snapshot(
            _snapshot(of),
            _snapshot(ot),
            f"{info.id}: {key} as a 0-d tensor vs as a float",
            info.rtol,
            info.atol,
        )


def check_global_step(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """``enable_global_step`` keeps a 0-d float32 ``step`` per parameter that counts steps."""
    accepts = _accepts(info.cls, "enable_global_step")
    kwargs = {**config, "enable_global_step": True} if accepts else dict(config)
    params = _make_params(info.shapes)
    opt = _build_optimizer(info, kwargs, params)
    has = [("step" in opt.state.get(p, {})) for p in params]
    if not accepts and not any(has):
        raise NotApplicable(f"{info.id} takes no enable_global_step and keeps no step state")
    if not all(has):
        raise AssertionError(
            f"{info.id}: enable_global_step=True but some parameters have no 'step' state"
        )
    if not opt.enable_global_step:
        raise AssertionError(f"{info.id} keeps a 'step' state but its enable_global_step is False")
    for i, p in enumerate(params):
        step = opt.state[p]["step"]
        if not (isinstance(step, torch.Tensor) and step.dim() == 0 and step.dtype == torch.float32):
            raise AssertionError(
                f"{info.id}: 'step' of parameter {i} must be a 0-d float32 tensor, got {step!r}"
            )
        if step.device != p.device or float(step) != 0.0:
            raise AssertionError(
                f"{info.id}: 'step' of parameter {i} must start at 0 on the parameter's device"
            )
    _run(opt, params, range(info.steps))
    if info.global_step_counts_steps:
        counts = [float(opt.state[p]["step"]) for p in params]
        if counts != [float(info.steps)] * len(params):
            raise AssertionError(
                f"{info.id}: after {info.steps} steps the 'step' states are {counts}"
            )
    step = opt.state[params[0]]["step"]
    was = float(step)
    returned = opt.increment_global_step(params[0])
    if returned is not step or float(step) != was + 1:
        raise AssertionError(
            f"{info.id}.increment_global_step must add 1 in place and return the state tensor"
        )


def check_param_groups(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """Several groups equal one optimizer per group, and ``add_param_group`` keeps old state.

    The second group has half the learning rate, its own weight decay and tags.
    """
    probe = _build_optimizer(info, config, _make_params(info.shapes))
    defaults = probe.param_groups[0]
    override: dict[str, Any] = {}
    if _is_number(defaults.get("lr")):
        override["lr"] = defaults["lr"] * 0.5
    if _is_number(defaults.get("weight_decay")):
        override["weight_decay"] = defaults["weight_decay"] + 0.01
    split = max(1, len(info.shapes) - 1)

    params = _make_params(info.shapes)
    groups = [
        {"params": params[:split], "tags": "first"},
        {"params": params[split:], "tags": ["second", "last"], **override},
    ]
    opt = _build_optimizer(info, config, groups)
    if opt.param_groups[1]["tags"] != {"second", "last"}:
        raise AssertionError(f"{info.id}: group tags must be normalised to a set")
    ref_params = _make_params(info.shapes)
    ref0 = _build_optimizer(info, config, ref_params[:split])
    ref1 = _build_optimizer(info, {**config, **override}, ref_params[split:])
    for s in range(info.steps):
        _set_grads(params, s)
        _set_grads(ref_params, s)
        opt.step()
        ref0.step()
        ref1.step()
    for i, (p, r) in enumerate(zip(params, ref_params)):
        if not torch.equal(p.detach(), r.detach()):
            raise AssertionError(
                f"{info.id}: parameter {i} with two groups differs from one optimizer per group"
            )

    # add_param_group after some steps: old state untouched, new state created up front
    params = _make_params(info.shapes)
    opt = _build_optimizer(info, config, params[:split])
    ref_params = _make_params(info.shapes)
    ref0 = _build_optimizer(info, config, ref_params[:split])
    for s in range(2):
        _set_grads(params[:split], s)
        _set_grads(ref_params[:split], s)
        opt.step()
        ref0.step()
    before = _layout(opt)
    before_values = _snapshot(opt)
    opt.add_param_group({"params": params[split:], **override})
    after = _layout(opt)
    old = {k: v for k, v in after.items() if k[0] == 0}
    _compare_layouts(before, old, f"{info.id}.add_param_group (existing group)")
    now = _snapshot(opt)
    for key, value in before_values["state"].items():
        if not _equal(value, now["state"][key]):
            raise AssertionError(f"{info.id}.add_param_group reset {_where(key)}")
    layout = _layout(opt)
    ref1 = _build_optimizer(info, {**config, **override}, ref_params[split:])
    want = {(1, pi, key) for (_, pi, key) in _layout(ref1)}
    got = {k for k in layout if k[0] == 1}
    if want != got:
        raise AssertionError(
            f"{info.id}.add_param_group created state {sorted(got)} for the new group; "
            f"a new optimizer on those parameters has {sorted(want)}"
        )
    for s in range(2, 2 + info.steps):
        _set_grads(params, s)
        _set_grads(ref_params, s)
        opt.step()
        ref0.step()
        ref1.step()
    _compare_layouts(layout, _layout(opt), f"{info.id}.step() after add_param_group")
    for i, (p, r) in enumerate(zip(params, ref_params)):
        if not torch.equal(p.detach(), r.detach()):
            raise AssertionError(
                f"{info.id}: parameter {i} after add_param_group differs from one optimizer per group"
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


def check_error_inputs(info: OptimizerInfo) -> None:
    """Each :class:`ErrorInput` raises its exception with a matching message."""
    _check_error_inputs(info, lambda kwargs: info.cls(_make_params(info.shapes), **kwargs))


def check_mismatched_state_dict(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """A state dict of another layout raises ``ValueError``; nothing changes.

    Tried: one parameter fewer, one group more, a state tensor of another shape,
    and a missing state key on the last parameter (so that a loader that copies
    before it has checked everything is caught).
    """
    params = _make_params(info.shapes)
    opt = _build_optimizer(info, config, params)
    _run(opt, params, range(2))
    own = opt.state_dict()

    def stepped(shapes: Sequence[tuple[int, ...]], groups: bool = False) -> dict[str, Any]:
        ps = _make_params(shapes, seed=7)
        spec: Any = [{"params": ps[:1]}, {"params": ps[1:]}] if groups else ps
        other = _build_optimizer(info, config, spec)
        _run(other, ps, range(3))
        return other.state_dict()

    cases = {
        "one parameter fewer": stepped(info.shapes[:-1]),
        "two groups": stepped(info.shapes, groups=True),
    }
    has_tensor_state = any(
        isinstance(v, torch.Tensor) and v.dim() > 0 for v in opt.state[params[0]].values()
    )
    if has_tensor_state:
        first = tuple(info.shapes[0])
        other_shape = (first[0] + 1, *first[1:])
        cases["a state tensor of another shape"] = stepped([other_shape, *info.shapes[1:]])
    last_state = own["state"].get(len(params) - 1, {})
    if last_state:
        broken = copy.deepcopy(own)
        broken["state"][len(params) - 1].pop(next(iter(last_state)))
        for state in broken["state"].values():  # values that would show a partial copy
            for k, v in state.items():
                if isinstance(v, torch.Tensor) and v.is_floating_point():
                    state[k] = v + 1.0
        cases["a missing state key"] = broken

    before, layout = _snapshot(opt), _layout(opt)
    for what, sd in cases.items():
        _raises(
            ValueError,
            "",
            lambda sd=sd: opt.load_state_dict(sd),
            f"{info.id}.load_state_dict({what})",
        )
        _compare_layouts(layout, _layout(opt), f"{info.id}.load_state_dict({what})")
        _assert_same_snapshot(
            before, _snapshot(opt), f"{info.id}.load_state_dict({what}) changed the optimizer"
        )


def check_no_host_sync_step(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """``step()`` with tensor ``lr`` / ``weight_decay`` never reads a tensor on the host."""
    params = _make_params(info.shapes)
    opt = _build_optimizer(info, config, params)
    _tensor_hyperparams(opt, info.tensor_hyperparams)
    for s in range(2):
        _set_grads(params, s)
        with no_host_sync(f"{info.id}.step()"):
            opt.step()


def check_compiled_step(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """``torch.compile(opt.step, fullgraph=True)`` compiles once and matches eager.

    The learning rate is a 0-d tensor changed in place between steps.
    """
    if _skip_compile_requested():
        raise NotApplicable("WAFEROPT_SKIP_COMPILE is set")
    runs = []
    for compiled in (False, True):
        params = _make_params(info.shapes)
        opt = _build_optimizer(info, config, params)
        _tensor_hyperparams(opt, info.tensor_hyperparams)
        lrs = [g["lr"] for g in opt.param_groups if isinstance(g.get("lr"), torch.Tensor)]
        backend = _CountingBackend(info.compile_backend)
        with _fresh_dynamo():
            step = (
                torch.compile(opt.step, backend=backend, fullgraph=True) if compiled else opt.step
            )
            for s in range(info.steps):
                _set_grads(params, s)
                try:
                    step()
                except Exception as exc:
                    if not compiled:
                        raise
                    raise AssertionError(
                        f"{info.id}.step() does not compile with fullgraph=True "
                        f"(a graph break): {type(exc).__name__}: {exc}"
                    ) from exc
                for lr in lrs:
                    lr.mul_(0.9)
        if compiled and backend.frames != 1:
            raise AssertionError(
                f"{info.id}.step() compiled {backend.frames} times over {info.steps} steps "
                "(expected once; run with TORCH_LOGS=recompiles to see the guard that failed)"
            )
        runs.append(_snapshot(opt))
    _assert_close_snapshot(
        runs[0], runs[1], f"{info.id}: compiled vs eager step", info.rtol, info.atol
    )


OPTIMIZER_CHECKS: dict[str, Callable[[OptimizerInfo, Mapping[str, Any]], None]] = {
    "static_step": check_static_step,
    "state_dict_resume": check_state_dict_resume,
    "tensor_hyperparams": check_tensor_hyperparams,
    "global_step": check_global_step,
    "param_groups": check_param_groups,
    "mismatched_state_dict": check_mismatched_state_dict,
    "no_host_sync": check_no_host_sync_step,
}
"""Checks run on every configuration (``check_compiled_step`` and
``check_error_inputs`` are run separately: per compile configuration and per class)."""


# ---------------------------------------------------------------------------- scheduler checks
def _scheduler_optimizer(
    info: SchedulerInfo, tensors: bool = False, tags: Sequence[Any] = ()
) -> ReferenceSGD:
    params = _make_params([(3, 2), (2,)])
    defaults = {"lr": 0.1, "weight_decay": 0.01, **info.group_defaults}
    if tags:
        spec: Any = [{"params": [p], "tags": t} for p, t in zip(params, tags)]
    else:
        spec = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05, "weight_decay": 0.02}]
    opt = ReferenceSGD(spec, **defaults)
    if tensors:
        for group in opt.param_groups:
            for key, value in list(group.items()):
                if _is_number(value):
                    group[key] = _f32_tensor(value)
                elif isinstance(value, tuple) and all(map(_is_number, value)):
                    group[key] = tuple(map(_f32_tensor, value))
    return opt


def _scheduler_kwargs(config: SchedulerConfig, opt: Optimizer) -> dict[str, Any]:
    return dict(config(opt) if callable(config) else config)


def _build_scheduler(info: SchedulerInfo, opt: Optimizer, kwargs: dict[str, Any]) -> Scheduler:
    sched = info.factory(info.cls, opt, kwargs) if info.factory else info.cls(opt, **kwargs)
    if not isinstance(sched, Scheduler):
        raise AssertionError(f"{info.id} is not a waferopt.core.Scheduler")
    return sched


def _values(sched: Scheduler) -> list[Any]:
    out = []
    for group in sched.optimizer.param_groups:
        value = read_group_value(group, sched.param_group_key)
        out.append(value.detach().clone() if isinstance(value, torch.Tensor) else value)
    return out


def _assert_values_equal(a: list[Any], b: list[Any], what: str) -> None:
    for gi, (x, y) in enumerate(zip(a, b)):
        if not _equal(torch.as_tensor(x).cpu(), torch.as_tensor(y).cpu()):
            raise AssertionError(f"{what}: group {gi} holds {x!r} vs {y!r}")


def check_scheduler_closed_form(info: SchedulerInfo, config: SchedulerConfig) -> None:
    """After ``k`` steps the groups hold what a fresh scheduler at step ``k`` writes.

    The fresh scheduler is built with ``last_epoch=k-1`` (when the class takes
    it), given only ``{"last_epoch": k}`` through ``load_state_dict`` (both when
    the schedule is closed-form), and loaded from the full state dict.
    Every written value is a 0-d tensor of the scheduler's ``value_dtype``.
    """
    opt = _scheduler_optimizer(info)
    sched = _build_scheduler(info, opt, _scheduler_kwargs(config, opt))
    use_last_epoch = info.closed_form and _accepts(info.cls, "last_epoch") and not callable(config)
    for k in range(info.steps + 1):
        if k:
            sched.step()
        values = _values(sched)
        for gi, v in enumerate(values):
            if not (isinstance(v, torch.Tensor) and v.dim() == 0 and v.dtype == sched.value_dtype):
                raise AssertionError(
                    f"{info.id}: group {gi} holds {v!r} at step {k}; expected a 0-d {sched.value_dtype} tensor"
                )
        if int(sched.last_epoch) != k:
            raise AssertionError(
                f"{info.id}: last_epoch is {int(sched.last_epoch)} after {k} steps"
            )
        if use_last_epoch:
            fresh_opt = _scheduler_optimizer(info)
            fresh = _build_scheduler(
                info, fresh_opt, {**_scheduler_kwargs(config, fresh_opt), "last_epoch": k - 1}
            )
            _assert_values_equal(
                values,
                _values(fresh),
                f"{info.id}: after {k} steps vs built with last_epoch={k - 1}",
            )
        if info.closed_form:
            step_only = _scheduler_optimizer(info)
            fresh = _build_scheduler(info, step_only, _scheduler_kwargs(config, step_only))
            fresh.load_state_dict({"last_epoch": torch.tensor(k)})
            _assert_values_equal(
                values, _values(fresh), f"{info.id}: after {k} steps vs given only last_epoch={k}"
            )
        loaded_opt = _scheduler_optimizer(info)
        loaded = _build_scheduler(info, loaded_opt, _scheduler_kwargs(config, loaded_opt))
        loaded.load_state_dict(_save_load(sched.state_dict(), info.torch_load_weights_only))
        _assert_values_equal(
            values, _values(loaded), f"{info.id}: after {k} steps vs loaded from its state dict"
        )


def check_scheduler_in_place(info: SchedulerInfo, config: SchedulerConfig) -> None:
    """Values go into tensor-valued groups in place (same storage every step).

    A group that held a float gets a 0-d tensor once, then in place; a group that
    already held a 0-d tensor keeps that very tensor. Both see the same values.
    """
    opt_f = _scheduler_optimizer(info)
    opt_t = _scheduler_optimizer(info, tensors=True)
    sf = _build_scheduler(info, opt_f, _scheduler_kwargs(config, opt_f))
    held = [read_group_value(g, sf.param_group_key) for g in opt_t.param_groups]
    for gi, value in enumerate(held):
        if not isinstance(value, torch.Tensor):
            raise NotApplicable(
                f"group {gi} holds {value!r} for {sf.param_group_key!r}: not a number"
            )
    st = _build_scheduler(info, opt_t, _scheduler_kwargs(config, opt_t))
    firsts = [read_group_value(g, sf.param_group_key) for g in opt_f.param_groups]
    for k in range(info.steps + 1):
        if k:
            sf.step()
            st.step()
        for gi, (g_f, g_t) in enumerate(zip(opt_f.param_groups, opt_t.param_groups)):
            now_t = read_group_value(g_t, st.param_group_key)
            now_f = read_group_value(g_f, sf.param_group_key)
            if now_t is not held[gi] or now_t.data_ptr() != held[gi].data_ptr():
                raise AssertionError(
                    f"{info.id} replaced the tensor {st.param_group_key!r} of group {gi} at step {k} "
                    "(write it in place with copy_/fill_, or a compiled step recompiles)"
                )
            if now_f is not firsts[gi]:
                raise AssertionError(
                    f"{info.id} wrote a new object into {sf.param_group_key!r} of group {gi} at step {k}; "
                    "after the first write the group holds a tensor to update in place"
                )
            if not _equal(now_t.detach().to(now_f.dtype).cpu(), now_f.detach().cpu()):
                raise AssertionError(
                    f"{info.id}: step {k}, group {gi}: a tensor-valued group got {now_t!r}, "
                    f"a float-valued one {now_f!r}"
                )


def check_scheduler_tags(info: SchedulerInfo, config: SchedulerConfig) -> None:
    """``param_group_tags`` restrict the groups written (set intersection).

    Unmatched groups keep their value (``get_last_value`` holds None for them);
    tags that match no group raise ``ValueError``.
    """
    if callable(config) or not _accepts(info.cls, "param_group_tags"):
        raise NotApplicable(
            f"{info.id} takes no param_group_tags (or the config is built by a callable)"
        )
    base = _scheduler_kwargs(config, _scheduler_optimizer(info))
    if "param_group_tags" in base:
        raise NotApplicable("the configuration sets param_group_tags itself")
    ref_opt = _scheduler_optimizer(info)
    ref = _build_scheduler(info, ref_opt, dict(base))
    for tags, applies in (("a", [True, False]), (["c"], [False, True]), ({"a", "b"}, [True, True])):
        opt = _scheduler_optimizer(info, tags=("a", ["b", "c"]))
        key = ref.param_group_key
        original = [copy.deepcopy(read_group_value(g, key)) for g in opt.param_groups]
        sched = _build_scheduler(info, opt, {**base, "param_group_tags": tags})
        for k in range(info.steps + 1):
            if k:
                sched.step()
                if tags == "a":
                    ref.step()
            last = sched.get_last_value()
            for gi, group in enumerate(opt.param_groups):
                value = read_group_value(group, key)
                if applies[gi]:
                    want = _values(ref)[0] if tags == "a" else None
                    if not isinstance(value, torch.Tensor) or last[gi] is None:
                        raise AssertionError(
                            f"{info.id}(param_group_tags={tags!r}) did not write group {gi}"
                        )
                    if want is not None and not _equal(value.detach().cpu(), want.cpu()):
                        raise AssertionError(
                            f"{info.id}(param_group_tags={tags!r}): group {gi} holds {value!r}, "
                            f"an untagged scheduler writes {want!r}"
                        )
                else:
                    if not _equal(value, original[gi]) or last[gi] is not None:
                        raise AssertionError(
                            f"{info.id}(param_group_tags={tags!r}) wrote group {gi}, whose tags do not match"
                        )
    opt = _scheduler_optimizer(info, tags=("a", ["b", "c"]))
    _raises(
        ValueError,
        "tag",
        lambda: _build_scheduler(info, opt, {**base, "param_group_tags": "missing"}),
        f"{info.id}(param_group_tags='missing')",
    )


def check_scheduler_state_dict(info: SchedulerInfo, config: SchedulerConfig) -> None:
    """A scheduler loaded from a state dict (and its optimizer's) continues identically."""
    opt = _scheduler_optimizer(info)
    sched = _build_scheduler(info, opt, _scheduler_kwargs(config, opt))
    half = max(1, info.steps // 2)
    for _ in range(half):
        sched.step()
    saved = _save_load(sched.state_dict(), info.torch_load_weights_only)
    saved_opt = _save_load(opt.state_dict())
    opt2 = _scheduler_optimizer(info)
    sched2 = _build_scheduler(info, opt2, _scheduler_kwargs(config, opt2))
    sched2.load_state_dict(saved)  # scheduler first, then optimizer: order must not matter
    opt2.load_state_dict(saved_opt)
    _assert_values_equal(_values(sched), _values(sched2), f"{info.id}: after load_state_dict")
    for k in range(half + 1, info.steps + half + 1):
        sched.step()
        sched2.step()
        _assert_values_equal(
            _values(sched), _values(sched2), f"{info.id}: step {k} after a resume at {half}"
        )
    bad = dict(sched.state_dict())
    bad["no_such_attribute"] = 1
    before = _values(sched2)
    _raises(
        ValueError,
        "no_such_attribute",
        lambda: sched2.load_state_dict(bad),
        f"{info.id}.load_state_dict(unknown key)",
    )
    _assert_values_equal(
        before, _values(sched2), f"{info.id}: a rejected load_state_dict changed the values"
    )


def check_scheduler_no_host_sync(info: SchedulerInfo, config: SchedulerConfig) -> None:
    """``step()`` never reads a tensor on the host (no ``.item()``, no branch on a tensor)."""
    opt = _scheduler_optimizer(info, tensors=True)
    sched = _build_scheduler(info, opt, _scheduler_kwargs(config, opt))
    for _ in range(3):
        with no_host_sync(f"{info.id}.step()"):
            sched.step()


def check_scheduler_error_inputs(info: SchedulerInfo) -> None:
    """Each :class:`ErrorInput` raises its exception with a matching message."""
    _check_error_inputs(
        info, lambda kwargs: _build_scheduler(info, _scheduler_optimizer(info), dict(kwargs))
    )


def check_scheduler_compiled_step(info: SchedulerInfo, config: SchedulerConfig) -> None:
    """An optimizer step plus a scheduler step compile once with ``fullgraph=True``.

    Matches the eager run step for step.
    """
    if _skip_compile_requested():
        raise NotApplicable("WAFEROPT_SKIP_COMPILE is set")
    runs = []
    for compiled in (False, True):
        opt = _scheduler_optimizer(info, tensors=True)
        sched = _build_scheduler(info, opt, _scheduler_kwargs(config, opt))
        params = [p for g in opt.param_groups for p in g["params"]]

        def train_step(opt: Optimizer = opt, sched: Scheduler = sched) -> None:
            opt.step()
            sched.step()

        backend = _CountingBackend(info.compile_backend)
        values = []
        with _fresh_dynamo():
            step = (
                torch.compile(train_step, backend=backend, fullgraph=True)
                if compiled
                else train_step
            )
            for s in range(info.steps):
                _set_grads(params, s)
                try:
                    step()
                except Exception as exc:
                    if not compiled:
                        raise
                    raise AssertionError(
                        f"{info.id}: optimizer step + scheduler step do not compile with "
                        f"fullgraph=True (a graph break): {type(exc).__name__}: {exc}"
                    ) from exc
                values.append(_values(sched))
        if compiled and backend.frames != 1:
            raise AssertionError(
                f"{info.id}: optimizer step + scheduler step compiled {backend.frames} times over "
                f"{info.steps} steps (expected once; TORCH_LOGS=recompiles shows the failing guard)"
            )
        if int(sched.last_epoch) != info.steps:
            raise AssertionError(
                f"{info.id}: compiled steps left last_epoch at {int(sched.last_epoch)}"
            )
        runs.append(values)
    for s, (a, b) in enumerate(zip(*runs)):
        for gi, (x, y) in enumerate(zip(a, b)):
            torch.testing.assert_close(
                x, y, msg=lambda m, s=s, gi=gi: f"{info.id}: compiled step {s}, group {gi}: {m}"
            )


SCHEDULER_CHECKS: dict[str, Callable[[SchedulerInfo, SchedulerConfig], None]] = {
    "closed_form": check_scheduler_closed_form,
    "in_place": check_scheduler_in_place,
    "tags": check_scheduler_tags,
    "state_dict": check_scheduler_state_dict,
    "no_host_sync": check_scheduler_no_host_sync,
}
"""Checks run on every scheduler configuration."""


# ---------------------------------------------------------------------------- batteries
def _battery(
    infos_checks: list[tuple[str, Callable[[], None]]],
    known_failures: Mapping[str, str],
) -> list[str]:
    failures, skipped = [], []
    for what, fn in infos_checks:
        check = what.rsplit(" ", 1)[-1]
        if check in known_failures:
            skipped.append(f"{what}: known failure: {known_failures[check]}")
            continue
        try:
            fn()
        except NotApplicable as exc:
            skipped.append(f"{what}: {exc}")
        except Exception as exc:
            kind = "" if isinstance(exc, AssertionError) else f"{type(exc).__name__}: "
            failures.append(f"{what}: {kind}{exc}")
    if failures:
        raise AssertionError(
            f"{len(failures)} conformance check(s) failed:\n" + "\n".join(failures)
        )
    return skipped


def _check_all(
    info: Any,
    checks: Mapping[str, Callable[[Any, Any], None]],
    error_inputs: Callable[[Any], None],
    compiled_step: Callable[[Any, Any], None],
    compile: bool,
) -> list[str]:
    runs: list[tuple[str, Callable[[], None]]] = []
    for i, config in enumerate(info.configs):
        for name, check in checks.items():
            runs.append(
                (f"{info.id}[{i}] {name}", lambda check=check, config=config: check(info, config))
            )
    runs.append((f"{info.id} error_inputs", lambda: error_inputs(info)))
    if compile and info.compile:
        for i in info.compile_configs:
            runs.append(
                (f"{info.id}[{i}] compiled_step", lambda i=i: compiled_step(info, info.configs[i]))
            )
    return _battery(runs, info.known_failures)


def check_optimizer(info: OptimizerInfo, *, compile: bool = True) -> list[str]:
    """Run every optimizer check; raise ``AssertionError`` listing every failure.

    Returns the checks that did not apply, with the reason.
    """
    return _check_all(info, OPTIMIZER_CHECKS, check_error_inputs, check_compiled_step, compile)


def check_scheduler(info: SchedulerInfo, *, compile: bool = True) -> list[str]:
    """Run every scheduler check; raise ``AssertionError`` listing every failure.

    Returns the checks that did not apply, with the reason.
    """
    return _check_all(
        info, SCHEDULER_CHECKS, check_scheduler_error_inputs, check_scheduler_compiled_step, compile
    )


# ---------------------------------------------------------------------------- pytest
def conformance_tests(
    optimizers: Sequence[OptimizerInfo] = (),
    schedulers: Sequence[SchedulerInfo] = (),
) -> type:
    """A pytest test class running the kit: one test per check and configuration.

    Assign it to a module-level name starting with ``Test``. Compiled checks carry
    the ``compile`` marker (deselect with ``-m "not compile"``); a check that does
    not apply is reported as skipped, and one listed in ``known_failures`` is an
    ``xfail(strict=True)``.
    """
    import pytest

    namespace: dict[str, Any] = {"__doc__": "waferopt conformance kit (waferopt.core.testing)."}

    def cases(infos: Sequence[Any], check: str, indices: Callable[[Any], Sequence[int]]) -> list:
        out: list[Any] = []
        for info in infos:
            reason = info.known_failures.get(check)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.extend(
                pytest.param(info, i, id=f"{info.id}-{i}" if i >= 0 else info.id, marks=marks)
                for i in indices(info)
            )
        return out

    def add(name: str, check: Callable[..., None], params: list, compiled: bool = False) -> None:
        if not params:
            return

        def test(self: Any, request: Any, info: Any, index: int) -> None:
            if compiled and request.config.getoption("waferopt_skip_compile", default=False):
                pytest.skip("--waferopt-skip-compile")
            try:
                if index < 0:
                    check(info)
                else:
                    check(info, info.configs[index])
            except NotApplicable as exc:
                pytest.skip(str(exc))

        test.__doc__ = check.__doc__
        test.__name__ = name
        marked = pytest.mark.parametrize(("info", "index"), params)(test)
        namespace[name] = pytest.mark.compile(marked) if compiled else marked

    def every_config(info: Any) -> Sequence[int]:
        return range(len(info.configs))

    def compiled_configs(info: Any) -> Sequence[int]:
        return info.compile_configs if info.compile else ()

    for kind, infos, checks, errors, compiled in (
        ("optimizer", optimizers, OPTIMIZER_CHECKS, check_error_inputs, check_compiled_step),
        (
            "scheduler",
            schedulers,
            SCHEDULER_CHECKS,
            check_scheduler_error_inputs,
            check_scheduler_compiled_step,
        ),
    ):
        for name, check in checks.items():
            add(f"test_{kind}_{name}", check, cases(infos, name, every_config))
        # Only the classes that list error inputs get this test (no skip noise).
        add(
            f"test_{kind}_error_inputs",
            errors,
            cases(infos, "error_inputs", lambda info: (-1,) if info.error_inputs else ()),
        )
        add(
            f"test_{kind}_compiled_step",
            compiled,
            cases(infos, "compiled_step", compiled_configs),
            compiled=True,
        )
    return type("TestConformance", (), namespace)


def pytest_addoption(parser: Any) -> None:
    """pytest hook: ``--waferopt-skip-compile``."""
    parser.addoption(
        "--waferopt-skip-compile",
        action="store_true",
        dest="waferopt_skip_compile",
        help="skip the conformance kit's torch.compile checks (also: WAFEROPT_SKIP_COMPILE=1)",
    )


def pytest_configure(config: Any) -> None:
    """pytest hook: register the ``compile`` marker the kit's compiled checks carry."""
    config.addinivalue_line(
        "markers", "compile: exercises torch.compile (slow; deselect with -m 'not compile')"
    )
