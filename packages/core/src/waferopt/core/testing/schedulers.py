"""The scheduler checks of the conformance kit and :func:`check_scheduler`."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..optimizer import Optimizer
from ..scheduler import Scheduler, read_group_value
from ._battery import _check_all
from ._common import (
    _accepts,
    _check_error_inputs,
    _equal,
    _f32_tensor,
    _is_number,
    _make_params,
    _raises,
    _run_compiled,
    _save_load,
    _skip_compile_requested,
)
from .host_sync import no_host_sync
from .info import NotApplicable, SchedulerConfig, SchedulerInfo
from .reference import ReferenceSGD


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


class _Dispatched(TorchDispatchMode):
    """Records the name of every op dispatched (on any device)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.ops.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


_EAGER_STEPS_CHECKED = (997, 1000, 4096, 10**5, 10**6 + 3)


def check_scheduler_eager_step(info: SchedulerInfo, config: SchedulerConfig) -> None:
    """An eager step writes each param group at most once, in place; a schedule with a
    host form does nothing else, and its host form agrees with its traced form.

    Every scheduler: an eager ``step()`` dispatches at most one in-place write
    (``fill_`` / ``copy_``) per param group. A scheduler with a host form (written with
    :mod:`waferopt.core.schedule`, or a composite of such) dispatches nothing but those
    writes (one kernel per group on a GPU), and at steps ``0..steps`` and a few large
    ones its value in Python floats equals the one computed with tensor ops (what a
    compiled step writes), to one float32 ulp.
    """
    opt = _scheduler_optimizer(info, tensors=True)
    sched = _build_scheduler(info, opt, _scheduler_kwargs(config, opt))
    host_form = bool(getattr(sched, "_host_ok", False))
    groups = len(opt.param_groups)
    for k in range(1, info.steps + 1):
        with _Dispatched() as mode:
            sched.step()
        writes = [op for op in mode.ops if op in ("fill_", "copy_")]
        if len(writes) > groups or (host_form and len(writes) != len(mode.ops)):
            raise AssertionError(
                f"{info.id}: eager step {k} dispatched {mode.ops}; expected at most one "
                f"in-place write per param group ({groups} groups)"
                + (" and nothing else (it has a host form)" if host_form else "")
            )
    if not host_form:
        return
    for step in (*range(info.steps + 1), *_EAGER_STEPS_CHECKED):
        host = torch.tensor(sched._value_host(step), dtype=torch.float64).float()
        traced = sched._value_tensor(torch.tensor(step, device=sched.last_epoch.device))
        torch.testing.assert_close(
            host,
            traced.detach().cpu().float(),
            rtol=1.2e-7,
            atol=1e-30,
            msg=lambda m, step=step: f"{info.id}: host vs traced form at step {step}: {m}",
        )


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

        values: list[Any] = []
        _run_compiled(
            train_step,
            params,
            info.steps,
            compiled=compiled,
            backend=info.compile_backend,
            what=f"{info.id}: optimizer step + scheduler step",
            after_each=lambda sched=sched, values=values: values.append(_values(sched)),
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
    "eager_step": check_scheduler_eager_step,
}
"""Checks run on every scheduler configuration."""


def check_scheduler(info: SchedulerInfo, *, compile: bool = True) -> list[str]:
    """Run every scheduler check; raise ``AssertionError`` listing every failure.

    Returns the checks that did not apply, with the reason.
    """
    return _check_all(
        info,
        SCHEDULER_CHECKS,
        {"error_inputs": check_scheduler_error_inputs},
        check_scheduler_compiled_step,
        compile,
    )
