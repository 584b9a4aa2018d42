"""Lion with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Optimizer, check_betas, check_non_negative, check_params_not_empty
from waferopt.core import foreach as F

__all__ = ["Lion"]


class Lion(Optimizer):
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

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        *,
        enable_global_step: bool = False,
    ) -> None:
        check_non_negative("lr", lr)
        check_betas("betas", betas)
        check_non_negative("weight_decay", weight_decay)
        params = check_params_not_empty(params)
        defaults = {"lr": lr, "betas": tuple(betas), "weight_decay": weight_decay}
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def preinitialize(self) -> None:
        """Create ``exp_avg`` for every parameter that has none yet."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.
        """
        loss = F.run_closure(closure)
        for group in self.param_groups:
            params, grads, (exp_avgs,) = F.collect("Lion", group, self.state, ("exp_avg",))
            if not params:
                continue
            if self.enable_global_step:
                torch._foreach_add_([self.state[p]["step"] for p in params], 1.0)
            beta1, beta2 = group["betas"]
            _foreach_lion(
                params,
                grads,
                exp_avgs,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
            )
        return loss


def _foreach_lion(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    *,
    lr: F.Hyper,
    beta1: F.Hyper,
    beta2: F.Hyper,
    weight_decay: F.Hyper,
) -> None:
    for p, g, m in F.runs([params, grads, exp_avgs]):
        device = p[0].device
        lr_, b1, b2, wd = (F.on_device(x, device) for x in (lr, beta1, beta2, weight_decay))
        if F.is_nonzero_or_tensor(wd):
            F.mul_(p, 1 - lr_ * wd)
        # c = beta1 * m + (1 - beta1) * g, as one lerp into a fresh list
        c = [x.clone() for x in m] if isinstance(b1, Tensor) else torch._foreach_lerp(m, g, 1 - b1)
        if isinstance(b1, Tensor):
            F.lerp_(c, g, 1 - b1)
        torch._foreach_sign_(c)
        F.add_scaled_(p, c, -lr_)
        F.lerp_(m, g, 1 - b2)
