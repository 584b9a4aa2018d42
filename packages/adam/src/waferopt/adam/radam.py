"""``RAdam``: rectified Adam, as ``torch.optim.RAdam``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core import DeclaredOptimizer

from ._common import ADAM_HYPERPARAMETERS, MOMENTS
from .functional import radam

__all__ = ["RAdam"]


class RAdam(DeclaredOptimizer):
    r"""RAdam: Adam whose adaptive learning rate is rectified while its variance is large.

    .. math::
        g' = g + \lambda\theta,\quad m \leftarrow \beta_1 m + (1-\beta_1) g',\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g'^2,\quad \hat m = m / (1-\beta_1^t)

        \rho_\infty = \frac{2}{1-\beta_2} - 1,\quad
        \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t}

        \theta \leftarrow \theta - \eta\,\hat m\,r_t\,\frac{\sqrt{1-\beta_2^t}}{\sqrt{v}+\epsilon}
        \ \text{ if } \rho_t > 5,\quad \theta \leftarrow \theta - \eta\,\hat m \ \text{ otherwise}

    with :math:`r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}`.
    Same trajectory as ``torch.optim.RAdam`` for equal eps.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2).
        eps: ε (default 1e-6, where torch uses 1e-8).
        weight_decay: λ, L2 penalty added to the gradient.
        enable_global_step: always on: RAdam needs the step (Cerebras hard-codes it);
            the argument is accepted for a uniform signature.

    State: ``exp_avg``, ``exp_avg_sq``, ``step`` (float32).

    Reference: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond"
    (ICLR 2020).
    """

    kernel = radam
    hyperparameters = ADAM_HYPERPARAMETERS
    param_state = MOMENTS
    global_step = "always"
    host_step = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        enable_global_step: bool = True,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults, enable_global_step)
