r"""The update rules of waferopt-modern as functions over lists of tensors.

Each function is one optimizer step for one parameter group, in the style of
``torch.optim.adam.adam``: it takes the parameters, their gradients and their state
tensors as aligned lists, updates parameters and state in place, and returns
nothing. The classes in this package gather the lists and call these; distributed
code or a user's own loop may call them directly.

Every hyperparameter may be a Python number or a 0-d tensor. Counters and running
scalars (step counts, schedule-free's weight sum, Prodigy's distance estimate) are
0-d tensors that the functions update in place, so a step never reads a tensor on
the host and compiles once under ``torch.compile(fullgraph=True)``. Scalar
coefficients are computed in float64 (float32 on MPS) and rounded once to the
parameters' dtype, as the references do with Python floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from waferopt.core import distributed as D
from waferopt.core import foreach as F
from waferopt.core.coefficients import coefficient_dtype
from waferopt.core.foreach import Hyper

__all__ = [
    "MUON_NS_COEFFICIENTS",
    "ProdigyGroup",
    "adamw_schedule_free",
    "ademamix",
    "muon",
    "muon_lr_ratio",
    "muon_with_adamw",
    "prodigy",
    "prodigy_accumulate",
    "prodigy_apply",
    "prodigy_estimate",
    "prodigy_groups",
    "prodigy_step_scalars",
    "zeropower_via_newtonschulz",
]

MUON_NS_COEFFICIENTS: tuple[float, float, float] = (3.4445, -4.7750, 2.0315)
"""Keller Jordan's quintic Newton-Schulz coefficients (torch.optim.Muon's defaults)."""


# ---------------------------------------------------------------------------- scalars
def scalar(value: Hyper, like: Tensor) -> Tensor:
    """``value`` as a 0-d tensor of ``like``'s dtype and device (no host read)."""
    if isinstance(value, Tensor):
        return value.to(device=like.device, dtype=like.dtype)
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def _cast(value: Hyper, dtype: torch.dtype, device: torch.device) -> Hyper:
    """A tensor coefficient rounded to the data's dtype (a Python number is left alone)."""
    if isinstance(value, Tensor):
        return value.to(device=device, dtype=dtype)
    return value


class _Coefficients:
    """Scalar coefficients rounded to a run's dtype once per kernel call, not once per
    cache-sized chunk (``F.runs`` cuts a CPU run into many)."""

    def __init__(self, **values: Hyper) -> None:
        self.values = values
        self.cache: dict[tuple[torch.dtype, torch.device], dict[str, Any]] = {}

    def __call__(self, like: Tensor) -> dict[str, Any]:
        key = (like.dtype, like.device)
        if key not in self.cache:
            self.cache[key] = {k: _cast(v, like.dtype, like.device) for k, v in self.values.items()}
        return self.cache[key]


def _add_scaled_(xs: list[Tensor], ys: list[Tensor], s: Hyper) -> None:
    """``x += s * y``. A 0-d tensor ``s`` on the CPU goes through ``addcmul`` with ``s``
    broadcast: one pass and no temporary, where ``core.foreach.add_scaled_`` multiplies
    into a new list first (measured 2x on a cache-sized chunk). On other devices the
    broadcast would leave the fused multi-tensor kernel, so core's form is used."""
    if isinstance(s, Tensor) and xs and xs[0].device.type == "cpu":
        torch._foreach_addcmul_(xs, ys, [s] * len(xs))
    else:
        F.add_scaled_(xs, ys, s)


def _with_weight_decay(
    params: list[Tensor], grads: list[Tensor], weight_decay: Hyper
) -> list[Tensor]:
    """``g + weight_decay * p`` (coupled L2), as new tensors; the grads are left alone."""
    if F.is_zero(weight_decay) or not params:  # (a foreach op refuses empty lists)
        return list(grads)
    return F.added_scaled(grads, params, weight_decay)


def _negated(grads: list[Tensor], maximize: bool) -> list[Tensor]:
    return list(torch._foreach_neg(grads)) if maximize else list(grads)


# ---------------------------------------------------------------------------- Muon
def zeropower_via_newtonschulz(
    update: Tensor,
    ns_coefficients: tuple[float, float, float] = MUON_NS_COEFFICIENTS,
    ns_steps: int = 5,
    eps: float = 1e-7,
) -> Tensor:
    r"""Approximate :math:`U V^\top` of :math:`G = U S V^\top` by a quintic Newton-Schulz iteration.

    .. math::
        X_0 = G / \max(\lVert G \rVert_F, \varepsilon), \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \quad A_k = X_k X_k^\top

    in bfloat16, on the wide orientation of ``update`` (transposed when it has more
    rows than columns), exactly as ``torch.optim.Muon`` computes it. The result's
    singular values are close to (not exactly) one.

    Args:
        update: a 2-D tensor.
        ns_coefficients: :math:`(a, b, c)`.
        ns_steps: number of iterations.
        eps: lower bound of the norm that scales :math:`G`.

    Returns:
        a bfloat16 tensor of ``update``'s shape.
    """
    if update.ndim != 2:
        raise ValueError(
            f"Newton-Schulz orthogonalization needs a 2-D matrix, got shape {tuple(update.shape)}"
        )
    a, b, c = ns_coefficients
    x = update.bfloat16()
    tall = update.size(0) > update.size(1)
    if tall:
        x = x.T
    x = x.div(x.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram = x @ x.T
        poly = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, poly, x, beta=a)
    return x.T if tall else x


def muon_lr_ratio(adjust_lr_fn: str | None, shape: Sequence[int]) -> float:
    r"""The factor Muon scales the learning rate by for a matrix of ``shape`` (A x B).

    ``"original"`` (or None): :math:`\sqrt{\max(1, A/B)}` (Keller Jordan);
    ``"match_rms_adamw"``: :math:`0.2\sqrt{\max(A, B)}` (Moonshot: the update's RMS
    matches AdamW's, so AdamW's lr and weight decay carry over).
    """
    rows, cols = shape[0], shape[1]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1.0, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    raise ValueError(
        f"Invalid adjust_lr_fn: {adjust_lr_fn!r} (expected None, 'original' or 'match_rms_adamw')"
    )


def muon(
    params: list[Tensor],
    grads: list[Tensor],
    momentum_buffers: list[Tensor],
    *,
    lr: Hyper,
    weight_decay: Hyper,
    momentum: Hyper,
    nesterov: bool,
    ns_coefficients: tuple[float, float, float],
    ns_steps: int,
    eps: float,
    adjust_lr_fn: str | None,
) -> None:
    r"""One Muon step over 2-D parameters (see :class:`waferopt.modern.Muon`).

    .. math::
        B &\leftarrow \mu B + (1-\mu)\, g \\
        O &= \mathrm{NS}\big(\text{nesterov} ? (1-\mu) g + \mu B : B\big) \\
        \theta &\leftarrow \theta (1 - \eta\lambda) - \eta\, r(A, B)\, O
    """
    if not params:
        return
    for p in params:
        if p.ndim != 2:
            raise ValueError(f"Muon updates 2-D parameters only, got one of shape {tuple(p.shape)}")
    for sharded, gs, bufs in F.group_by_device_and_dtype(
        [params, grads, momentum_buffers], local=False
    ):
        # element-wise parts on local shards; Newton-Schulz on the whole (gathered) matrix
        ps, gs, bufs = D.local_lists([sharded, gs, bufs])
        device, dtype = ps[0].device, ps[0].dtype
        mom = _cast(momentum, dtype, device)
        F.lerp_(bufs, gs, 1 - mom)
        if nesterov:
            updates = [g.clone() for g in gs]
            F.lerp_(updates, bufs, mom)
        else:
            updates = bufs
        if isinstance(lr, Tensor) or isinstance(weight_decay, Tensor):
            lr64 = scalar(lr, torch.empty((), dtype=coefficient_dtype(device), device=device))
            F.mul_(ps, (1 - lr64 * weight_decay).to(dtype))
            for p, u, whole in zip(ps, updates, sharded):
                o = _orthogonalized(u, whole, ns_coefficients, ns_steps, eps)
                step = (-lr64 * muon_lr_ratio(adjust_lr_fn, whole.shape)).to(dtype)
                p.add_(o.to(dtype) * step)
        else:
            if weight_decay != 0:
                F.mul_(ps, 1 - lr * weight_decay)
            for p, u, whole in zip(ps, updates, sharded):
                o = _orthogonalized(u, whole, ns_coefficients, ns_steps, eps)
                p.add_(o, alpha=-lr * muon_lr_ratio(adjust_lr_fn, whole.shape))


def muon_with_adamw(
    params: list[Tensor],
    grads: list[Tensor],
    momentum_buffers: list[Tensor] | None,
    exp_avgs: list[Tensor] | None,
    exp_avg_sqs: list[Tensor] | None,
    step: Tensor | None,
    *,
    use_muon: bool,
    lr: Hyper,
    weight_decay: Hyper,
    eps: float,
    betas: tuple[Hyper, Hyper] | None = None,
    **muon_options: Any,
) -> None:
    """One step of a param group of :class:`waferopt.modern.Muon`: :func:`muon` on a Muon
    group (``use_muon``, with ``momentum_buffers`` and ``muon_options``: ``momentum``,
    ``nesterov``, ``ns_coefficients``, ``ns_steps``, ``adjust_lr_fn``), AdamW on the
    others (:func:`ademamix` without slow momentum, decoupled decay, with ``exp_avgs``,
    ``exp_avg_sqs``, the group's ``step`` counter and ``betas``; ``muon_options`` are
    not used)."""
    if use_muon:
        if momentum_buffers is None:
            raise ValueError("muon_with_adamw: a Muon group (use_muon=True) needs momentum_buffers")
        muon(
            params,
            grads,
            momentum_buffers,
            lr=lr,
            weight_decay=weight_decay,
            eps=eps,
            **muon_options,
        )
        return
    if exp_avgs is None or exp_avg_sqs is None or step is None or betas is None:
        raise ValueError(
            "muon_with_adamw: an AdamW group (use_muon=False) needs exp_avgs, exp_avg_sqs, "
            "step and betas"
        )
    beta1, beta2 = betas
    ademamix(
        params, grads, exp_avgs, exp_avg_sqs, None, step, lr=lr, beta1=beta1, beta2=beta2,
        eps=eps, weight_decay=weight_decay, weight_decouple=True,
    )  # fmt: skip


def _orthogonalized(
    update: Tensor,
    like: Tensor,
    ns_coefficients: tuple[float, float, float],
    ns_steps: int,
    eps: float,
) -> Tensor:
    """Newton-Schulz of the whole matrix of which ``update`` is this rank's shard (cut
    like ``like``; a plain ``like``: ``update`` is the whole matrix), this rank's part."""
    whole = D.full_tensor(update, like)
    return D.local_part(zeropower_via_newtonschulz(whole, ns_coefficients, ns_steps, eps), like)


# ---------------------------------------------------------------------------- AdEMAMix
def _ademamix_scalars(
    step: Tensor,
    beta1: Hyper,
    beta2: Hyper,
    beta3: Hyper,
    alpha: Hyper,
    t_alpha_beta3: float | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """bias corrections 1 - b1^t and sqrt(1 - b2^t), alpha_t and beta3_t at step ``step``."""
    t = step.to(coefficient_dtype(step.device))
    b1, b2, b3, a = (scalar(x, t) for x in (beta1, beta2, beta3, alpha))
    bc1 = 1 - b1**t
    bc2_sqrt = torch.sqrt(1 - b2**t)
    if t_alpha_beta3 is None:
        return bc1, bc2_sqrt, a, b3
    frac = t / t_alpha_beta3
    alpha_t = torch.minimum(t * a / t_alpha_beta3, a)
    log1, log3 = torch.log(b1), torch.log(b3)
    beta3_t = torch.minimum(torch.exp(log1 * log3 / ((1 - frac) * log3 + frac * log1)), b3)
    return bc1, bc2_sqrt, alpha_t, beta3_t


def ademamix(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    exp_avg_slows: list[Tensor] | None,
    step: Tensor,
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    beta3: Hyper = 0.9999,
    alpha: Hyper = 5.0,
    t_alpha_beta3: float | None = None,
    eps: Hyper,
    weight_decay: Hyper,
    weight_decouple: bool,
    fixed_decay: bool = False,
    maximize: bool = False,
) -> None:
    r"""One AdEMAMix step (see :class:`waferopt.modern.AdEMAMix`); ``step`` is advanced by one.

    With ``exp_avg_slows=None`` there is no slow momentum: the step is Adam's
    (``weight_decouple=True``: AdamW's), which is what :class:`~waferopt.modern.Muon`
    runs on its ``use_muon=False`` groups.
    """
    step.add_(1)
    if not params:
        return
    bc1, bc2_sqrt, alpha_t, beta3_t = _ademamix_scalars(
        step, beta1, beta2, beta3, alpha, t_alpha_beta3
    )
    lists: list[list[Tensor]] = [params, grads, exp_avgs, exp_avg_sqs]
    if exp_avg_slows is not None:
        lists.append(exp_avg_slows)
    coefs = _Coefficients(
        lr=lr, wd=weight_decay, b1=beta1, b2=beta2, eps=eps, bc1=bc1, bc2_sqrt=bc2_sqrt,
        alpha_t=alpha_t, beta3_t=beta3_t,
    )  # fmt: skip
    for run in F.runs(lists):
        ps, gs, ms, vs = run[:4]
        c = coefs(ps[0])
        gs = _negated(gs, maximize)
        if weight_decouple:
            if F.is_nonzero_or_tensor(c["wd"]):
                F.mul_(ps, 1 - c["wd"] if fixed_decay else 1 - c["wd"] * c["lr"])
        else:
            gs = _with_weight_decay(ps, gs, c["wd"])
        F.lerp_(ms, gs, 1 - c["b1"])
        F.mul_(vs, c["b2"])
        F.addcmul_(vs, gs, gs, 1 - c["b2"])
        denom = torch._foreach_sqrt(vs)
        torch._foreach_div_(denom, c["bc2_sqrt"])
        torch._foreach_add_(denom, c["eps"])
        updates = list(torch._foreach_div(ms, c["bc1"]))
        if exp_avg_slows is not None:
            slows = run[4]
            F.lerp_(slows, gs, 1 - c["beta3_t"])
            _add_scaled_(updates, slows, c["alpha_t"])
        F.addcdiv_(ps, updates, denom, -c["lr"])


# ---------------------------------------------------------------------------- schedule-free AdamW
def adamw_schedule_free(
    params: list[Tensor],
    grads: list[Tensor],
    zs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    k: Tensor,
    weight_sum: Tensor,
    lr_max: Tensor,
    scheduled_lr: Tensor,
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper,
    warmup_steps: int,
    r: Hyper,
    weight_lr_power: Hyper,
) -> None:
    r"""One schedule-free AdamW step in train mode (see :class:`waferopt.modern.AdamWScheduleFree`).

    ``params`` hold :math:`y` (the point where gradients are taken); ``k``,
    ``weight_sum``, ``lr_max`` and ``scheduled_lr`` are the group's 0-d running
    scalars, updated in place.
    """
    dt = coefficient_dtype(k.device)
    kp1 = k.to(dt) + 1
    if warmup_steps > 0:
        sched = torch.where(kp1 <= warmup_steps, kp1 / warmup_steps, torch.ones_like(kp1))
    else:
        sched = torch.ones_like(kp1)
    bc2 = 1 - scalar(beta2, kp1) ** kp1
    lr_t = scalar(lr, kp1) * sched
    scheduled_lr.copy_(lr_t)
    lr_max.copy_(torch.maximum(lr_t, lr_max.to(dt)))
    weight = kp1 ** scalar(r, kp1) * lr_max.to(dt) ** scalar(weight_lr_power, kp1)
    weight_sum.add_(weight)
    ws = weight_sum.to(dt)
    ckp1 = torch.where(ws != 0, weight / torch.where(ws != 0, ws, 1), 0)
    y_coef = lr_t * (scalar(beta1, kp1) * (1 - ckp1) - 1)
    k.add_(1)
    if not params:
        return
    coefs = _Coefficients(
        b2=beta2, eps=eps, wd=weight_decay, bc2=bc2, ckp1=ckp1, y_coef=y_coef, z_coef=-lr_t
    )
    for ys, gs, zz, vs in F.runs([params, grads, zs, exp_avg_sqs]):
        c = coefs(ys[0])
        F.mul_(vs, c["b2"])
        F.addcmul_(vs, gs, gs, 1 - c["b2"])
        denom = torch._foreach_div(vs, c["bc2"])
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, c["eps"])
        normalized = list(torch._foreach_div(gs, denom))
        if F.is_nonzero_or_tensor(c["wd"]):
            _add_scaled_(normalized, ys, c["wd"])
        F.lerp_(ys, zz, c["ckp1"])
        _add_scaled_(ys, normalized, c["y_coef"])
        _add_scaled_(zz, normalized, c["z_coef"])


def schedule_free_swap_(params: list[Tensor], zs: list[Tensor], weight: Hyper) -> None:
    """``p <- lerp(p, z, weight)``: train() uses ``1 - beta1``, eval() ``1 - 1/beta1``."""
    if params:
        F.lerp_(params, zs, weight)


# ---------------------------------------------------------------------------- Prodigy
def prodigy_accumulate(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor] | None,
    exp_avg_sqs: list[Tensor],
    s: list[Tensor],
    p0: list[Tensor],
    *,
    d: Tensor,
    d0: Tensor,
    dlr: Tensor,
    beta1: Hyper,
    beta2: Hyper,
    beta3: Tensor,
    weight_decay: Hyper,
    decouple: bool,
    safeguard_warmup: bool,
    slice_p: int,
    active: Tensor | bool = True,
) -> tuple[Tensor, Tensor, list[Tensor]]:
    r"""Prodigy's first phase for one group: moments, ``s``, and the two sums.

    Updates :math:`m \leftarrow \beta_1 m + d(1-\beta_1) g`, :math:`v \leftarrow
    \beta_2 v + d^2(1-\beta_2) g^2` and :math:`s \leftarrow \beta_3 s + \frac{d}{d_0}
    \cdot (d\ \text{or}\ d\eta) \cdot g_{::p}` where ``active`` (the group's lr is
    not zero), and returns this group's contribution to the numerator
    :math:`\frac{d}{d_0} d\eta \langle g_{::p}, x_0 - x_{::p} \rangle`, to the
    denominator :math:`\lVert s \rVert_1`, and the gradients the step uses (with
    coupled weight decay added when ``decouple`` is False).
    """
    dt = d.dtype
    if not decouple:
        grads = _with_weight_decay(params, grads, weight_decay)
    zero = torch.zeros((), dtype=dt, device=d.device)
    if not params or active is False:
        return zero, zero, grads
    gate = active if isinstance(active, Tensor) else None

    def gated(decay: Tensor, coef: Tensor) -> tuple[Tensor, Tensor]:
        # an inactive group (lr 0) keeps its state: x * 1 + g * 0 is exactly x
        if gate is None:
            return decay, coef
        return torch.where(gate, decay, 1), torch.where(gate, coef, 0)

    dd0 = d / d0
    b1, b2 = scalar(beta1, d), scalar(beta2, d)
    m_decay, m_coef = gated(b1, d * (1 - b1))
    v_decay, v_coef = gated(b2, d * d * (1 - b2))
    s_decay, s_coef = gated(beta3, dd0 * (d if safeguard_warmup else dlr))
    sliced_g = [g.flatten()[::slice_p] for g in grads]
    sliced_p = [p.flatten()[::slice_p] for p in params]
    coefs = _Coefficients(
        m_decay=m_decay, m_coef=m_coef, v_decay=v_decay, v_coef=v_coef, s_decay=s_decay,
        s_coef=s_coef,
    )  # fmt: skip
    # one pass: each cache-sized chunk of g, x, x0, m, v, s is read once for the dot
    # product, the three averages and |s| (with slice_p 1 and non-zero parameters, all
    # lists line up element for element; otherwise F.runs keeps those tensors whole)
    lists = [params, grads, exp_avg_sqs, s, sliced_g, sliced_p, p0]
    dots: list[Tensor] = []
    norms: list[Tensor] = []
    for ps, gs, vs, ss, sg, sp, x0s, *ms in F.runs(
        [*lists, exp_avgs] if exp_avgs is not None else lists
    ):
        c = coefs(ps[0])
        dots.extend(torch.dot(g, (x0 - x) if x0.dim() else -x) for g, x0, x in zip(sg, x0s, sp))
        if ms:
            F.mul_(ms[0], c["m_decay"])
            _add_scaled_(ms[0], gs, c["m_coef"])
        F.mul_(vs, c["v_decay"])
        F.addcmul_(vs, gs, gs, c["v_coef"])
        F.mul_(ss, c["s_decay"])
        _add_scaled_(ss, sg, c["s_coef"])
        norms.extend(x.abs().sum() for x in ss)  # abs().sum(): faster than _foreach_norm
    numerator = (dd0 * dlr) * torch.stack(dots).to(dt).sum()
    denominator = torch.stack(norms).to(dt).sum()
    if gate is not None:
        numerator = torch.where(gate, numerator, zero)
        denominator = torch.where(gate, denominator, zero)
    return numerator, denominator, grads


def prodigy_estimate(
    numerator: Tensor,
    denominator: Tensor,
    *,
    d: Tensor,
    d0: Tensor,
    d_max: Tensor,
    d_numerator: Tensor,
    d_denom: Tensor,
    d_hat: Tensor,
    k: Tensor,
    beta3: Tensor,
    d_coef: Hyper,
    growth_rate: float,
) -> Tensor:
    r"""Prodigy's distance estimate, updated in place once all groups have accumulated.

    .. math::
        r &\leftarrow \beta_3 r + \textstyle\sum_{\text{groups}} \text{numerator} \\
        \hat d &= d_{\text{coef}}\, r / \lVert s \rVert_1 \\
        d &\leftarrow \min(\max(d_{\max}, \hat d),\ \gamma d)

    (and :math:`d \leftarrow \max(d, \hat d)` first while :math:`d = d_0`). When the
    denominator is zero (no gradient signal yet) nothing changes and the step takes
    no parameter update, as in prodigyopt. Returns the 0-d boolean "step taken".
    """
    taken = denominator != 0
    global_num = d_numerator * beta3 + numerator
    safe = torch.where(taken, denominator, 1)
    est = d_coef * global_num / safe
    new_d = torch.where(d == d0, torch.maximum(d, est), d)
    new_max = torch.maximum(d_max, est)
    new_d = torch.minimum(new_max, new_d * growth_rate)
    d_numerator.copy_(torch.where(taken, global_num, d_numerator))
    d_denom.copy_(torch.where(taken, denominator, d_denom))
    d_hat.copy_(torch.where(taken, est, d_hat))
    d_max.copy_(torch.where(taken, new_max, d_max))
    d.copy_(torch.where(taken, new_d, d))
    k.add_(taken.to(k.dtype))
    return taken


def prodigy_apply(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor] | None,
    exp_avg_sqs: list[Tensor],
    *,
    d: Tensor,
    dlr: Tensor,
    eps: Hyper,
    weight_decay: Hyper,
    decouple: bool,
) -> None:
    r"""Prodigy's parameter update for one group, with the new :math:`d` and the step's :math:`d\eta`.

    .. math::
        \theta \leftarrow \theta(1 - \lambda\, d\eta) - d\eta\, \frac{m}{\sqrt v + d\,\epsilon}
        \quad (\beta_1 = 0:\ m \to d\, g)
    """
    if not params:
        return
    lists = [params, grads, exp_avg_sqs, *([exp_avgs] if exp_avgs is not None else [])]
    with_m = exp_avgs is not None
    coefs = _Coefficients(
        d_eps=d * scalar(eps, d),
        decay=-scalar(weight_decay, d) * dlr,
        step=-dlr if with_m else -dlr * d,
    )
    for ps, gs, vs, *ms in F.runs(lists):
        c = coefs(ps[0])
        denom = torch._foreach_sqrt(vs)
        if torch.compiler.is_compiling():  # a 0-d tensor as a foreach scalar: Dynamo < 2.11
            torch._foreach_add_(denom, [c["d_eps"]] * len(denom))  # cannot trace it
        else:
            torch._foreach_add_(denom, c["d_eps"])
        if decouple and F.is_nonzero_or_tensor(weight_decay):
            # p += (-lambda d eta) p, not p *= 1 - lambda d eta: d eta is tiny early on, and
            # 1 - (tiny) rounds badly in float32 (prodigyopt adds too)
            _add_scaled_(ps, ps, c["decay"])
        # p += m / (denom / -d eta): the step size folded into the denominator (a step
        # that is not taken has d eta = 0: m / -inf = -0, p unchanged)
        torch._foreach_div_(denom, c["step"])
        torch._foreach_addcdiv_(ps, ms[0] if ms else gs, denom)


class ProdigyGroup(NamedTuple):
    """One param group's lists and options, for :func:`prodigy_groups`.

    ``exp_avgs`` is None when :math:`\beta_1 = 0`; ``active`` is False (or a 0-d
    boolean tensor that is False) for a group whose lr is 0, which adds nothing to the
    estimate and keeps its state.
    """

    params: list[Tensor]
    grads: list[Tensor]
    exp_avgs: list[Tensor] | None
    exp_avg_sqs: list[Tensor]
    s: list[Tensor]
    p0: list[Tensor]
    eps: Hyper
    weight_decay: Hyper
    safeguard_warmup: bool
    slice_p: int
    active: Tensor | bool = True


def prodigy_groups(
    groups: Sequence[ProdigyGroup],
    scalars: dict[str, Tensor],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    beta3: Hyper | None,
    d0: Hyper,
    d_coef: Hyper,
    growth_rate: float,
    decouple: bool,
    use_bias_correction: bool,
    all_reduce: bool = False,
) -> None:
    """One Prodigy step over param groups that share one distance estimate (see
    :class:`waferopt.modern.Prodigy`): :func:`prodigy_accumulate` on every group,
    :func:`prodigy_estimate` once, then :func:`prodigy_apply` on every group.

    ``scalars`` holds the shared 0-d tensors ``d``, ``d_max``, ``d_numerator``,
    ``d_denom``, ``d_hat`` and ``k``, updated in place; ``lr`` is the learning rate of
    the estimate (the groups' largest). With ``all_reduce`` (sharded parameters: each
    rank holds a part of every tensor) the two sums are summed over the default
    process group before the estimate, when ``torch.distributed`` is initialized.
    """
    d = scalars["d"]
    b3, dlr = prodigy_step_scalars(
        scalars,
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        beta3=beta3,
        use_bias_correction=use_bias_correction,
    )
    d0_t = scalar(d0, d)
    numerator = torch.zeros_like(d)
    denominator = torch.zeros_like(d)
    used_grads = []
    for g in groups:
        num, den, used = prodigy_accumulate(
            g.params, g.grads, g.exp_avgs, g.exp_avg_sqs, g.s, g.p0, d=d, d0=d0_t, dlr=dlr,
            beta1=beta1, beta2=beta2, beta3=b3, weight_decay=g.weight_decay, decouple=decouple,
            safeguard_warmup=g.safeguard_warmup, slice_p=g.slice_p, active=g.active,
        )  # fmt: skip
        numerator = numerator + num
        denominator = denominator + den
        used_grads.append(used)
    if all_reduce and torch.distributed.is_available() and torch.distributed.is_initialized():
        sums = torch.stack([numerator, denominator])
        torch.distributed.all_reduce(sums)
        numerator, denominator = sums[0], sums[1]
    taken = prodigy_estimate(
        numerator, denominator, d=d, d0=d0_t, d_max=scalars["d_max"],
        d_numerator=scalars["d_numerator"], d_denom=scalars["d_denom"], d_hat=scalars["d_hat"],
        k=scalars["k"], beta3=b3, d_coef=d_coef, growth_rate=growth_rate,
    )  # fmt: skip
    step_dlr = torch.where(taken, dlr, 0)
    for g, used in zip(groups, used_grads):
        prodigy_apply(
            g.params, used, g.exp_avgs, g.exp_avg_sqs, d=d, dlr=step_dlr, eps=g.eps,
            weight_decay=g.weight_decay, decouple=decouple,
        )  # fmt: skip


def prodigy(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor] | None,
    exp_avg_sqs: list[Tensor],
    s: list[Tensor],
    p0: list[Tensor],
    scalars: dict[str, Tensor],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    beta3: Hyper | None,
    eps: Hyper,
    weight_decay: Hyper,
    decouple: bool,
    use_bias_correction: bool,
    safeguard_warmup: bool,
    d_coef: Hyper,
    growth_rate: float,
    slice_p: int,
) -> None:
    """One Prodigy step for a single group: :func:`prodigy_groups` on it alone.
    ``scalars`` holds the 0-d tensors ``d``, ``d0``, ``d_max``, ``d_numerator``,
    ``d_denom``, ``d_hat``, ``k``."""
    group = ProdigyGroup(
        params, grads, exp_avgs, exp_avg_sqs, s, p0, eps=eps, weight_decay=weight_decay,
        safeguard_warmup=safeguard_warmup, slice_p=slice_p,
    )  # fmt: skip
    prodigy_groups(
        [group], scalars, lr=lr, beta1=beta1, beta2=beta2, beta3=beta3, d0=scalars["d0"],
        d_coef=d_coef, growth_rate=growth_rate, decouple=decouple,
        use_bias_correction=use_bias_correction,
    )  # fmt: skip


def prodigy_step_scalars(
    scalars: dict[str, Tensor],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    beta3: Hyper | None,
    use_bias_correction: bool,
) -> tuple[Tensor, Tensor]:
    r""":math:`\beta_3` (:math:`\sqrt{\beta_2}` when None) and :math:`d\eta` (times Adam's
    bias correction :math:`\sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})` when asked)."""
    d = scalars["d"]
    b3 = torch.sqrt(scalar(beta2, d)) if beta3 is None else scalar(beta3, d)
    dlr = d * scalar(lr, d)
    if use_bias_correction:
        kp1 = scalars["k"].to(d.dtype) + 1
        dlr = dlr * torch.sqrt(1 - scalar(beta2, d) ** kp1) / (1 - scalar(beta1, d) ** kp1)
    return b3, dlr
