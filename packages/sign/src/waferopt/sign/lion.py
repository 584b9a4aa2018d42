"""Lion with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core import (
    DeclaredOptimizer,
    Hyperparameter,
    StateSpec,
    check_betas,
    check_non_negative,
)
from waferopt.core.authoring import zeros

from .functional import lion

__all__ = ["Lion"]


class Lion(DeclaredOptimizer):
    r"""Lion (EvoLved Sign Momentum): the sign of an interpolated momentum.

    .. math::
        \theta &\leftarrow \theta\,(1 - \eta\lambda) \\
        c &= \beta_1 m + (1-\beta_1)\, g \\
        \theta &\leftarrow \theta - \eta\, \operatorname{sign}(c) \\
        m &\leftarrow \beta_2 m + (1-\beta_2)\, g

    with :math:`\operatorname{sign}(0) = 0`. Every coordinate moves by exactly
    :math:`\eta` (plus the decay), so Lion wants a learning rate 3-10x smaller and a
    weight decay 3-10x larger than AdamW's.

    State per parameter, created at construction: ``exp_avg`` (:math:`m`), and
    ``step`` (float32) with ``enable_global_step=True``.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\eta` (a number or a 0-d tensor).
        betas: :math:`(\beta_1, \beta_2)`: interpolation of the update and decay of the
            momentum, each in [0, 1).
        weight_decay: decoupled weight decay :math:`\lambda` (scaled by :math:`\eta`).
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023,
        arXiv:2302.06675 (Algorithm 2).
    """

    kernel = lion
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("betas", check_betas, kernel_names=("beta1", "beta2")),
        Hyperparameter("weight_decay", check_non_negative),
    )
    param_state = (StateSpec("exp_avg", zeros),)

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        *,
        enable_global_step: bool = False,
    ) -> None:
        betas = tuple(betas) if isinstance(betas, list) else betas
        defaults = {"lr": lr, "betas": betas, "weight_decay": weight_decay}
        super().__init__(params, defaults, enable_global_step)
