"""Adadelta with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core import (
    DeclaredOptimizer,
    Hyperparameter,
    StateSpec,
    check_non_negative,
    check_unit_interval,
)

from .functional import adadelta

__all__ = ["Adadelta"]


class Adadelta(DeclaredOptimizer):
    r"""Adadelta: a learning rate from running averages of squared gradients and updates.

    With :math:`g' = \pm g + \lambda\theta`:

    .. math::
        v &\leftarrow \rho v + (1-\rho)\, g'^2 \\
        \delta &= \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}}\, g' \\
        u &\leftarrow \rho u + (1-\rho)\, \delta^2 \\
        \theta &\leftarrow \theta - \eta\, \delta

    The trajectory is that of ``torch.optim.Adadelta`` with the same arguments.

    State per parameter, created at construction: ``square_avg`` (:math:`v`),
    ``acc_delta`` (:math:`u`), and ``step`` (float32) with ``enable_global_step=True``.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: factor :math:`\eta` applied to the update (a number or a 0-d tensor).
        rho: decay rate of the running averages, in [0, 1].
        eps: added inside the square roots for numerical stability.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701 (2012).
    """

    kernel = adadelta
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("rho", check_unit_interval),
        Hyperparameter("eps", check_non_negative),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("maximize"),
    )
    param_state = (StateSpec("square_avg"), StateSpec("acc_delta"))

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        maximize: bool = False,
        *,
        enable_global_step: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults, enable_global_step)
