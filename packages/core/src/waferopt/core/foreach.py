"""Multi-tensor building blocks for optimizer steps (used by the families and by plugins).

Every hyperparameter may be a Python number or a 0-d tensor (a scheduler writes
0-d tensors into the param groups). The helpers pick the scalar overload of a
``torch._foreach_*`` op for numbers (fastest) and a tensor formulation otherwise,
never reading a tensor's value on the host: no ``.item()``, no branch on a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from .coefficients import packed
from .distributed import local_lists
from .validation import check_sparse

__all__ = [
    "FUSED_DEVICES",
    "FUSED_DTYPES",
    "Hyper",
    "TensorList",
    "add_one_",
    "add_scaled_",
    "addcdiv_",
    "addcmul_",
    "added_scaled",
    "all_contiguous",
    "chunks",
    "collect",
    "fused_supported",
    "group_by_device_and_dtype",
    "is_nonzero_or_tensor",
    "is_one_run",
    "is_zero",
    "lerp_",
    "mul_",
    "on_device",
    "one_run",
    "run_closure",
    "runs",
    "same_dense_layout",
]

Hyper = float | Tensor
"""A hyperparameter: a Python number or a 0-d tensor."""

TensorList = list[Tensor] | tuple[Tensor, ...]
"""What ``torch._foreach_*`` ops take and return."""


def run_closure(closure: Callable[[], Any] | None) -> Any:
    """Evaluate ``closure`` with grad enabled (``step`` itself runs under no_grad)."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def collect(
    optimizer_name: str,
    group: dict[str, Any],
    state: Any,
    keys: Iterable[str],
) -> tuple[list[Tensor], list[Tensor], list[list[Tensor]]]:
    """Params of ``group`` that have a gradient, their gradients, and the state lists.

    Raises ``ValueError`` for a sparse gradient. (Runs on every step: built from
    list comprehensions, and ``state`` is not touched when no keys are asked for.)
    """
    params = [p for p in group["params"] if p.grad is not None]
    grads: list[Tensor] = [p.grad for p in params]  # type: ignore[misc]
    for g in grads:
        if g.is_sparse:
            check_sparse(optimizer_name, g)
    states = [state[p] for p in params] if keys else []
    return params, grads, [[s[key] for s in states] for key in keys]


class _Run(list):  # type: ignore[type-arg]
    """A list of one run that :func:`group_by_device_and_dtype` returned (eager only):
    the lists of one run share a ``token``, so that grouping them again (a kernel
    called on a run that core already split) costs a look at the tokens."""

    __slots__ = ("token",)
    token: object


def one_run(tensorlists: list[list[Any]]) -> list[list[Any]]:
    """The lists as the one run :func:`group_by_device_and_dtype` would return for them,
    for a caller that knows they are one device and dtype (it checks nothing)."""
    if torch.compiler.is_compiling():
        return [list(lst) for lst in tensorlists]
    token = object()
    runs = [_Run(lst) for lst in tensorlists]
    for run in runs:
        run.token = token
    return runs  # type: ignore[return-value]


def is_one_run(tensorlists: list[list[Any]]) -> bool:
    """Whether the lists are (parts of) one run that :func:`group_by_device_and_dtype`
    or :func:`one_run` returned, unchanged in length: then they are aligned, and each
    param's gradient and state are on its device, the params all of one device and
    dtype (what torch's grouping checks)."""
    first = tensorlists[0] if tensorlists else None
    if type(first) is not _Run:
        return False
    token, n = first.token, len(first)
    return all(type(lst) is _Run and lst.token is token and len(lst) == n for lst in tensorlists)


def group_by_device_and_dtype(
    tensorlists: list[list[Tensor]], *, local: bool = True
) -> list[list[list[Tensor]]]:
    """Split parallel tensor lists into runs of one device and dtype (one run when compiling).

    With ``local`` (the default), sharded tensors (``DTensor``: FSDP2, tensor
    parallelism) are replaced by their local shards, which share their storage: an
    element-wise update on the runs updates the sharded tensors, at the cost of a
    plain-tensor step of the shard's size (see :mod:`waferopt.core.distributed`). A
    rule that reads whole tensors (norms, row or column means) passes
    ``local=False`` and combines its partial results across the shards with that
    module's helpers.

    The runs are new lists. Lists of one run passed back unchanged (a kernel given a
    run that the optimizer's step already split) are one run again, at no cost.
    """
    if is_one_run(tensorlists):
        return [local_lists(tensorlists) if local else list(tensorlists)]
    if local:
        tensorlists = local_lists(tensorlists)
    grouped = torch.optim.Optimizer._group_tensors_by_device_and_dtype(tensorlists)  # type: ignore[arg-type, misc]
    return [one_run(lists) for lists, _ in grouped.values()]  # type: ignore[arg-type]


def add_one_(tensors: list[Tensor]) -> None:
    """``t += 1`` for every tensor (the step counters, 0-d): one op for counters that
    :func:`waferopt.core.coefficients.pack` made the elements of one tensor.

    Eager on the CPU the 1 is passed as a 0-d tensor: torch's CPU loop over 0-d tensors
    wraps a Python number in a new tensor for each of them, about four times slower
    (torch's own optimizers do the same).
    """
    if not tensors:
        return
    if torch.compiler.is_compiling():
        torch._foreach_add_(tensors, 1.0)
        return
    flat = packed(tensors)
    if flat is not None:  # the elements of one tensor (see coefficients.pack): one op
        flat.add_(1.0)
    elif tensors[0].device.type == "cpu":
        torch._foreach_add_(tensors, torch.ones((), dtype=tensors[0].dtype), alpha=1.0)
    else:
        torch._foreach_add_(tensors, 1.0)


def on_device(value: Hyper, device: torch.device) -> Hyper:
    """Move a tensor hyperparameter next to the params (a copy only when it lives elsewhere)."""
    if isinstance(value, Tensor) and value.device != device:
        return value.to(device=device, non_blocking=True)
    return value


def is_nonzero_or_tensor(value: Hyper) -> bool:
    """Whether a term scaled by ``value`` must be computed (tensors always: no host read)."""
    return isinstance(value, Tensor) or value != 0


def is_zero(value: Hyper) -> bool:
    """True only for a Python number equal to 0: a tensor is never assumed zero (no sync)."""
    return not is_nonzero_or_tensor(value)


FUSED_DEVICES: dict[str, tuple[str, ...]] = {
    "adam": ("cpu", "cuda", "xpu", "mps"),  # torch._fused_adam_, torch._fused_adamw_
    "sgd": ("cpu", "cuda"),  # torch._fused_sgd_
    "adagrad": ("cpu",),  # torch._fused_adagrad_
}
"""The device types on which each of torch's fused optimizer kernels is used (torch
2.13), by kernel family: the one place the families read it from."""
FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
"""The dtypes torch's fused optimizer kernels take."""


def fused_supported(params: TensorList, kernel: str = "sgd") -> bool:
    """Whether torch's fused ``kernel`` (a key of :data:`FUSED_DEVICES`) takes these
    params: an eager step, a device of its kernel, a float dtype of
    :data:`FUSED_DTYPES`. Their layout is :func:`same_dense_layout`'s to check."""
    try:
        devices = FUSED_DEVICES[kernel]
    except KeyError:
        raise ValueError(
            f"fused_supported: kernel={kernel!r}, expected one of {', '.join(FUSED_DEVICES)}"
        ) from None
    if torch.compiler.is_compiling():
        return False
    return all(p.device.type in devices and p.dtype in FUSED_DTYPES for p in params)


def same_dense_layout(*lists: Sequence[Tensor]) -> bool:
    """Whether, at each index, the tensors of ``lists`` are dense (no gaps, no overlap)
    and laid out alike (the same strides): contiguous, or all channels-last, or all
    transposed.

    A condition of torch's fused optimizer kernels (``torch._fused_adam_``,
    ``_fused_adamw_``, ``_fused_sgd_``, ``_fused_adagrad_``): they walk each operand's
    memory as one flat array and check no strides, so a parameter held as a slice
    (``big[:, ::2]``), or a gradient laid out unlike its parameter, is paired with the
    wrong elements (torch 2.13 on the CPU: wrong results, no error). The foreach ops
    honour strides; a run that fails this check takes them instead. Contiguous lists
    are told in one C-level pass; other layouts are compared index by index. An empty
    list (a state the rule does not keep) is passed over.
    """
    if all_contiguous(*lists):
        return True
    for ts in zip(*(ts for ts in lists if ts)):  # an empty list: a state the rule does not keep
        stride = ts[0].stride()
        if not _dense(ts[0]) or any(t.stride() != stride for t in ts[1:]):
            return False
    return True


def all_contiguous(*lists: Sequence[Tensor]) -> bool:
    """Whether every tensor of ``lists`` is contiguous (one C-level pass per list)."""
    contiguous = Tensor.is_contiguous
    return all(all(map(contiguous, ts)) for ts in lists)


def _dense(t: Tensor) -> bool:
    """Whether ``t``'s elements fill a block of memory once each (some order of its
    dimensions is contiguous)."""
    expected = 1
    for stride, size in sorted((st, sz) for sz, st in zip(t.shape, t.stride()) if sz != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _number(s: Any) -> bool:
    return isinstance(s, (int, float)) and not isinstance(s, bool)


def mul_(xs: TensorList, s: Hyper | TensorList) -> None:
    """``x *= s`` for every x (s a number, a 0-d tensor or a list of 0-d tensors)."""
    torch._foreach_mul_(xs, s)  # type: ignore[arg-type, misc]


def add_scaled_(xs: TensorList, ys: TensorList, s: Hyper | TensorList) -> None:
    """``x += s * y`` for every pair (s a number, a 0-d tensor or a list of 0-d tensors)."""
    if _number(s):
        torch._foreach_add_(xs, ys, alpha=s)  # type: ignore[arg-type, misc]
    else:
        torch._foreach_add_(xs, torch._foreach_mul(ys, s))  # type: ignore[arg-type, misc]


def added_scaled(xs: TensorList, ys: TensorList, s: Hyper | TensorList) -> list[Tensor]:
    """``x + s * y`` for every pair, as new tensors (the inputs are left alone)."""
    if _number(s):
        return list(torch._foreach_add(xs, ys, alpha=s))  # type: ignore[arg-type, misc]
    return list(torch._foreach_add(xs, torch._foreach_mul(ys, s)))  # type: ignore[arg-type, misc]


def _fused_under_compile(xs: TensorList) -> bool:
    """Whether to write ``addcmul_`` / ``addcdiv_`` with a number as per-tensor method
    calls: under ``torch.compile`` on the CPU, Dynamo (torch 2.13; older versions trace
    them as they are) turns ``x.addcmul_(a, b, value=s)`` into ``fma(a * b, s, x)`` and
    ``x.addcdiv_(a, b, value=s)`` into ``fma(a / b, s, x)``, which inductor's C++ code
    emits as a fused multiply-add, as torch's compiled for-loop optimizers get; the
    foreach ops lower to a rounded product and an add (one more rounding, one more
    instruction per vector). Eager, the foreach ops (one call for all tensors)."""
    return torch.compiler.is_compiling() and bool(xs) and xs[0].device.type == "cpu"


def addcmul_(xs: TensorList, a: TensorList, b: TensorList, s: Hyper | TensorList) -> None:
    """``x += s * a * b`` for every triple (one rounding after a fused multiply-add
    where the compiler emits one, see :func:`_fused_under_compile`)."""
    if _number(s):
        if _fused_under_compile(xs):
            for x, ai, bi in zip(xs, a, b):
                x.addcmul_(ai, bi, value=s)  # type: ignore[arg-type]
            return
        torch._foreach_addcmul_(xs, a, b, value=s)  # type: ignore[arg-type, misc]
    else:
        torch._foreach_addcmul_(xs, torch._foreach_mul(a, s), b)  # type: ignore[arg-type, misc]


def addcdiv_(xs: TensorList, a: TensorList, b: TensorList, s: Hyper | TensorList) -> None:
    """``x += s * a / b`` for every triple (one rounding after a fused multiply-add
    where the compiler emits one, see :func:`_fused_under_compile`)."""
    if _number(s):
        if _fused_under_compile(xs):
            for x, ai, bi in zip(xs, a, b):
                x.addcdiv_(ai, bi, value=s)  # type: ignore[arg-type]
            return
        torch._foreach_addcdiv_(xs, a, b, value=s)  # type: ignore[arg-type, misc]
    else:
        torch._foreach_addcdiv_(xs, torch._foreach_mul(a, s), b)  # type: ignore[arg-type, misc]


def lerp_(xs: TensorList, ys: TensorList, w: Hyper | TensorList) -> None:
    """``x += w * (y - x)`` for every pair (w a number, a 0-d tensor or a list of them).

    Under ``torch.compile`` a tensor weight is written out as ``x + w * (y - x)``:
    inductor does not lower ``_foreach_lerp`` with tensor weights, and its fallback
    kernel costs a pass over memory and a copy.
    """
    if _number(w):
        torch._foreach_lerp_(xs, ys, w)  # type: ignore[arg-type]
        return
    weights: list[Any] = list(w) if isinstance(w, (list, tuple)) else [w] * len(xs)
    if torch.compiler.is_compiling():
        torch._foreach_add_(xs, torch._foreach_mul(torch._foreach_sub(ys, xs), weights))
        return
    if xs:  # lerp wants the weight in the data's dtype
        weights = [x.to(dtype=xs[0].dtype) for x in weights]
    torch._foreach_lerp_(xs, ys, weights)


CPU_CHUNK_BYTES = 1 << 20
"""Bytes per tensor list that one CPU chunk holds (1 MiB). Measured on 1 MiB-L2 cores
at one thread (bench harness, 4M parameters): 1 MiB beat 512 KiB on every row that
chunks (RMSprop 5-7%, Adamax, Lion, NAdam, RAdam, Adadelta, Rprop, Prodigy 1-5%), and
2 MiB was mixed: a rule's few lists then outgrow L2, but the chunks still sit in L3
and each chunk costs every op one more call."""


def runs(tensorlists: list[list[Tensor]], *, split: bool = True) -> Iterator[list[Any]]:
    """The runs a multi-tensor kernel should process, one after the other.

    Lists are first split by device and dtype. On the GPU (and under
    ``torch.compile``) each such run is processed whole: one fused kernel per op. On
    the CPU a ``torch._foreach_*`` op is a loop over the tensors, so running one op
    over a whole 16 MB list and then the next streams everything from memory once per
    op; instead the run is cut by :func:`chunks` into pieces of about
    :data:`CPU_CHUNK_BYTES` per list, each processed by every op while it is in cache.
    """
    for lists in group_by_device_and_dtype(tensorlists):
        first = lists[0][0]
        if torch.compiler.is_compiling() or first.device.type != "cpu":
            yield lists
            continue
        yield from chunks(lists, max(CPU_CHUNK_BYTES // first.element_size(), 1), split=split)


def chunks(lists: list[list[Tensor]], limit: int, *, split: bool = True) -> Iterator[list[Any]]:
    """Cut aligned tensor lists into pieces of about ``limit`` elements per list.

    The first list sets the sizes. Small tensors are packed whole into a piece. With
    ``split``, a tensor larger than ``limit`` is cut into flat views of ``limit``
    elements (for elementwise kernels only, and only when every list holds a contiguous
    tensor of the same size there, or a 0-d tensor: a per-tensor coefficient, which goes
    with every block).
    """
    pending: list[list[Tensor]] = [[] for _ in lists]
    size = 0
    for i in range(len(lists[0])):
        tensors = [lst[i] for lst in lists]
        numel = tensors[0].numel()
        if (
            split
            and numel > limit
            and all((t.numel() == numel and t.is_contiguous()) or t.dim() == 0 for t in tensors[1:])
            and tensors[0].is_contiguous()
        ):
            if size:
                yield pending
                pending, size = [[] for _ in lists], 0
            blocks = [t.view(-1).split(limit) if t.dim() else None for t in tensors]
            count = len(blocks[0])  # type: ignore[arg-type, misc]
            for j in range(count):
                # a 0-d entry (a per-tensor coefficient) goes with every block of its tensor
                yield [[b[j]] if b is not None else [t] for b, t in zip(blocks, tensors)]
            continue
        if size and size + numel > limit:
            yield pending
            pending, size = [[] for _ in lists], 0
        for lst, t in zip(pending, tensors):
            lst.append(t)
        size += numel
    if size or pending[0]:
        yield pending
