"""The update rules of the sign family as functional kernels over lists of tensors.

Callable without an optimizer object, in ``torch.optim``'s functional style: every
tensor argument is a list (one entry per parameter), every hyperparameter a keyword
that takes a Python number or (where noted) a 0-d tensor. State is updated in place;
nothing is read on the host, and no branch depends on a tensor's value, so a step
compiles once.
"""

from __future__ import annotations

import torch
from torch import Tensor

from waferopt.core import foreach as F

__all__ = ["lion", "rprop"]


def lion(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    *,
    lr: F.Hyper,
    beta1: F.Hyper,
    beta2: F.Hyper,
    weight_decay: F.Hyper = 0.0,
) -> None:
    r"""One Lion step (Chen et al. 2023, Algorithm 2).

    :math:`\theta \leftarrow \theta(1 - \eta\lambda)`,
    :math:`\theta \leftarrow \theta - \eta\,\operatorname{sign}(\beta_1 m + (1-\beta_1) g)`,
    :math:`m \leftarrow \beta_2 m + (1-\beta_2) g`.

    Args:
        params, grads: the parameters and their gradients.
        exp_avgs: the momentum :math:`m` of each parameter.
        lr, beta1, beta2, weight_decay: numbers or 0-d tensors.
    """
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


def rprop(
    params: list[Tensor],
    grads: list[Tensor],
    prevs: list[Tensor],
    step_sizes: list[Tensor],
    *,
    etaminus: float,
    etaplus: float,
    step_size_min: float,
    step_size_max: float,
) -> None:
    r"""One Rprop step (the trajectory of ``torch.optim.Rprop``).

    With :math:`s = g\,g_{\text{prev}}`: :math:`\Delta \leftarrow
    \operatorname{clamp}(\Delta f, \Delta_{\min}, \Delta_{\max})` where :math:`f` is
    :math:`\eta_+` for :math:`s > 0`, :math:`\eta_-` for :math:`s < 0`, 1 otherwise;
    :math:`g \leftarrow 0` where :math:`s < 0` (written into ``grads`` in place, as
    Cerebras does); :math:`\theta \leftarrow \theta - \operatorname{sign}(g)\Delta`;
    :math:`g_{\text{prev}} \leftarrow g`.

    Args:
        params, grads: the parameters and their gradients (``grads`` is rewritten).
        prevs: the previous step's (zeroed) gradients.
        step_sizes: the per-coordinate step sizes :math:`\Delta`.
        etaminus, etaplus, step_size_min, step_size_max: Python numbers.
    """
    for p, g, prev, delta in F.runs([params, grads, prevs, step_sizes]):
        agreement = torch._foreach_mul(g, prev)
        for s, d, gi in zip(agreement, delta, g):
            neg = s.lt(0)
            # f = etaplus where s > 0, etaminus where s < 0, 1 elsewhere (exact constants)
            f = torch.where(s.gt(0), etaplus, torch.where(neg, etaminus, s.new_ones(())))
            d.mul_(f).clamp_(step_size_min, step_size_max)
            gi.masked_fill_(neg, 0)  # Cerebras: written into p.grad
        torch._foreach_addcmul_(p, torch._foreach_sign(g), delta, value=-1)
        torch._foreach_copy_(prev, g)
