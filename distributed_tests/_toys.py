"""Two small optimizers written with the authoring API whose rules read whole tensors:
how a family author uses waferopt.core.distributed (and the tests that it works).

* ``NormalizedSGD``: ``p -= lr * g / ||g||``, a whole-tensor norm (Lamb's pattern).
* ``OrthogonalSGD``: ``p -= lr * NS(g)`` for matrices, ``NS`` a few Newton-Schulz
  iterations that need the whole matrix (Muon's pattern): gather it with
  ``full_tensor``, compute on every rank, keep this rank's part with ``local_part``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from waferopt.core import check_non_negative
from waferopt.core import distributed as D
from waferopt.core.authoring import DeclaredOptimizer, Hyperparameter


class NormalizedSGD(DeclaredOptimizer):
    hyperparameters = (Hyperparameter("lr", check_non_negative),)
    elementwise = False

    def __init__(self, params: Any, lr: float = 0.1) -> None:
        super().__init__(params, {"lr": lr})

    def update(self, group: dict, params: list[Tensor], grads: list[Tensor], state: dict) -> None:
        local_params, local_grads = D.local_lists([params, grads])
        norms = D.norms(local_grads, params)
        torch._foreach_add_(norms, 1e-12)
        steps = torch._foreach_div(local_grads, norms)
        torch._foreach_mul_(steps, group["lr"])
        torch._foreach_sub_(local_params, steps)


def newton_schulz(g: Tensor, iterations: int = 5) -> Tensor:
    """The cubic Newton-Schulz iteration towards the orthogonal factor of ``g``."""
    x = g / (g.norm() + 1e-12)
    for _ in range(iterations):
        x = 1.5 * x - 0.5 * x @ x.mT @ x
    return x


class OrthogonalSGD(DeclaredOptimizer):
    hyperparameters = (Hyperparameter("lr", check_non_negative),)
    elementwise = False

    def __init__(self, params: Any, lr: float = 0.05) -> None:
        super().__init__(params, {"lr": lr})

    def update(self, group: dict, params: list[Tensor], grads: list[Tensor], state: dict) -> None:
        for p, g in zip(params, grads):
            local_p, local_g = D.local(p), D.local(g)
            if p.dim() == 2:
                whole = newton_schulz(D.full_tensor(local_g, p))
                local_p.sub_(D.local_part(whole, p) * group["lr"])
            else:
                local_p.sub_(local_g * group["lr"])
