"""Small helpers for multi-tensor steps whose hyperparameters may be numbers or 0-d tensors."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch

Scalar = float | torch.Tensor


def is_zero(value: Any) -> bool:
    """True only for a Python number equal to 0: a tensor is never assumed zero (no sync)."""
    return not isinstance(value, torch.Tensor) and value == 0


def add_scaled_(tensors: list[torch.Tensor], others: list[torch.Tensor], scale: Scalar) -> None:
    """``tensors += scale * others`` for a number or a 0-d tensor ``scale``."""
    if isinstance(scale, torch.Tensor):
        torch._foreach_add_(tensors, torch._foreach_mul(others, scale))
    else:
        torch._foreach_add_(tensors, others, alpha=scale)


def added_scaled(
    tensors: list[torch.Tensor], others: list[torch.Tensor], scale: Scalar
) -> list[torch.Tensor]:
    """``tensors + scale * others`` as new tensors (the inputs are left alone)."""
    if isinstance(scale, torch.Tensor):
        return list(torch._foreach_add(tensors, torch._foreach_mul(others, scale)))
    return list(torch._foreach_add(tensors, others, alpha=scale))


def group_by_device_and_dtype(
    params: list[torch.Tensor], *others: list[Any]
) -> dict[tuple[torch.device, torch.dtype], tuple[list[Any], ...]]:
    """Split aligned lists by the (device, dtype) of ``params``, as foreach kernels need."""
    grouped: dict[tuple[torch.device, torch.dtype], tuple[list[Any], ...]] = defaultdict(
        lambda: tuple([] for _ in range(1 + len(others)))
    )
    for index, p in enumerate(params):
        lists = grouped[(p.device, p.dtype)]
        lists[0].append(p)
        for target, source in zip(lists[1:], others):
            target.append(source[index])
    return dict(grouped)


def fused_supported(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused kernels take these params (eager, CPU or CUDA, float dtypes)."""
    if torch.compiler.is_compiling():
        return False
    return all(
        p.device.type in ("cpu", "cuda")
        and p.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
        for p in params
    )
