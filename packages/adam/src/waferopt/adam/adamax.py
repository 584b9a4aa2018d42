"""``Adamax``: Adam with the infinity norm, as ``torch.optim.Adamax``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core import Hyperparameter
from waferopt.core.authoring import StateSpec, zeros

from ._common import ADAM_HYPERPARAMETERS, PowerStateOptimizer, beta_power
from .functional import adamax

__all__ = ["Adamax"]


class Adamax(PowerStateOptimizer):
    r"""Adamax: Adam with the infinity norm.

    .. math::
        g' = \pm g + \lambda\theta,\quad m \leftarrow \beta_1 m + (1-\beta_1) g',\quad
        u \leftarrow \max(\beta_2 u, |g'| + \epsilon),\quad
        \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,\frac{m}{u}

    (−g when ``maximize``). The bias correction runs through the ``beta1_power``
    state (β1^t before step t). Same trajectory as ``torch.optim.Adamax`` for equal
    eps.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2).
        eps: ε (default 1e-6, where torch uses 1e-8).
        weight_decay: λ, L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        enable_global_step: keep a float32 ``state[p]["step"]`` counter.

    State: ``exp_avg``, ``exp_inf``, ``beta1_power`` (starts at β1), ``step``
    (enable_global_step).

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2014), §7.
    """

    kernel = adamax
    hyperparameters = (*ADAM_HYPERPARAMETERS, Hyperparameter("maximize"))
    param_state = (
        StateSpec("exp_avg", zeros),
        StateSpec("exp_inf", zeros),
        beta_power(0, "beta1_power"),
    )

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
        *,
        enable_global_step: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, enable_global_step)
