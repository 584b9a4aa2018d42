"""Per-step coefficients (bias corrections, schedules of a step number), written once.

A kernel computes its coefficients from the step number ``t`` with the functions of
this module. ``t`` is either a Python number (an eager step whose step the optimizer
knows on the host: the coefficients are Python floats, computed in double as torch.optim
does, and the ``torch._foreach_*`` ops take their fast scalar overloads) or a 1-D tensor
with one entry per parameter (compiled steps, tensor hyperparameters: the coefficients
are computed on the device, in float64, with no host read). The same formula serves both:
only the few functions below need to know which it got.
"""

from __future__ import annotations

import functools
import math
import operator
import struct
import weakref
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "Coef",
    "clamp_min",
    "coefficient_dtype",
    "fill_",
    "float32",
    "log",
    "mirrored",
    "once",
    "one_minus_pow",
    "pack",
    "packed",
    "per_tensor",
    "pow_",
    "sqrt",
    "stack",
    "step_numbers",
    "where",
    "write_",
]

Coef = float | Tensor
"""A coefficient: a Python float (the same for every tensor) or a tensor of per-tensor values."""


def coefficient_dtype(device: torch.device) -> torch.dtype:
    """dtype of device-side coefficients: float64 (bias corrections cancel badly in
    float32), float32 where the device has no float64 (MPS)."""
    return torch.float32 if device.type == "mps" else torch.float64


def step_numbers(steps: Sequence[Tensor] | None, step: int | None, device: torch.device) -> Coef:
    """This step's number: ``step`` (known on the host) as a float, else the 1-D stack of
    the per-parameter counters ``steps`` in :func:`coefficient_dtype`."""
    if step is not None:
        return float(step)
    if not steps:
        raise ValueError("step_numbers: neither a host step nor step counters were given")
    return stack(steps).to(coefficient_dtype(device))


def stack(scalars: Sequence[Tensor]) -> Tensor:
    """The 1-D tensor of the 0-d tensors ``scalars`` (per-tensor state: step counters,
    powers), as ``torch.stack``.

    Under ``torch.compile`` it is written as one elementwise selection: inductor lowers a
    stack of more than a few inputs as copies into the slots of a buffer, and the
    compiled step then builds a view of that buffer for every slot at every call (50
    params: 50 views, about 20 us a step, as much as the rest of a small step's
    bookkeeping).
    """
    scalars = list(scalars)
    if len(scalars) <= 1 or not torch.compiler.is_compiling():
        return torch.stack(scalars)
    index = torch.arange(len(scalars), device=scalars[0].device)
    out = scalars[-1].expand(len(scalars))
    for i in range(len(scalars) - 2, -1, -1):
        out = torch.where(index == i, scalars[i], out)
    return out


def _is_tensor(*xs: Any) -> bool:
    return any(isinstance(x, Tensor) for x in xs)


def log(x: Coef) -> Coef:
    """Natural log (``-inf`` at 0)."""
    if isinstance(x, Tensor):
        return torch.log(x)
    return math.log(x) if x > 0 else -math.inf


def sqrt(x: Coef) -> Coef:
    return torch.sqrt(x) if isinstance(x, Tensor) else math.sqrt(x)


def clamp_min(x: Coef, low: float) -> Coef:
    return torch.clamp(x, min=low) if isinstance(x, Tensor) else max(x, low)


def where(cond: Any, a: Coef, b: Coef) -> Coef:
    """``a`` where ``cond`` holds, else ``b`` (elementwise for tensors)."""
    if _is_tensor(cond, a, b):
        return torch.where(torch.as_tensor(cond), a, b)
    return a if cond else b


def one_minus_pow(beta: Any, t: Coef) -> Coef:
    """``1 - beta ** t``, accurate when ``beta ** t`` is close to 1 (early steps, β near 1).

    Computed as ``-expm1(t * log(beta))``: float32 ``1 - β^t`` loses about 1e-5 of it at
    β = 0.999, t = 1. ``beta`` is a number or a 0-d tensor in [0, 1); ``t`` >= 1.
    """
    if isinstance(beta, Tensor):
        lb = torch.log(beta.to(t.dtype if isinstance(t, Tensor) else torch.float64))
        return -torch.expm1(t * lb)
    if isinstance(t, Tensor):
        return -torch.expm1(t * log(float(beta)))
    return -math.expm1(t * log(float(beta)))


def pow_(beta: Any, t: Coef) -> Coef:
    """``beta ** t`` through ``exp(t * log(beta))`` (0 for β = 0), for numbers or tensors."""
    if isinstance(beta, Tensor):
        lb = torch.log(beta.to(t.dtype if isinstance(t, Tensor) else torch.float64))
        return torch.exp(t * lb)
    if isinstance(t, Tensor):
        return torch.exp(t * log(float(beta)))
    return math.exp(t * log(float(beta))) if beta > 0 else 0.0


def per_tensor(x: Any, like: Tensor | None = None) -> Any:
    """A coefficient as foreach ops take it: a number stays a number, a 1-D tensor of
    per-tensor values becomes a list of 0-d tensors (in ``like``'s dtype when given)."""
    if isinstance(x, Tensor):
        if like is not None:
            x = x.to(like.dtype)
        if torch.compiler.is_compiling():
            x = _realized(x)
        return list(x.unbind(0)) if x.dim() else x
    return x


def once(x: Tensor) -> Tensor:
    """``x``; under ``torch.compile``, computed once into its own buffer (see
    :func:`_realized`): for a small tensor (per-row or per-column factors, a per-tensor
    coefficient) that an elementwise update over a large one reads, so that inductor
    does not recompute it in the update's inner loop."""
    return _realized(x) if torch.compiler.is_compiling() else x


_LIBRARY = torch.library.Library("waferopt", "FRAGMENT")
_LIBRARY.define("realized(Tensor x) -> Tensor")


def _realized_impl(x: Tensor) -> Tensor:
    """``x``, computed once into a buffer under ``torch.compile``.

    Inductor inlines a pointwise computation into each of its consumers: a coefficient
    (pow, expm1, sqrt, divisions in double) consumed by an elementwise update would be
    recomputed in that update's inner loop, for every vector of elements (the compiler
    cannot hoist it past the stores), which costs more than the update's memory
    traffic. An opaque op (this copy) stops the inlining: the coefficients are computed
    once, and the update loop only loads them.

    Defined with ``torch.library.Library`` rather than ``torch.library.custom_op``: the
    compiled step calls it at every step, and the custom-op wrapper's Python layers
    cost 7 us a call against 2 us (coefficients need no autograd).
    """
    return x.clone()


def _realized_fake(x: Tensor) -> Tensor:
    return torch.empty_like(x)


_LIBRARY.impl("realized", _realized_impl, "CompositeExplicitAutograd")
torch.library.register_fake("waferopt::realized", _realized_fake, lib=_LIBRARY)
_realized = torch.ops.waferopt.realized.default

_DTYPE = attrgetter("dtype")

# ---------------------------------------------------------------------- host mirror
# Host copies of 0-d float32 state (NAdam's product of the μ_t), so that an eager step
# whose step number is known on the host can compute its coefficients as Python floats
# without reading the device. An entry is trusted only while the tensor is the same
# object at the same version (``Tensor._version`` advances on every in-place write:
# a compiled step, a ``load_state_dict`` copy or a user's edit makes it stale, and the
# kernel then computes on the device).
_MIRROR: dict[int, tuple[weakref.ref[Tensor], int, float]] = {}


def float32(x: float) -> float:
    """``x`` rounded to float32 (to nearest even), as a Python float."""
    return struct.unpack("f", struct.pack("f", x))[0]  # type: ignore[no-any-return]


def _forget(key: int, ref: weakref.ref[Tensor]) -> None:
    entry = _MIRROR.get(key)
    if entry is not None and entry[0] is ref:
        del _MIRROR[key]


def remember(tensors: Sequence[Tensor], values: Sequence[float] | float) -> None:
    """Record the host values of 0-d state ``tensors`` as they are now (after a write,
    or read outside a step)."""
    if torch.compiler.is_compiling():
        return
    if isinstance(values, (int, float)):
        values = [float(values)] * len(tensors)
    for t, v in zip(tensors, values):
        if t.dtype == torch.float32:
            v = float32(v)
        elif t.dtype != torch.float64:
            continue
        try:
            version = t._version
        except RuntimeError:  # an inference tensor keeps no version: not mirrored
            continue
        key = id(t)
        entry = _MIRROR.get(key)
        if entry is not None and entry[0]() is t:
            ref = entry[0]  # (the same tensor: its weak reference is kept)
        else:
            ref = weakref.ref(t, functools.partial(_forget, key))
        _MIRROR[key] = (ref, version, float(v))


def mirrored(tensors: Sequence[Tensor]) -> float | None:
    """The value every one of the 0-d ``tensors`` holds, if known on the host (see
    :func:`remember`) and the same for all of them; else None (read nothing)."""
    if torch.compiler.is_compiling() or not tensors:
        return None
    value = None
    for t in tensors:
        entry = _MIRROR.get(id(t))
        if entry is None or entry[0]() is not t:
            return None
        try:
            if entry[1] != t._version:
                return None
        except RuntimeError:
            return None
        if value is None:
            value = entry[2]
        elif entry[2] != value:
            return None
    return value


# ---------------------------------------------------------------------- packed 0-d state
# 0-d state tensors that are the elements of one 1-D tensor (see pack): the id of the
# first -> (the 1-D tensor, the elements in order, the data pointers of the first and
# the last). An entry lives as long as its owner (the optimizer).
_PACKED: dict[int, tuple[Tensor, list[Tensor], int, int]] = {}


def pack(tensors: Sequence[Tensor], owner: object) -> list[Tensor]:
    """0-d state ``tensors`` (plain tensors of one dtype and device) as the elements of
    one new 1-D tensor, in order and with their values, so that :func:`write_` writes
    one value into all of them with one fill while ``owner`` (the optimizer that keeps
    them) lives. Returns them (``tensors`` themselves where packing does not apply).

    Each is a 0-d view of that tensor: saved, loaded, copied and compiled as any 0-d
    tensor (``torch.save`` writes the storage once), and every write to one of them or
    to the whole advances the version counter they share, so host copies
    (:func:`remember`) are never trusted after a write. The one fill is used only for
    the very same tensors, all of them, in that order, still on that storage (checked
    for the first and the last: moving state with ``.data =`` or ``set_`` moves them
    all); a tensor replaced or left out (a param without a gradient) makes
    :func:`write_` write each tensor on its own.
    """
    first = tensors[0] if tensors else None
    if (
        first is None
        or len(tensors) < 2
        or torch.compiler.is_compiling()
        or any(
            type(t) is not Tensor
            or t.dim() != 0
            or t.requires_grad
            or t.dtype != first.dtype
            or t.device != first.device
            or t.is_meta
            for t in tensors
        )
    ):
        return list(tensors)
    with torch.no_grad():
        flat = torch.stack(list(tensors))
    out = list(flat.unbind(0))
    _PACKED[id(out[0])] = (flat, out, out[0].data_ptr(), out[-1].data_ptr())
    weakref.finalize(owner, _PACKED.pop, id(out[0]), None)
    return out


def packed(tensors: Sequence[Tensor]) -> Tensor | None:
    """The 1-D tensor that :func:`pack` made exactly ``tensors`` the elements of (all of
    them, in order, still on it), else None. (Identity checks only, C-level: the check
    must cost less than the writes it saves.)"""
    entry = _PACKED.get(id(tensors[0])) if tensors else None
    if entry is None:
        return None
    flat, members, first, last = entry
    if (
        len(members) != len(tensors)
        or not all(map(operator.is_, members, tensors))
        or tensors[0].data_ptr() != first
        or tensors[-1].data_ptr() != last
    ):
        return None
    return flat


def write_(*fills: tuple[Sequence[Tensor], float]) -> None:
    """For each ``(tensors, value)``, write ``value`` into every 0-d state tensor of
    ``tensors``, as ``fill_`` would.

    Eager, with every tensor of one dtype, all are written by one
    ``torch._foreach_copy_`` from a 0-d tensor per value (a ``fill_`` per tensor costs
    about twice as much in Python calls; a foreach op with a number operand wraps it in
    a tensor for each tensor, several times slower still); else by a fill each.
    """
    fills = tuple((ts, v) for ts, v in fills if ts)
    if not torch.compiler.is_compiling() and fills:
        rest = []
        for ts, v in fills:
            flat = packed(ts)
            if flat is None:
                rest.append((ts, v))
            else:
                flat.fill_(v)  # one fill for the whole set (see pack)
        fills = tuple(rest)
    if not fills:
        return
    first = fills[0][0][0]
    if torch.compiler.is_compiling() or set(
        map(_DTYPE, chain.from_iterable(ts for ts, _ in fills))
    ) != {first.dtype}:
        for ts, v in fills:
            for t in ts:
                t.fill_(v)
        return
    dst: list[Tensor] = []
    src: list[Tensor] = []
    for ts, v in fills:
        dst += ts
        src += [torch.full((), v, dtype=first.dtype, device=first.device)] * len(ts)
    torch._foreach_copy_(dst, src)


def fill_(tensors: Sequence[Tensor], value: float) -> None:
    """Write ``value`` into each 0-d state tensor (see :func:`write_`) and remember it."""
    write_((tensors, value))
    remember(tensors, value)
