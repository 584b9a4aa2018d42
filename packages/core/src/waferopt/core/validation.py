"""Argument checks shared by every optimizer: a precise ``ValueError`` naming the argument."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

__all__ = [
    "FLOAT32_MAX",
    "check_betas",
    "check_finite",
    "check_non_negative",
    "check_params_not_empty",
    "check_sparse",
    "check_unit_interval",
]


FLOAT32_MAX = float(torch.finfo(torch.float32).max)
"""The largest float32: hyperparameters become 0-d float32 tensors (a scheduler writes
them so), where a larger number is ``inf``."""


def _as_float(name: str, value: Any) -> float:
    """``value`` as a float; ``ValueError`` naming ``name`` unless it is a number (or a
    one-element tensor) that float32 can hold (a finite value past :data:`FLOAT32_MAX`
    would become ``inf`` in the 0-d float32 tensor a scheduler writes)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"Invalid {name}: expected a number or a 0-d tensor, got shape {tuple(value.shape)}"
            )
        number = float(value.detach().cpu())
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Invalid {name}: expected a number, got {type(value).__name__} {value!r}")
    else:
        number = float(value)
    if math.isfinite(number) and abs(number) > FLOAT32_MAX:
        raise ValueError(
            f"Invalid {name} value: {value} (not representable in float32, whose largest "
            f"value is {FLOAT32_MAX:.8g})"
        )
    return number


def check_finite(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number (that float32 can hold)."""
    number = _as_float(name, value)
    if not math.isfinite(number):
        raise ValueError(f"Invalid {name} value: {value} (expected a finite number)")


def check_non_negative(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0."""
    number = _as_float(name, value)
    if not number >= 0.0 or math.isinf(number):
        raise ValueError(f"Invalid {name} value: {value} (expected a finite number >= 0)")


def check_unit_interval(name: str, value: Any) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a number in [0, 1]."""
    number = _as_float(name, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"Invalid {name} value: {value} (expected 0 <= {name} <= 1)")


def check_betas(name: str, betas: Any, count: int = 2) -> None:
    """Raise ``ValueError`` unless ``betas`` holds ``count`` numbers in [0, 1)."""
    if not isinstance(betas, Sequence) or isinstance(betas, str) or len(betas) != count:
        raise ValueError(
            f"Invalid {name}: expected a sequence of {count} numbers in [0, 1), got {betas!r}"
        )
    for index, beta in enumerate(betas):
        number = _as_float(f"{name}[{index}]", beta)
        if not 0.0 <= number < 1.0:
            raise ValueError(
                f"Invalid {name} parameter at index {index}: {beta} (expected 0 <= beta < 1)"
            )


def check_params_not_empty(params: Any) -> list:
    """Materialise ``params`` and raise ``ValueError`` if it is empty."""
    if isinstance(params, torch.Tensor):
        raise TypeError(
            "params argument given to the optimizer should be an iterable of Tensors or dicts, "
            f"but got {torch.typename(params)}"
        )
    materialised = list(params)
    if not materialised:
        raise ValueError("Invalid params: the optimizer got an empty parameter list")
    return materialised


def check_sparse(optimizer_name: str, grad: torch.Tensor) -> None:
    """Raise ``ValueError`` for a sparse gradient (unsupported by every waferopt optimizer)."""
    if grad.is_sparse:
        raise ValueError(f"Invalid gradient: {optimizer_name} does not support sparse gradients")
