"""Adan: adaptive Nesterov momentum (Xie et al., 2022)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from waferopt.core import (
    Optimizer,
    check_betas,
    check_non_negative,
    check_params_not_empty,
    check_sparse,
)

__all__ = ["Adan"]


class Adan(Optimizer):
    r"""Adan: adaptive Nesterov momentum.

    With gradient :math:`g_t`, its change :math:`\Delta_t = g_t - g_{t-1}`
    (:math:`\Delta_1 = 0`) and betas :math:`(\beta_1, \beta_2, \beta_3)`:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, \Delta_t \\
        n_t &= \beta_3 n_{t-1} + (1-\beta_3)\, (g_t + \beta_2 \Delta_t)^2 \\
        u_t &= \frac{m_t / (1-\beta_1^t) + \beta_2\, v_t / (1-\beta_2^t)}
                    {\sqrt{n_t / (1-\beta_3^t)} + \epsilon} \\
        \theta_t &= (\theta_{t-1} - \eta\, u_t) / (1 + \eta\lambda)

    This is Algorithm 1 of the paper written with the PyTorch convention for the
    betas: the paper's :math:`\beta_k` is :math:`1-\beta_k` here (the paper's
    defaults 0.02, 0.08, 0.01 are 0.98, 0.92, 0.99). As in the authors'
    implementation, the moments start at zero with bias correction (the paper's
    :math:`m_0 = g_0` start is what bias correction approximates), and the weight
    decay is the proximal step :math:`(1+\eta\lambda)^{-1}`; ``no_prox=True``
    uses the decoupled :math:`\theta(1-\eta\lambda)` before the step instead.

    All state is created at construction (``exp_avg``, ``exp_avg_diff``,
    ``exp_avg_sq``, ``prev_grad`` and the global ``step``); ``lr``,
    ``weight_decay`` and the betas may be floats or 0-d tensors.

    Args:
        params: parameters or parameter groups.
        lr: learning rate η.
        betas: (β1, β2, β3), each in [0, 1).
        eps: ε added to the denominator.
        weight_decay: λ.
        no_prox: decoupled weight decay instead of the proximal step.

    References:
        X. Xie, P. Zhou, H. Li, Z. Lin, S. Yan. "Adan: Adaptive Nesterov Momentum
        Algorithm for Faster Optimizing Deep Models". arXiv:2208.06677 (2022),
        Algorithm 1; authors' implementation github.com/sail-sg/Adan.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float, float] = (0.98, 0.92, 0.99),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        no_prox: bool = False,
    ) -> None:
        check_non_negative("lr", lr)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        check_betas("betas", betas, count=3)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "no_prox": bool(no_prox),
        }
        super().__init__(check_params_not_empty(params), defaults, enable_global_step=True)

    def preinitialize(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                for key in ("exp_avg", "exp_avg_diff", "exp_avg_sq", "prev_grad"):
                    if key not in state:
                        state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one Adan step; returns the closure's loss if a closure is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:  # every gradient is checked before anything changes
            for p in group["params"]:
                if p.grad is not None:
                    check_sparse("Adan", p.grad)
        for group in self.param_groups:
            beta1, beta2, beta3 = group["betas"]
            lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                step = self.increment_global_step(p)
                # Δ_1 = 0: the first step has no previous gradient (no Python branch).
                diff = (grad - state["prev_grad"]) * (step > 1).to(grad.dtype)
                state["exp_avg"].lerp_(grad, 1 - beta1)
                state["exp_avg_diff"].lerp_(diff, 1 - beta2)
                nesterov = grad + beta2 * diff
                state["exp_avg_sq"].mul_(beta3).addcmul_(nesterov, nesterov, value=1 - beta3)
                bc1 = 1 - torch.pow(beta1, step)
                bc2 = 1 - torch.pow(beta2, step)
                bc3 = 1 - torch.pow(beta3, step)
                denom = (state["exp_avg_sq"] / bc3).sqrt_().add_(eps)
                update = (state["exp_avg"] / bc1 + beta2 * state["exp_avg_diff"] / bc2) / denom
                if group["no_prox"]:
                    p.mul_(1 - lr * wd)
                    p.sub_(lr * update)
                else:
                    p.sub_(lr * update)
                    p.div_(1 + lr * wd)
                state["prev_grad"].copy_(grad)
        return loss
