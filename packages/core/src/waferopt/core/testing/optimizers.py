"""The optimizer checks of the conformance kit and :func:`check_optimizer`."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ..optimizer import Optimizer
from ..scheduler import parse_group_key
from ._battery import _check_all
from ._common import (
    _accepts,
    _assert_close_snapshot,
    _assert_same_snapshot,
    _check_error_inputs,
    _clone_params,
    _compare_layouts,
    _equal,
    _f32,
    _f32_tensor,
    _is_number,
    _layout,
    _make_params,
    _raises,
    _run_compiled,
    _save_load,
    _set_grads,
    _skip_compile_requested,
    _snapshot,
    _tensor_hyperparams,
    _where,
)
from .host_sync import no_host_sync
from .info import NotApplicable, OptimizerInfo


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
    move and stay finite, ``preinitialize()`` after steps changes nothing, and
    ``step(closure)`` returns the closure's loss.
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

    # preinitialize() again (as add_param_group does) creates nothing and resets nothing
    stepped = _snapshot(opt)
    opt.preinitialize()
    _compare_layouts(before, _layout(opt), f"{info.id}.preinitialize() after steps")
    _assert_same_snapshot(stepped, _snapshot(opt), f"{info.id}: preinitialize() after steps")

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
    into its existing state storages; both then take the same steps. The run before
    the save leaves the last parameter without a gradient for its first steps (so the
    parameters' step counts differ). It runs for each dtype of ``info.dtypes``, again
    with the hyperparameters of ``tensor_hyperparams`` held as 0-d tensors (as a
    scheduler writes them), and once with the parameters in two param groups.
    """
    # Steps before the save: ``skipped`` with the last parameter left out, then
    # ``together``; ``info.steps`` after it (9, 3 and 8 for ``steps=8``, so a rule that
    # switches branches after a few steps, as RAdam's rectification does, is saved past
    # the switch).
    skipped, together = info.steps + 1, max(1, info.steps // 2 - 1)
    last = len(info.shapes) - 1
    split = max(1, last)
    variants = [(dtype, tensors, False) for tensors in (False, True) for dtype in info.dtypes]
    variants.append((torch.float32, False, True))
    for dtype, tensors, grouped in variants:
        what = f"{info.id} ({dtype}" + (", tensor hyperparameters" if tensors else "")
        what += ", two param groups)" if grouped else ")"

        def build(ps: list[torch.nn.Parameter], tensors: bool = tensors, grouped: bool = grouped):
            spec: Any = [{"params": ps[:split]}, {"params": ps[split:]}] if grouped else ps
            opt = _build_optimizer(info, config, spec)
            if tensors:
                _tensor_hyperparams(opt, info.tensor_hyperparams)
            return opt

        pa = _make_params(info.shapes, dtype=dtype)
        a = build(pa)
        _run(a, pa, range(skipped), skip=(last,))
        _run(a, pa, range(skipped, skipped + together))
        saved = _save_load(a.state_dict())
        pb = _clone_params(pa)
        b = build(pb)
        layout = _layout(b)
        b.load_state_dict(saved)
        _compare_layouts(layout, _layout(b), f"{what}: load_state_dict")
        _assert_same_snapshot(_snapshot(a), _snapshot(b), f"{what}: right after load_state_dict")
        after = range(skipped + together, skipped + together + info.steps)
        _run(a, pa, after)
        _run(b, pb, after)
        _assert_same_snapshot(
            _snapshot(a), _snapshot(b), f"{what}: resumed run vs uninterrupted run"
        )


def _get(group: Mapping[str, Any], key: str) -> Any:
    """``group[key]``, or an element of it for ``"betas[0]"``; None when absent."""
    name, index = parse_group_key(key)
    value = group.get(name)
    if index is None or value is None:
        return value
    return value[index] if isinstance(value, (list, tuple)) and index < len(value) else None


def _set(group: dict[str, Any], key: str, value: Any) -> None:
    """Set ``group[key]`` (an element of a tuple or list: a new sequence of the same type)."""
    name, index = parse_group_key(key)
    if index is None:
        group[name] = value
        return
    seq = list(group[name])
    seq[index] = value
    group[name] = type(group[name])(seq)


def check_tensor_hyperparams(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """A 0-d tensor ``lr`` / ``weight_decay`` (or any key of ``tensor_hyperparams``, an
    element such as ``"betas[0]"`` too) gives the trajectory of the float.

    The tensor is written into every group after construction (as a scheduler
    does) and changed in place mid-run; the float run changes its float at the
    same step. The optimizer must read the tensor each step and never replace it.
    """
    probe = _build_optimizer(info, config, _make_params(info.shapes))
    keys = [k for k in info.tensor_hyperparams if _is_number(_get(probe.param_groups[0], k))]
    if not keys:
        raise NotApplicable(f"no group key among {list(info.tensor_hyperparams)} holds a number")
    for key in keys:
        value = _f32(_get(probe.param_groups[0], key))
        changed = _f32(value * 0.5)
        pf, pt = _make_params(info.shapes), _make_params(info.shapes)
        of = _build_optimizer(info, config, pf)
        for group in of.param_groups:
            _set(group, key, value)
        kwargs = dict(config)
        if _is_number(kwargs.get(key)):  # the constructor accepts a tensor too
            kwargs[key] = _f32_tensor(kwargs[key])
        ot = _build_optimizer(info, kwargs, pt)
        tensors = []
        for group in ot.param_groups:
            _set(group, key, _f32_tensor(value))
            tensors.append(_get(group, key))
        half = max(1, info.steps // 2)
        _run(of, pf, range(half))
        _run(ot, pt, range(half))
        for group, tensor in zip(of.param_groups, tensors):
            _set(group, key, changed)
            tensor.fill_(changed)
        _run(of, pf, range(half, info.steps + 1))
        _run(ot, pt, range(half, info.steps + 1))
        for gi, (group, tensor) in enumerate(zip(ot.param_groups, tensors)):
            if _get(group, key) is not tensor:
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


def check_error_inputs(info: OptimizerInfo) -> None:
    """Each :class:`ErrorInput` raises its exception with a matching message."""
    _check_error_inputs(info, lambda kwargs: info.cls(_make_params(info.shapes), **kwargs))


def check_empty_params(info: OptimizerInfo) -> None:
    """An empty parameter list raises ``ValueError`` saying so (``"empty"``), as
    ``torch.optim`` does, with the first configuration's other arguments."""
    config = dict(info.configs[0]) if info.configs else {}
    _raises(ValueError, "empty", lambda: info.cls([], **config), f"{info.id}([])")


def check_sparse_gradient(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """A sparse gradient makes ``step()`` raise ``ValueError`` naming it (``"sparse"``),
    and the step changes nothing: parameters, state and hyperparameters stay as they were.

    The sparse gradient sits on the last parameter (the others have dense ones), so a
    step that updates before it has looked at every gradient is caught. An optimizer
    that supports sparse gradients lists ``"sparse_gradient"`` in its
    ``known_failures``.
    """
    params = _make_params(info.shapes)
    opt = _build_optimizer(info, config, params)
    _run(opt, params, range(1))
    _set_grads(params, 1)
    last = params[-1]
    last.grad = last.grad.to_sparse()  # type: ignore[union-attr]
    before = _snapshot(opt)
    _raises(ValueError, "sparse", opt.step, f"{info.id}.step() with a sparse gradient")
    _assert_same_snapshot(
        before, _snapshot(opt), f"{info.id}.step() with a sparse gradient changed the optimizer"
    )


def _strided_like(p: torch.Tensor, index: int) -> torch.Tensor:
    """``p``'s values in another memory layout: every other tensor a dense one with its
    dimensions' strides reversed (what a transposed weight has), the others a view
    that skips every other element of its last dimension (not dense: a slice)."""
    if index % 2 == 0 and p.dim() >= 2:
        dims = list(range(p.dim()))[::-1]
        return p.detach().permute(dims).contiguous().permute(dims)
    wide = torch.zeros(*p.shape[:-1], 2 * p.shape[-1], dtype=p.dtype, device=p.device)
    view = wide[..., ::2]
    view.copy_(p.detach())
    return view


def check_memory_layouts(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """Parameters in other memory layouts step as contiguous ones with the same values.

    One run holds every parameter as a contiguous tensor; the other holds the same
    values as non-contiguous tensors: dense ones with reversed strides (a transposed
    weight) and slices that skip every other element (not dense), with gradients laid
    out as autograd lays them out (a dense parameter's strides, else contiguous).
    After the steps the parameters and the state must match (``info.rtol`` /
    ``info.atol``): a kernel that walks memory as if every operand were contiguous
    (torch's fused CPU kernels do) pairs the wrong elements and is caught.
    """
    plain = _make_params(info.shapes)
    strided = [torch.nn.Parameter(_strided_like(p, i)) for i, p in enumerate(_clone_params(plain))]
    if all(p.is_contiguous() for p in strided):
        raise NotApplicable("every parameter of info.shapes is a scalar")
    runs = []
    for params in (plain, strided):
        opt = _build_optimizer(info, config, params)
        for s in range(info.steps):
            _set_grads(params, s)
            for p in params:
                grad = p.grad
                assert grad is not None
                # the gradient layout autograd gives: the param's strides when dense
                p.grad = torch.empty_like(p).copy_(grad)
            opt.step()
        runs.append(_snapshot(opt))
    _assert_close_snapshot(
        runs[0],
        runs[1],
        f"{info.id}: parameters in other memory layouts vs contiguous ones",
        info.rtol,
        info.atol,
    )


def check_mismatched_state_dict(info: OptimizerInfo, config: Mapping[str, Any]) -> None:
    """A state dict of another layout raises ``ValueError`` saying what does not fit
    (parameters, groups, shape, the missing or unexpected key); nothing changes.

    Tried: one parameter fewer, one group more, a state tensor of another shape,
    and a missing and an unexpected state key on the last parameter (so that a
    loader that copies before it has checked everything is caught). After the failed
    loads the optimizer steps exactly as a twin that never saw them.
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

    # what each message must name (a regex, case-insensitive)
    cases = {
        "one parameter fewer": (stepped(info.shapes[:-1]), "param"),
        "two groups": (stepped(info.shapes, groups=True), "group"),
    }
    has_tensor_state = any(
        isinstance(v, torch.Tensor) and v.dim() > 0 for v in opt.state[params[0]].values()
    )
    if has_tensor_state:
        first = tuple(info.shapes[0])
        other_shape = (first[0] + 1, *first[1:])
        cases["a state tensor of another shape"] = (
            stepped([other_shape, *info.shapes[1:]]),
            "shape",
        )
    last_state = own["state"].get(len(params) - 1, {})
    if last_state:
        broken = copy.deepcopy(own)
        removed = next(iter(last_state))
        broken["state"][len(params) - 1].pop(removed)
        for state in broken["state"].values():  # values that would show a partial copy
            for k, v in state.items():
                if isinstance(v, torch.Tensor) and v.is_floating_point():
                    state[k] = v + 1.0
        cases["a missing state key"] = (broken, f"missing|{re.escape(str(removed))}")
        extra = copy.deepcopy(own)
        like = next((v for v in last_state.values() if isinstance(v, torch.Tensor)), None)
        extra["state"][len(params) - 1]["an_unexpected_key"] = (
            torch.zeros(()) if like is None else like.clone()
        )
        cases["an unexpected state key"] = (extra, "unexpected|an_unexpected_key")

    before, layout = _snapshot(opt), _layout(opt)
    for what, (sd, names) in cases.items():
        _raises(
            ValueError,
            f"(?i){names}",
            lambda sd=sd: opt.load_state_dict(sd),
            f"{info.id}.load_state_dict({what})",
        )
        _compare_layouts(layout, _layout(opt), f"{info.id}.load_state_dict({what})")
        _assert_same_snapshot(
            before, _snapshot(opt), f"{info.id}.load_state_dict({what}) changed the optimizer"
        )
    twin_params = _make_params(info.shapes)
    twin = _build_optimizer(info, config, twin_params)
    _run(twin, twin_params, range(2))
    _run(opt, params, range(2, 2 + info.steps))
    _run(twin, twin_params, range(2, 2 + info.steps))
    _assert_same_snapshot(
        _snapshot(twin), _snapshot(opt), f"{info.id}: steps after the failed loads vs a twin"
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

        def lower_lr(lrs: list[torch.Tensor] = lrs) -> None:
            for lr in lrs:
                lr.mul_(0.9)

        _run_compiled(
            opt.step,
            params,
            info.steps,
            compiled=compiled,
            backend=info.compile_backend,
            what=f"{info.id}.step()",
            after_each=lower_lr,
        )
        runs.append(_snapshot(opt))
    _assert_close_snapshot(
        runs[0], runs[1], f"{info.id}: compiled vs eager step", info.rtol, info.atol
    )


OPTIMIZER_CLASS_CHECKS: dict[str, Callable[[OptimizerInfo], None]] = {
    "error_inputs": check_error_inputs,
    "empty_params": check_empty_params,
}
"""Checks run once per class (``error_inputs`` only for a class that lists some)."""

OPTIMIZER_CHECKS: dict[str, Callable[[OptimizerInfo, Mapping[str, Any]], None]] = {
    "static_step": check_static_step,
    "state_dict_resume": check_state_dict_resume,
    "tensor_hyperparams": check_tensor_hyperparams,
    "global_step": check_global_step,
    "param_groups": check_param_groups,
    "mismatched_state_dict": check_mismatched_state_dict,
    "no_host_sync": check_no_host_sync_step,
    "sparse_gradient": check_sparse_gradient,
    "memory_layouts": check_memory_layouts,
}
"""Checks run on every configuration (``check_compiled_step`` runs per compile
configuration, :data:`OPTIMIZER_CLASS_CHECKS` once per class)."""


def check_optimizer(info: OptimizerInfo, *, compile: bool = True) -> list[str]:
    """Run every optimizer check; raise ``AssertionError`` listing every failure.

    Returns the checks that did not apply, with the reason.
    """
    return _check_all(info, OPTIMIZER_CHECKS, OPTIMIZER_CLASS_CHECKS, check_compiled_step, compile)
