"""Averaged stochastic gradient descent, with all state created up front."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty
from waferopt.core.foreach import (
    added_scaled,
    collect,
    group_by_device_and_dtype,
    is_zero,
    run_closure,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
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
        check_non_negative("learning rate (lr)", lr)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("lambd", lambd)
        defaults = dict(
            lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize
        )
        # The step counter drives eta and mu: it is always kept.
        del enable_global_step
        super().__init__(check_params_not_empty(params), defaults, enable_global_step=True)

    def preinitialize(self) -> None:
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                state = self.state[p]
                if "eta" in state:
                    continue
                state["eta"] = (
                    torch.as_tensor(lr, dtype=torch.float32).detach().clone().to(p.device)
                )
                state["mu"] = torch.ones((), dtype=torch.float32, device=p.device)
                state["ax"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step."""
        loss = run_closure(closure)
        for group in self.param_groups:
            params, grads, lists = collect("ASGD", group, self.state, ("step", "eta", "mu", "ax"))
            if not params:
                continue
            for ps, gs, steps, etas, mus, axs in group_by_device_and_dtype([params, grads, *lists]):
                _foreach_asgd(ps, gs, steps, etas, mus, axs, group)
        return loss


def _foreach_asgd(
    params: list, grads: list, steps: list, etas: list, mus: list, axs: list, group: dict[str, Any]
) -> None:
    lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
    torch._foreach_add_(steps, 1.0)
    if group["maximize"]:
        grads = list(torch._foreach_neg(grads))
    if not is_zero(group["weight_decay"]):
        grads = added_scaled(grads, params, group["weight_decay"])
    # theta <- theta * (1 - lambd * eta) - eta * g'
    decay = list(torch._foreach_mul(etas, -lambd))
    torch._foreach_add_(decay, 1.0)
    neg_etas = list(torch._foreach_neg(etas))
    weights = mus
    if params[0].dtype != etas[0].dtype:
        decay = [d.to(params[0].dtype) for d in decay]
        neg_etas = [e.to(params[0].dtype) for e in neg_etas]
        weights = [m.to(params[0].dtype) for m in mus]
    torch._foreach_mul_(params, decay)
    torch._foreach_addcmul_(params, grads, neg_etas)
    # ax <- lerp(ax, theta, mu): exactly theta while mu == 1, no data-dependent branch.
    torch._foreach_lerp_(axs, params, weights)
    # eta and mu for the next step, from the step count:
    # eta = lr / (1 + lambd * lr * t) ** alpha, mu = 1 / max(1, t - t0).
    t = [s.to(torch.float64) for s in steps]
    base = (
        torch._foreach_mul(t, lambd * lr)
        if not isinstance(lr, torch.Tensor)
        else torch._foreach_mul(torch._foreach_mul(t, lambd), lr.to(torch.float64))
    )
    torch._foreach_add_(base, 1.0)
    torch._foreach_pow_(base, alpha)
    torch._foreach_reciprocal_(base)
    torch._foreach_mul_(base, lr)
    torch._foreach_copy_(etas, base)
    since = torch._foreach_sub(t, t0)
    torch._foreach_clamp_min_(since, 1.0)
    torch._foreach_reciprocal_(since)
    torch._foreach_copy_(mus, since)
