"""``RAdam``: rectified Adam, as ``torch.optim.RAdam``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import check_betas, check_non_negative
from waferopt.core import foreach as F

from ._multi_tensor import (
    Bucket,
    MultiTensorOptimizer,
    TensorList,
    numbers,
    promote,
    sub,
    tiles,
    update_moments_,
    zeros_like_param,
)

__all__ = ["RAdam"]


class RAdam(MultiTensorOptimizer):
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
        check_non_negative("lr", lr)
        check_betas("betas", betas)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults, enable_global_step=True)

    def _state_spec(self, group: dict[str, Any]) -> tuple[dict, dict[str, float]]:
        return {"exp_avg": zeros_like_param, "exp_avg_sq": zeros_like_param}, {}

    def preinitialize(self) -> None:
        """Create ``exp_avg``, ``exp_avg_sq`` and ``step`` for every parameter."""
        super().preinitialize()

    def _step_bucket(
        self,
        group: dict[str, Any],
        bucket: Bucket,
        grads: TensorList,
        idx: list[int] | None,
        host: bool,
    ) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        eps, wd = group["eps"], group["weight_decay"]
        params = sub(bucket.params, idx)
        exp_avgs = sub(bucket.tensors["exp_avg"], idx)
        exp_avg_sqs = sub(bucket.tensors["exp_avg_sq"], idx)

        if host and numbers(lr, beta1, beta2, eps, wd):
            rho_inf = 2.0 / (1.0 - beta2) - 1.0
            for t, pos in bucket.step_groups(idx):
                bc1 = 1.0 - beta1**t
                bc2 = 1.0 - beta2**t
                rho_t = rho_inf - 2.0 * t * beta2**t / bc2
                lists = [sub(a, pos) for a in (params, grads, exp_avgs, exp_avg_sqs)]
                chunks = tiles(lists) if bucket.device.type == "cpu" else [lists]
                for p_, g_, m_, v_ in chunks:
                    if wd != 0:
                        g_ = torch._foreach_add(g_, p_, alpha=wd)
                    update_moments_(m_, v_, g_, beta1, beta2)
                    if rho_t > 5.0:
                        rect = math.sqrt(
                            (rho_t - 4.0)
                            * (rho_t - 2.0)
                            * rho_inf
                            / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
                        )
                        denom = torch._foreach_sqrt(v_)
                        torch._foreach_add_(denom, eps)
                        torch._foreach_addcdiv_(
                            p_, m_, denom, value=-lr * rect * math.sqrt(bc2) / bc1
                        )
                    else:
                        torch._foreach_add_(p_, m_, alpha=-lr / bc1)
        else:
            cdt = self._coef_dtype(bucket)
            lr, wd = promote(lr, cdt), promote(wd, cdt)
            steps = bucket.scalar_values("step", idx).to(cdt) + 1.0
            bc1 = 1.0 - torch.pow(beta1, steps)
            beta2_t = torch.pow(beta2, steps)
            bc2 = 1.0 - beta2_t
            rho_inf = 2.0 / (1.0 - beta2) - 1.0
            rho_t = rho_inf - 2.0 * steps * beta2_t / bc2
            rect_sq = (
                (rho_t - 4.0)
                * (rho_t - 2.0)
                * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
            )
            rect_t = torch.sqrt(torch.clamp(rect_sq, min=0.0))
            rectified = rho_t > 5.0
            zero = torch.zeros_like(steps)
            adaptive = torch.where(rectified, -lr * rect_t * torch.sqrt(bc2) / bc1, zero)
            plain = torch.where(rectified, zero, -lr / bc1)
            if F.is_nonzero_or_tensor(wd):
                grads = F.added_scaled(grads, params, wd)
            update_moments_(exp_avgs, exp_avg_sqs, grads, beta1, beta2)
            denom = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_add_(denom, eps)
            update = torch._foreach_div(exp_avgs, denom)
            torch._foreach_mul_(update, list(adaptive.unbind(0)))
            torch._foreach_add_(params, update)
            torch._foreach_add_(params, torch._foreach_mul(exp_avgs, list(plain.unbind(0))))

        bucket.scalar_add_("step", 1.0, idx)
        if host:
            bucket.advance(idx)
