"""``Lamb``: layer-wise adaptive moments (You et al., 2019), as Cerebras ``Lamb``."""

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
    promote,
    sub,
    update_moments_,
    zeros_like_param,
)

__all__ = ["Lamb"]


class Lamb(MultiTensorOptimizer):
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
        check_non_negative("lr", lr)
        check_betas("betas", betas)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, adam=adam)
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def _state_spec(self, group: dict[str, Any]) -> tuple[dict, dict[str, float]]:
        return {"exp_avg": zeros_like_param, "exp_avg_sq": zeros_like_param}, {}

    def preinitialize(self) -> None:
        """Create ``exp_avg`` and ``exp_avg_sq`` (and ``step``) for every parameter."""
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
        cdt = self._coef_dtype(bucket)
        lr, wd = promote(lr, cdt), promote(wd, cdt)

        update_moments_(exp_avgs, exp_avg_sqs, grads, beta1, beta2)
        denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_add_(denom, eps)
        ratio = torch._foreach_div(exp_avgs, denom)
        if F.is_nonzero_or_tensor(wd):
            F.add_scaled_(ratio, params, wd)
        if group["adam"]:
            torch._foreach_mul_(ratio, -lr)
        else:
            weight_norm = torch.stack(torch._foreach_norm(params)).clamp(0.0, 10.0)
            ratio_norm = torch.stack(torch._foreach_norm(ratio))
            weight_norm, ratio_norm = weight_norm.to(cdt), ratio_norm.to(cdt)
            trust = torch.where(
                (weight_norm > 0) & (ratio_norm > 0),
                weight_norm / ratio_norm,
                torch.ones_like(weight_norm),
            )
            torch._foreach_mul_(ratio, list((trust * -lr).unbind(0)))
        torch._foreach_add_(params, ratio)

        if "step" in bucket.scalars:
            bucket.scalar_add_("step", 1.0, idx)
        if host:
            bucket.advance(idx)
