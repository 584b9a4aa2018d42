"""``NAdam``: Adam with Nesterov momentum, as ``torch.optim.NAdam``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core import DeclaredOptimizer, Hyperparameter, StateSpec, check_non_negative
from waferopt.core.authoring import scalar

from ._common import ADAM_HYPERPARAMETERS, MOMENTS
from .functional import nadam

__all__ = ["NAdam"]


class NAdam(DeclaredOptimizer):
    r"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule.

    .. math::
        g' = g + \lambda\theta,\quad
        \mu_t = \beta_1\big(1 - \tfrac12\,0.96^{t\psi}\big),\quad
        \mu_{t+1} = \beta_1\big(1 - \tfrac12\,0.96^{(t+1)\psi}\big),\quad
        P_t = P_{t-1}\,\mu_t

        m \leftarrow \beta_1 m + (1-\beta_1) g',\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g'^2,\quad
        D = \sqrt{v / (1-\beta_2^t)} + \epsilon

        \theta \leftarrow \theta - \eta\Big(\frac{1-\mu_t}{1-P_t}\,g'
        + \frac{\mu_{t+1}}{1-P_t\,\mu_{t+1}}\,m\Big) / D

    ψ is ``momentum_decay`` and P the ``mu_product`` state. This follows the paper and
    ``torch.optim.NAdam``; Cerebras 2.3 multiplies μ_t into the next product a second
    time, which this class does not (a documented decision).

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2).
        eps: ε (default 1e-8, as torch).
        weight_decay: λ, L2 penalty added to the gradient.
        momentum_decay: ψ.
        enable_global_step: always on: NAdam needs the step (Cerebras hard-codes it);
            the argument is accepted for a uniform signature.

    State: ``mu_product`` (starts at 1), ``exp_avg``, ``exp_avg_sq``, ``step`` (float32).

    Reference: Dozat, "Incorporating Nesterov Momentum into Adam" (ICLR 2016 workshop).
    """

    kernel = nadam
    hyperparameters = (*ADAM_HYPERPARAMETERS, Hyperparameter("momentum_decay", check_non_negative))
    param_state = (*MOMENTS, StateSpec("mu_product", scalar(1.0)))
    global_step = "always"
    host_step = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        *,
        enable_global_step: bool = True,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay
        )
        super().__init__(params, defaults, enable_global_step)
