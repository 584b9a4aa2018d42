"""Adadelta with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty
from waferopt.core import foreach as F

from ._checks import check_unit_interval

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
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
        check_non_negative("lr", lr)
        check_unit_interval("rho", rho)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        params = check_params_not_empty(params)
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def preinitialize(self) -> None:
        """Create ``square_avg`` and ``acc_delta`` for every parameter that has none yet."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                for key in ("square_avg", "acc_delta"):
                    if key not in state:
                        state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.
        """
        loss = F.run_closure(closure)
        for group in self.param_groups:
            params, grads, (square_avgs, acc_deltas) = F.collect(
                "Adadelta", group, self.state, ("square_avg", "acc_delta")
            )
            if not params:
                continue
            if self.enable_global_step:
                torch._foreach_add_([self.state[p]["step"] for p in params], 1.0)
            _foreach_adadelta(
                params,
                grads,
                square_avgs,
                acc_deltas,
                lr=group["lr"],
                rho=group["rho"],
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                maximize=bool(group["maximize"]),
            )
        return loss


def _foreach_adadelta(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    acc_deltas: list[Tensor],
    *,
    lr: F.Hyper,
    rho: F.Hyper,
    eps: F.Hyper,
    weight_decay: F.Hyper,
    maximize: bool,
) -> None:
    for p, g, v, u in F.runs([params, grads, square_avgs, acc_deltas]):
        device = p[0].device
        lr_, rho_, eps_, wd = (F.on_device(x, device) for x in (lr, rho, eps, weight_decay))
        if maximize:
            g = torch._foreach_neg(g)
        if F.is_nonzero_or_tensor(wd):
            g = F.added_scaled(g, p, wd)
        F.mul_(v, rho_)
        F.addcmul_(v, g, g, 1 - rho_)
        # delta = sqrt((u + eps) / (v + eps)) * g: one square root instead of two
        std = torch._foreach_add(v, eps_)
        delta = torch._foreach_add(u, eps_)
        torch._foreach_div_(delta, std)
        torch._foreach_sqrt_(delta)
        torch._foreach_mul_(delta, g)
        F.mul_(u, rho_)
        F.addcmul_(u, delta, delta, 1 - rho_)
        F.add_scaled_(p, delta, -lr_)
