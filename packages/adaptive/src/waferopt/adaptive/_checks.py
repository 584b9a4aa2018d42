"""Argument checks of this package beyond those of ``waferopt.core`` (private)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_unit_interval"]


def check_unit_interval(name: str, value: Any) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a number in [0, 1]."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        number = float(value.detach().cpu())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValueError(f"Invalid {name}: expected a number in [0, 1], got {value!r}")
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"Invalid {name} value: {value} (expected 0 <= {name} <= 1)")
