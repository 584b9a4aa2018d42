"""Rprop with every state tensor created at construction and no data-dependent branch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from waferopt.core import DeclaredOptimizer, Hyperparameter, StateSpec, check_non_negative
from waferopt.core.authoring import zeros

from .functional import rprop

__all__ = ["Rprop"]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Invalid {name}: expected a number, got {value!r}")
    return float(value)


def _pair(name: str, value: Any, what: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"Invalid {name}: expected a pair {what}, got {value!r}")
    return _number(f"{name}[0]", value[0]), _number(f"{name}[1]", value[1])


def _check_etas(name: str, etas: Any) -> None:
    etaminus, etaplus = _pair(name, etas, "(etaminus, etaplus)")
    if not 0.0 < etaminus < 1.0 < etaplus:
        raise ValueError(f"Invalid {name}: {etas!r} (expected 0 < etaminus < 1 < etaplus)")


def _check_step_sizes(name: str, step_sizes: Any) -> None:
    smin, smax = _pair(name, step_sizes, "(min, max)")
    if not 0.0 <= smin <= smax:
        raise ValueError(f"Invalid {name}: {step_sizes!r} (expected 0 <= min <= max)")


def _filled_with_lr(p: Tensor, group: Mapping[str, Any]) -> Tensor:
    """The initial step size: ``lr`` in every coordinate, in ``p``'s dtype."""
    step_size = torch.empty_like(p, memory_format=torch.preserve_format)
    return step_size.copy_(torch.as_tensor(group["lr"], dtype=p.dtype))


class Rprop(DeclaredOptimizer):
    r"""Rprop (resilient backpropagation): per-coordinate step sizes driven by sign agreement.

    With :math:`s = g \cdot g_{\text{prev}}` per coordinate:

    .. math::
        f &= \eta_+ \text{ if } s > 0,\ \eta_- \text{ if } s < 0,\ 1 \text{ otherwise} \\
        \Delta &\leftarrow \operatorname{clamp}(\Delta f,\ \Delta_{\min}, \Delta_{\max}) \\
        g &\leftarrow 0 \text{ where } s < 0 \\
        \theta &\leftarrow \theta - \operatorname{sign}(g)\,\Delta, \qquad g_{\text{prev}} \leftarrow g

    The trajectory is that of ``torch.optim.Rprop`` with the same arguments. The sign
    logic is computed with ``torch.where`` (no branch, no boolean indexing), so the
    step has a static shape and compiles once.

    As in Cerebras, the zeroing writes into ``p.grad`` in place: after ``step()``, a
    gradient holds zeros where its sign flipped against the previous step.

    ``lr`` only sets the initial step size :math:`\Delta` (at construction, and for
    params added later), as in torch; ``etas`` and ``step_sizes`` are Python numbers.

    State per parameter, created at construction: ``prev`` (zeros), ``step_size``
    (filled with ``lr``), and ``step`` (float32) with ``enable_global_step=True``.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: initial step size (a number or a 0-d tensor).
        etas: :math:`(\eta_-, \eta_+)`, with :math:`0 < \eta_- < 1 < \eta_+`.
        step_sizes: :math:`(\Delta_{\min}, \Delta_{\max})`, with
            :math:`0 \le \Delta_{\min} \le \Delta_{\max}`.
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Riedmiller, Braun, "A Direct Adaptive Method for Faster Backpropagation
        Learning: The RPROP Algorithm", IEEE ICNN 1993.
    """

    kernel = rprop
    hyperparameters = (
        # lr only sets the initial step sizes (state), as in torch
        Hyperparameter("lr", check_non_negative, kernel_names=()),
        Hyperparameter("etas", _check_etas, kernel_names=("etaminus", "etaplus")),
        Hyperparameter(
            "step_sizes", _check_step_sizes, kernel_names=("step_size_min", "step_size_max")
        ),
    )
    param_state = (StateSpec("prev", zeros), StateSpec("step_size", _filled_with_lr))

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50.0),
        *,
        enable_global_step: bool = False,
    ) -> None:
        _check_etas("etas", etas)
        _check_step_sizes("step_sizes", step_sizes)
        defaults = {
            "lr": lr,
            "etas": (float(etas[0]), float(etas[1])),
            "step_sizes": (float(step_sizes[0]), float(step_sizes[1])),
        }
        super().__init__(params, defaults, enable_global_step)
