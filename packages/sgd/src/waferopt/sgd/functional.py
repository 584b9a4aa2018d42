"""The update rules of the SGD family as functional kernels over lists of tensors.

Callable without an optimizer object, in ``torch.optim``'s functional style: every
tensor argument is a list (one entry per parameter, all on one device and dtype, as
:func:`waferopt.core.foreach.group_by_device_and_dtype` splits them), every
hyperparameter a keyword that takes a Python number or a 0-d tensor. State is updated
in place; nothing is read on the host. Step counters are passed *already advanced* for
this step (the optimizer classes count them in core).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from waferopt.core.foreach import (
    Hyper,
    add_scaled_,
    added_scaled,
    fused_supported,
    is_zero,
    lerp_,
    same_dense_layout,
)

__all__ = ["asgd", "sgd"]


def sgd(
    params: list[Tensor],
    grads: list[Tensor],
    momentum_buffers: Sequence[Tensor] | None = None,
    first_steps: Sequence[Tensor] | None = None,
    *,
    lr: Hyper,
    momentum: Hyper = 0.0,
    dampening: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
    fused: bool | None = None,
) -> None:
    r"""One SGD step: :math:`g' = \pm g + \lambda\theta`, :math:`b \leftarrow \mu b + (1-d)g'`,
    :math:`\theta \leftarrow \theta - \eta(g' + \mu b` if Nesterov else :math:`b)`.

    Args:
        params, grads: the parameters and their gradients.
        momentum_buffers: one buffer per param (zeros before the first step), or
            None / empty for plain SGD (momentum is then ignored).
        first_steps: with dampening, one 0-d flag per param, 1.0 until the first step
            (which takes the gradient undamped, as torch does) and set to 0 by it;
            None / empty when the dampening is 0.
        lr, momentum, dampening, weight_decay: numbers or 0-d tensors.
        nesterov: Nesterov momentum.
        maximize: ascend instead of descend.
        fused: ``None`` uses torch's fused kernel where it applies (eager, CPU or CUDA
            float tensors laid out alike, number-valued momentum / dampening / weight decay, no
            first-step flags); ``False`` never does.
    """
    bufs = list(momentum_buffers or ())
    first = list(first_steps or ())
    if not params:
        return
    numbers = not any(isinstance(x, Tensor) for x in (momentum, dampening, weight_decay))
    if (
        fused is not False
        and numbers
        and not first
        and fused_supported(params[:1], "sgd")
        and same_dense_layout(params, grads, bufs)
    ):
        if isinstance(lr, Tensor) and lr.device != params[0].device and lr.device.type != "cpu":
            lr = lr.to(params[0].device)
        torch._fused_sgd_(
            params,
            grads,
            bufs,
            weight_decay=float(weight_decay),
            momentum=float(momentum) if bufs else 0.0,
            lr=lr,
            dampening=float(dampening),
            nesterov=bool(nesterov),
            maximize=bool(maximize),
            # Buffers start at zero: with dampening 0, mu*0 + g equals torch's first step.
            is_first_step=False,
        )
        return
    if maximize:
        grads = list(torch._foreach_neg(grads))
    if not is_zero(weight_decay):
        grads = added_scaled(grads, params, weight_decay)
    if bufs:
        torch._foreach_mul_(bufs, momentum)
        if first:
            # coefficient (1 - d) after the first step, 1 on it: no data-dependent branch.
            coeffs = torch._foreach_add(torch._foreach_mul(first, dampening), 1.0)
            torch._foreach_sub_(coeffs, dampening)  # type: ignore[arg-type]
            torch._foreach_addcmul_(bufs, grads, coeffs)
            torch._foreach_zero_(first)
        elif is_zero(dampening):
            torch._foreach_add_(bufs, grads)
        else:
            add_scaled_(bufs, grads, 1 - dampening)
        if nesterov:
            add_scaled_(grads, bufs, momentum)
        else:
            grads = bufs
    add_scaled_(params, grads, -lr)


def asgd(
    params: list[Tensor],
    grads: list[Tensor],
    axs: list[Tensor],
    etas: list[Tensor],
    mus: list[Tensor],
    steps: list[Tensor],
    *,
    lr: Hyper,
    lambd: Hyper,
    alpha: Hyper,
    t0: Hyper,
    weight_decay: Hyper = 0.0,
    maximize: bool = False,
) -> None:
    r"""One averaged-SGD step (the trajectory of ``torch.optim.ASGD``).

    :math:`\theta \leftarrow \theta(1 - \lambda\eta_t) - \eta_t g'`,
    :math:`\bar\theta \leftarrow \bar\theta + \mu_t(\theta - \bar\theta)`, then
    :math:`\eta_{t+1} = lr / (1 + \lambda\,lr\,t)^\alpha` and
    :math:`\mu_{t+1} = 1 / \max(1, t - t_0)` are written into ``etas`` and ``mus``.

    Args:
        params, grads: the parameters and their gradients.
        axs: the running averages :math:`\bar\theta`.
        etas, mus: 0-d float32 state, :math:`\eta_t` and :math:`\mu_t` for this step.
        steps: 0-d float32 step counters, already advanced to this step's t.
        lr, lambd, alpha, t0, weight_decay: numbers or 0-d tensors.
        maximize: ascend instead of descend.
    """
    if not params:
        return
    if maximize:
        grads = list(torch._foreach_neg(grads))
    if not is_zero(weight_decay):
        grads = added_scaled(grads, params, weight_decay)
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
    lerp_(axs, params, weights)
    # eta and mu for the next step, from the step count:
    # eta = lr / (1 + lambd * lr * t) ** alpha, mu = 1 / max(1, t - t0).
    t = [s.to(torch.float64) for s in steps]
    base = (
        torch._foreach_mul(t, lambd * lr)
        if not isinstance(lr, Tensor)
        else torch._foreach_mul(torch._foreach_mul(t, lambd), lr.to(torch.float64))
    )
    torch._foreach_add_(base, 1.0)
    torch._foreach_pow_(base, alpha)  # type: ignore[arg-type]
    torch._foreach_reciprocal_(base)
    torch._foreach_mul_(base, lr)
    torch._foreach_copy_(etas, base)
    since = torch._foreach_sub(t, t0)  # type: ignore[arg-type]
    torch._foreach_clamp_min_(since, 1.0)
    torch._foreach_reciprocal_(since)
    torch._foreach_copy_(mus, since)
