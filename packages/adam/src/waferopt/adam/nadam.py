"""``NAdam``: Adam with Nesterov momentum, as ``torch.optim.NAdam``."""

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
    absolute,
    f32,
    numbers,
    promote,
    sub,
    tiles,
    update_moments_,
    zeros_like_param,
)

__all__ = ["NAdam"]


class NAdam(MultiTensorOptimizer):
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
        check_non_negative("lr", lr)
        check_betas("betas", betas)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("momentum_decay", momentum_decay)
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay
        )
        super().__init__(params, defaults, enable_global_step=True)

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        check_non_negative(f"momentum_decay ({where})", group["momentum_decay"])

    def _state_spec(self, group: dict[str, Any]) -> tuple[dict, dict[str, float]]:
        return {"exp_avg": zeros_like_param, "exp_avg_sq": zeros_like_param}, {"mu_product": 1.0}

    def preinitialize(self) -> None:
        """Create ``mu_product``, ``exp_avg``, ``exp_avg_sq`` and ``step`` for every parameter."""
        super().preinitialize()

    def _sync_host(self, group: dict[str, Any], bucket: Bucket) -> None:
        super()._sync_host(group, bucket)
        bucket.host["mu_product"] = bucket.scalars["mu_product"].tolist()

    def _step_bucket(
        self,
        group: dict[str, Any],
        bucket: Bucket,
        grads: TensorList,
        idx: list[int] | None,
        host: bool,
    ) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        eps, wd, psi = group["eps"], group["weight_decay"], group["momentum_decay"]
        params = sub(bucket.params, idx)
        exp_avgs = sub(bucket.tensors["exp_avg"], idx)
        exp_avg_sqs = sub(bucket.tensors["exp_avg_sq"], idx)

        if host and numbers(lr, beta1, beta2, eps, wd, psi):
            mirror = bucket.host["mu_product"]
            for (step, mu_product), pos in bucket.host_groups(idx, ("step", "mu_product")):
                t = step + 1
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                # The float32 state holds fl32(P * fl32(mu)); mirror it exactly.
                mu_product = f32(mu_product * f32(mu))
                scale = math.sqrt(1.0 - beta2**t)
                coef_grad = -lr * (1.0 - mu) / (1.0 - mu_product) * scale
                coef_avg = -lr * mu_next / (1.0 - mu_product * mu_next) * scale
                lists = [sub(a, pos) for a in (params, grads, exp_avgs, exp_avg_sqs)]
                chunks = tiles(lists) if bucket.device.type == "cpu" else [lists]
                for p_, g_, m_, v_ in chunks:
                    if wd != 0:
                        g_ = torch._foreach_add(g_, p_, alpha=wd)
                    update_moments_(m_, v_, g_, beta1, beta2)
                    denom = torch._foreach_sqrt(v_)
                    torch._foreach_add_(denom, eps * scale)
                    torch._foreach_addcdiv_(p_, g_, denom, value=coef_grad)
                    torch._foreach_addcdiv_(p_, m_, denom, value=coef_avg)
                members = absolute(idx, pos)
                bucket.scalar_mul_("mu_product", mu, members)
                for i in members if members is not None else range(len(mirror)):
                    mirror[i] = mu_product
        else:
            cdt = self._coef_dtype(bucket)
            lr, wd = promote(lr, cdt), promote(wd, cdt)
            steps = bucket.scalar_values("step", idx).to(cdt) + 1.0
            mu = beta1 * (1.0 - 0.5 * torch.pow(0.96, steps * psi))
            mu_next = beta1 * (1.0 - 0.5 * torch.pow(0.96, (steps + 1.0) * psi))
            bucket.scalar_mul_("mu_product", mu, idx)
            mu_product = bucket.scalar_values("mu_product", idx).to(cdt)
            scale_t = torch.sqrt(1.0 - torch.pow(beta2, steps))
            coef_grad = -lr * (1.0 - mu) / (1.0 - mu_product)
            coef_avg = -lr * mu_next / (1.0 - mu_product * mu_next)
            if F.is_nonzero_or_tensor(wd):
                grads = F.added_scaled(grads, params, wd)
            update_moments_(exp_avgs, exp_avg_sqs, grads, beta1, beta2)
            denom = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_div_(denom, list(scale_t.unbind(0)))
            torch._foreach_add_(denom, eps)
            update = torch._foreach_div(grads, denom)
            torch._foreach_mul_(update, list(coef_grad.unbind(0)))
            torch._foreach_add_(params, update)
            update = torch._foreach_div(exp_avgs, denom)
            torch._foreach_mul_(update, list(coef_avg.unbind(0)))
            torch._foreach_add_(params, update)
            if host:
                # mu_product moved on the device only: stop trusting the host mirror
                # (reading it back would sync); load_state_dict refreshes it.
                self._host_mirror["valid"] = False

        bucket.scalar_add_("step", 1.0, idx)
        if host:
            bucket.advance(idx)
