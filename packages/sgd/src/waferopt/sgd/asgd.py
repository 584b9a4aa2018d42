"""Averaged stochastic gradient descent, with all state created up front."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from waferopt.core import DeclaredOptimizer, Hyperparameter, StateSpec, check_non_negative
from waferopt.core.authoring import scalar, zeros

from .functional import asgd

__all__ = ["ASGD"]


class ASGD(DeclaredOptimizer):
    r"""Averaged stochastic gradient descent (Polyak and Juditsky, 1992).

    With step :math:`t` (counted from 1), gradient :math:`g` (negated when
    ``maximize``) and per-parameter state :math:`\eta_t` (``eta``), :math:`\mu_t`
    (``mu``) and the average :math:`\bar\theta` (``ax``):

    .. math::
        g' = g + \lambda_{wd}\theta,\quad
        \theta \leftarrow \theta(1 - \lambda\eta_t) - \eta_t g',\quad
        \bar\theta \leftarrow \bar\theta + \mu_t(\theta - \bar\theta),

        \eta_{t+1} = \frac{lr}{(1 + \lambda\, lr\, t)^{\alpha}},\quad
        \mu_{t+1} = \frac{1}{\max(1, t - t_0)}.

    The same trajectory as ``torch.optim.ASGD``. The global step is always kept
    (``state[p]["step"]``, float32), as in Cerebras.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power for the eta update (default 0.75).
        t0: step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.

    Reference: B. T. Polyak and A. B. Juditsky, "Acceleration of stochastic
    approximation by averaging", SIAM J. Control Optim. 30(4), 1992.
    """

    kernel = asgd
    hyperparameters = (
        Hyperparameter("lr", check_non_negative, "learning rate (lr)"),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("lambd", check_non_negative),
        Hyperparameter("alpha", check_non_negative),
        Hyperparameter("t0", check_non_negative),
        Hyperparameter("maximize"),
    )
    param_state = (
        StateSpec("ax", zeros),
        StateSpec("eta", scalar(lambda group: group["lr"])),
        StateSpec("mu", scalar(1.0)),
    )
    global_step = "always"  # the step counter drives eta and mu

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        maximize: bool = False,
        *,
        enable_global_step: bool = True,
    ) -> None:
        defaults = dict(
            lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize
        )
        super().__init__(params, defaults, enable_global_step)
