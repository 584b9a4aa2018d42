"""``Lamb``: layer-wise adaptive moments (You et al., 2019), as Cerebras ``Lamb``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core import DeclaredOptimizer, Hyperparameter

from ._common import ADAM_HYPERPARAMETERS, MOMENTS
from .functional import lamb

__all__ = ["Lamb"]


class Lamb(DeclaredOptimizer):
    r"""Lamb: Adam moments with a per-tensor trust ratio.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        r = \frac{m}{\sqrt{v}+\epsilon} + \lambda\theta

        w = \min(\lVert\theta\rVert_2, 10),\quad a = \lVert r\rVert_2,\quad
        \tau = w / a \ \text{ if } w > 0 \text{ and } a > 0, \text{ else } 1,\quad
        \theta \leftarrow \theta - \eta\,\tau\,r

    No bias correction; norms are over whole tensors; ``adam=True`` forces τ = 1.
    The trust ratio is computed with tensor ops (no host read, no branch on values).
    Adapted from cybertronai/pytorch-lamb, as Cerebras does.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2).
        eps: ε (default 1e-6).
        weight_decay: λ, added to the Adam ratio before the trust ratio.
        adam: always use trust ratio 1 (turns this into Adam without bias correction).
        enable_global_step: keep a float32 ``state[p]["step"]`` counter.

    State: ``exp_avg``, ``exp_avg_sq`` (and ``step`` with enable_global_step).

    Reference: You et al., "Large Batch Optimization for Deep Learning: Training BERT
    in 76 minutes" (ICLR 2020).
    """

    kernel = lamb
    elementwise = False  # the trust ratio's norms are over whole tensors (see lamb)
    hyperparameters = (*ADAM_HYPERPARAMETERS, Hyperparameter("adam"))
    param_state = MOMENTS

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        adam: bool = False,
        *,
        enable_global_step: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, adam=adam)
        super().__init__(params, defaults, enable_global_step)
