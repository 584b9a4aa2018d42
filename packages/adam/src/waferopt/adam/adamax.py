"""``Adamax``: Adam with the infinity norm, as ``torch.optim.Adamax``."""

from __future__ import annotations

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
    as_float,
    first_moment_,
    numbers,
    promote,
    steps_from_power,
    sub,
    tiles,
    zeros_like_param,
)

__all__ = ["Adamax"]


class Adamax(MultiTensorOptimizer):
    r"""Adamax: Adam with the infinity norm.

    .. math::
        g' = \pm g + \lambda\theta,\quad m \leftarrow \beta_1 m + (1-\beta_1) g',\quad
        u \leftarrow \max(\beta_2 u, |g'| + \epsilon),\quad
        \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,\frac{m}{u}

    (−g when ``maximize``). The bias correction runs through the ``beta1_power``
    state (β1^t before step t). Same trajectory as ``torch.optim.Adamax`` for equal
    eps.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2).
        eps: ε (default 1e-6, where torch uses 1e-8).
        weight_decay: λ, L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        enable_global_step: keep a float32 ``state[p]["step"]`` counter.

    State: ``exp_avg``, ``exp_inf``, ``beta1_power`` (starts at β1), ``step``
    (enable_global_step).

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2014), §7.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
        *,
        enable_global_step: bool = False,
    ) -> None:
        check_non_negative("lr", lr)
        check_betas("betas", betas)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def _state_spec(self, group: dict[str, Any]) -> tuple[dict, dict[str, float]]:
        return {"exp_avg": zeros_like_param, "exp_inf": zeros_like_param}, {
            "beta1_power": as_float(group["betas"][0])
        }

    def preinitialize(self) -> None:
        """Create ``exp_avg``, ``exp_inf``, ``beta1_power`` (and ``step``) for every parameter."""
        super().preinitialize()

    def _steps_from_state(self, group: dict[str, Any], bucket: Bucket) -> list[int]:
        if "step" in bucket.scalars:
            return super()._steps_from_state(group, bucket)
        steps = steps_from_power(
            bucket.scalars["beta1_power"].tolist(), as_float(group["betas"][0])
        )
        return steps if steps is not None else [0] * len(bucket.params)

    def _step_bucket(
        self,
        group: dict[str, Any],
        bucket: Bucket,
        grads: TensorList,
        idx: list[int] | None,
        host: bool,
    ) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        eps, wd, maximize = group["eps"], group["weight_decay"], group["maximize"]
        params = sub(bucket.params, idx)
        exp_avgs = sub(bucket.tensors["exp_avg"], idx)
        exp_infs = sub(bucket.tensors["exp_inf"], idx)

        if host and numbers(lr, beta1, beta2, eps, wd):
            for t, pos in bucket.step_groups(idx):
                clr = lr / (1.0 - beta1**t)
                lists = [sub(a, pos) for a in (params, grads, exp_avgs, exp_infs)]
                chunks = tiles(lists) if bucket.device.type == "cpu" else [lists]
                for p_, g_, m_, u_ in chunks:
                    if maximize:
                        g_ = torch._foreach_neg(g_)
                    if wd != 0:
                        g_ = torch._foreach_add(g_, p_, alpha=wd)
                    first_moment_(m_, g_, beta1)
                    torch._foreach_mul_(u_, beta2)
                    norm = torch._foreach_abs(g_)
                    torch._foreach_add_(norm, eps)
                    torch._foreach_maximum_(u_, norm)
                    torch._foreach_addcdiv_(p_, m_, u_, value=-clr)
        else:
            cdt = self._coef_dtype(bucket)
            lr, wd = promote(lr, cdt), promote(wd, cdt)
            p1 = bucket.scalar_values("beta1_power", idx).to(cdt)
            coefs = list((-lr / (1.0 - p1)).unbind(0))
            if maximize:
                grads = torch._foreach_neg(grads)
            if F.is_nonzero_or_tensor(wd):
                grads = F.added_scaled(grads, params, wd)
            first_moment_(exp_avgs, grads, beta1)
            torch._foreach_mul_(exp_infs, beta2)
            norm = torch._foreach_abs(grads)
            torch._foreach_add_(norm, eps)
            torch._foreach_maximum_(exp_infs, norm)
            update = torch._foreach_div(exp_avgs, exp_infs)
            torch._foreach_mul_(update, coefs)
            torch._foreach_add_(params, update)

        if host and numbers(beta1):
            bucket.fill_powers_(idx, {"beta1_power": beta1})
        else:
            bucket.scalar_mul_("beta1_power", beta1, idx)
        if "step" in bucket.scalars:
            bucket.scalar_add_("step", 1.0, idx)
        if host:
            bucket.advance(idx)
