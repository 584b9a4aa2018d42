"""The update rules of the Adam family as functional kernels over lists of tensors.

Callable without an optimizer object, in ``torch.optim``'s functional style: every
tensor argument is a list (one entry per parameter, all on one device and dtype, as
:func:`waferopt.core.foreach.group_by_device_and_dtype` splits them), every
hyperparameter a keyword that takes a Python number or a 0-d tensor. State is updated
in place; nothing is read on the host.

Step numbers. A rule with a bias correction needs this step's number t. A kernel takes
it from its state (``steps``, counters already advanced to t, or the ``beta*_powers``,
which hold β^t before step t) on the device, or, faster, from ``step=t`` when the caller
knows it on the host (the optimizer classes do in eager steps): the coefficients are
then Python floats, computed in double as torch.optim does. Either way they come from
one formula (:mod:`waferopt.core.coefficients`), with the bias corrections
``1 - β^t`` computed without cancellation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import torch
from torch import Tensor

from waferopt.core import coefficients as C
from waferopt.core import distributed as D
from waferopt.core import foreach as F
from waferopt.core.foreach import Hyper

__all__ = ["adam", "adamax", "lamb", "nadam", "radam", "steps_from_powers"]

_DTYPE, _DEVICE = attrgetter("dtype"), attrgetter("device")


# ---------------------------------------------------------------------- shared pieces
def steps_from_powers(pairs: Sequence[tuple[Sequence[Tensor] | None, Any]]) -> Tensor:
    """This step's number t per tensor, from power states that hold β^t (float32).

    ``pairs`` lists ``(powers, beta)``, the most informative first (β2 decays slowest).
    t = round(log P / log β) is exact while P is the closed form fl32(β^t) that the
    kernels write; where a power has underflowed (or β is 0) the next pair is used, and
    where none tells, t is infinite, where every bias correction is exactly 1.
    """
    t: Tensor | None = None
    for powers, beta in pairs:
        if not powers:
            continue
        p = C.stack(powers)
        p = p.to(C.coefficient_dtype(p.device))
        log_beta = C.log(beta.to(p.dtype) if isinstance(beta, Tensor) else float(beta))
        tk = torch.round(torch.log(p) / log_beta)
        t = tk if t is None else torch.where(torch.isfinite(t), t, tk)
    if t is None:
        raise ValueError("steps_from_powers: no power state given")
    return torch.where(torch.isfinite(t), t, math.inf)


def _write_powers(t_next: C.Coef, *pairs: tuple[Sequence[Tensor], Any]) -> None:
    """Write β^(t+1) into each pair's power states ``(powers, β)``, in closed form (so
    that t stays recoverable)."""
    values = [(powers, C.pow_(beta, t_next)) for powers, beta in pairs]
    if not any(isinstance(v, Tensor) for _, v in values) and not torch.compiler.is_compiling():
        C.write_(*values)  # type: ignore[arg-type]  # eager: one foreach copy for all
        return
    for powers, value in values:
        if isinstance(value, Tensor):
            # copied into 0-d state, read by no elementwise loop: not realized
            # (per_tensor would add an opaque copy to a compiled step)
            value = value.to(powers[0].dtype)
            src = list(value.unbind(0)) if value.dim() else [value] * len(powers)
            torch._foreach_copy_(list(powers), src)
        elif torch.compiler.is_compiling():
            torch._foreach_mul_(list(powers), 0.0)
            torch._foreach_add_(list(powers), value)
        else:
            C.write_((powers, value))


def _step_number(
    step: int | None,
    steps: Sequence[Tensor] | None,
    powers: Sequence[tuple[Sequence[Tensor] | None, Any]],
    device: torch.device,
) -> C.Coef:
    if step is not None or steps:
        return C.step_numbers(steps, step, device)
    return steps_from_powers(powers)


def _moments_(
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    grads: list[Tensor],
    beta1: Hyper,
    beta2: Hyper,
) -> None:
    """Adam's moments: ``m <- β1 m + (1-β1) g``, ``v <- β2 v + (1-β2) g²``, rounded as
    torch's Adam rounds them in all its flavours (fused, foreach, for-loop): m by a lerp
    towards g, v scaled then an addcmul (no temporary g²)."""
    if _widen_for_fma(exp_avgs, beta1, beta2):
        _moments_widened_(exp_avgs, exp_avg_sqs, grads, beta1, beta2)  # type: ignore[arg-type]
        return
    F.lerp_(exp_avgs, grads, 1 - beta1)
    F.mul_(exp_avg_sqs, beta2)
    F.addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)


def _widen_for_fma(tensors: list[Tensor], *betas: Any) -> bool:
    """Whether the moments are compiled for the CPU in float32 with number betas: the
    eager kernels round each moment once after a fused multiply-add, which inductor's
    C++ code does not emit (it rounds the product too)."""
    return (
        torch.compiler.is_compiling()
        and tensors[0].device.type == "cpu"
        and tensors[0].dtype == torch.float32
        and all(isinstance(b, (int, float)) for b in betas)
    )


def _added_scaled(xs: list[Tensor], ys: list[Tensor], s: Hyper) -> list[Tensor]:
    """``x + s * y`` as new tensors, rounded once as the eager CPU kernel (a fused
    multiply-add) rounds it, compiled or not (see :func:`_widen_for_fma`)."""
    if _widen_for_fma(xs, s):
        s32 = C.float32(s)  # type: ignore[arg-type]
        return [(x.double() + y.double() * s32).float() for x, y in zip(xs, ys)]
    return F.added_scaled(xs, ys, s)


def _moments_widened_(
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    grads: list[Tensor],
    beta1: float,
    beta2: float,
) -> None:
    """:func:`_moments_` as the eager CPU kernels round it, for a compiled float32 step:
    a product of two float32 numbers is exact in float64, so ``fl32(a*b + c)`` computed
    in float64 is the fused multiply-add (lerp: ``fma(w, g - m, m)`` for w < 0.5, else
    ``fma(w - 1, g - m, g)``; addcmul: ``fma(c*g, g, v)``)."""
    w = C.float32(1.0 - beta1)
    small = abs(w) < 0.5
    coeff = w if small else C.float32(w - 1.0)
    c = C.float32(1.0 - beta2)
    for m, v, g in zip(exp_avgs, exp_avg_sqs, grads):
        base = m if small else g
        m.copy_((base.double() + (g - m).double() * coeff).float())
        v.copy_((v.mul(beta2).double() + g.mul(c).double() * g.double()).float())


def _on(x: Any, params: list[Tensor]) -> Any:
    """A tensor hyperparameter next to the params, in the coefficient dtype (so that
    products such as ``1 - lr * weight_decay`` are not rounded to float32)."""
    if isinstance(x, Tensor):
        device = params[0].device
        return x.to(device=device, dtype=C.coefficient_dtype(device))
    return x


def _coef(x: Any, params: list[Tensor]) -> Any:
    """A coefficient (number, 0-d or 1-D per-tensor tensor) as the foreach ops take it."""
    return C.per_tensor(x, like=params[0])


def _runs(lists: list[list[Tensor]], coefs: Sequence[Any]) -> Any:
    """Cache-sized runs of ``lists`` with the per-tensor coefficient lists among ``coefs``
    carried along; yields ``(tensor lists, coefficients)``."""
    extra = [i for i, c in enumerate(coefs) if isinstance(c, list)]
    for run in F.runs([*lists, *(coefs[i] for i in extra)]):
        out = list(coefs)
        for j, i in enumerate(extra):
            out[i] = run[len(lists) + j]
        yield run[: len(lists)], out


# ---------------------------------------------------------------------- Adam / AdamW
def adam(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    max_exp_avg_sqs: list[Tensor] | None = None,
    beta1_powers: list[Tensor] | None = None,
    beta2_powers: list[Tensor] | None = None,
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper = 0.0,
    l2_regularization_rate: Hyper = 0.0,
    step: int | None = None,
    fused: bool | None = None,
) -> None:
    r"""One step of Adam with eps before the bias correction (Cerebras / HuggingFace).

    .. math::
        g' = g + \ell\theta,\quad m \leftarrow \beta_1 m + (1-\beta_1)g',\quad
        v \leftarrow \beta_2 v + (1-\beta_2)g'^2,\quad
        \theta \leftarrow \theta - \eta\Big(\frac{m}{\sqrt{v}+\epsilon}\,c_t + \lambda\theta\Big)

    with :math:`c_t = \sqrt{1-\beta_2^t}/(1-\beta_1^t)` when the power states are given
    (they hold :math:`\beta^t` and are advanced to :math:`\beta^{t+1}`), 1 otherwise;
    ``max_exp_avg_sqs`` given: AMSGrad (the running maximum of v replaces v).

    Args:
        weight_decay: λ, decoupled decay (AdamW).
        l2_regularization_rate: ℓ, coupled L2 (Adam).
        step: this step's number t when known on the host (faster), else None.
        fused: None: torch's fused Adam kernel in eager steps where it computes this
            rule (float tensors laid out alike on CPU / CUDA, number betas / eps / decay, a host
            ``step`` or no bias correction, not both decays); False: never.
    """
    if not params:
        return
    max_sqs = list(max_exp_avg_sqs or ())
    correct = beta1_powers is not None and len(beta1_powers) > 0  # not bool(list): Dynamo < 2.12
    t: C.Coef = 1.0
    if correct:
        t = _step_number(
            step, None, [(beta2_powers, beta2), (beta1_powers, beta1)], params[0].device
        )
    fused_lr = F.on_device(lr, params[0].device)
    lr, weight_decay = _on(lr, params), _on(weight_decay, params)
    # torch's fused kernel and the multi-tensor path below both compute
    # θ -= (η / bc1) · m / (√v / √bc2 + ε / √bc2), which is η·√bc2/bc1 · m / (√v + ε)
    bc1 = C.one_minus_pow(beta1, t) if correct else 1.0
    sqrt_bc2 = C.sqrt(C.one_minus_pow(beta2, t)) if correct else 1.0
    if _fused_adam_applies(
        fused, params, grads, t, fused_lr, beta1, beta2, eps, weight_decay, l2_regularization_rate
    ) and F.same_dense_layout(params, grads, exp_avgs, exp_avg_sqs, max_sqs):
        _fused_adam(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            max_sqs,
            t,
            correct,
            lr=fused_lr,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            weight_decay=weight_decay,
            l2=l2_regularization_rate,
        )
    else:
        coef = _coef(-lr / bc1, params)
        sqrt_bc2_ = None if not correct else _coef(sqrt_bc2, params)
        eps_t = _coef(eps / sqrt_bc2, params)
        decay = None if F.is_zero(weight_decay) else _coef(1.0 - lr * weight_decay, params)
        lists = [params, grads, exp_avgs, exp_avg_sqs] + ([max_sqs] if max_sqs else [])
        for run, (c, s2, e) in _runs(lists, [coef, sqrt_bc2_, eps_t]):
            p, g, m, v = run[:4]
            if not F.is_zero(l2_regularization_rate):
                g = _added_scaled(g, p, l2_regularization_rate)
            _moments_(m, v, g, beta1, beta2)
            if max_sqs:
                torch._foreach_maximum_(run[4], v)
                v = run[4]
            denom = torch._foreach_sqrt(v)
            if s2 is not None:
                torch._foreach_div_(denom, s2)
            torch._foreach_add_(denom, e)
            if decay is not None:
                F.mul_(p, decay)
            torch._foreach_addcdiv_(p, torch._foreach_mul(m, c), denom)
    if correct:
        _write_powers(t + 1, (beta1_powers, beta1), (beta2_powers, beta2))  # type: ignore[arg-type]


def _fused_adam_applies(fused, params, grads, t, lr, beta1, beta2, eps, wd, l2) -> bool:  # type: ignore[no-untyped-def]
    if fused is False or isinstance(t, Tensor) or torch.compiler.is_compiling():
        return False
    if any(isinstance(x, Tensor) for x in (beta1, beta2, eps, wd, l2)) or (wd != 0 and l2 != 0):
        return False
    p = params[0]
    if not F.fused_supported([p], "adam"):
        return False
    if isinstance(lr, Tensor) and (lr.dim() != 0 or lr.device != p.device):
        return False
    if F.is_one_run([params, grads]):  # from the optimizer's step: torch's grouping,
        return True  # and torch keeps each gradient in its param's dtype and device
    # (C-level iteration: this runs in every eager step)
    return set(map(_DTYPE, grads)) == {p.dtype} and set(map(_DEVICE, grads)) == {p.device}


def _fused_adam(
    params,
    grads,
    exp_avgs,
    exp_avg_sqs,
    max_sqs,
    t,
    correct,
    *,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    l2,
) -> None:  # type: ignore[no-untyped-def]
    """torch's fused kernel, with eps rescaled for this step so that it sits before the
    bias correction (torch's rule with ε/√(1-β2^t) is this one)."""
    kernel = torch._fused_adam_ if l2 != 0 else torch._fused_adamw_
    if correct:
        eps_t = float(eps) / math.sqrt(C.one_minus_pow(beta2, t))  # type: ignore[arg-type]
        step_value = float(t)
    else:
        eps_t, step_value = float(eps), math.inf  # β^inf = 0: the kernel's corrections are 1
    scratch = torch.full((), step_value, dtype=torch.float32, device=params[0].device)
    kernel(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        max_sqs,
        [scratch] * len(params),
        lr=lr if isinstance(lr, Tensor) else float(lr),
        beta1=float(beta1),
        beta2=float(beta2),
        weight_decay=float(l2) if l2 != 0 else float(weight_decay),
        eps=eps_t,
        amsgrad=bool(max_sqs),
        maximize=False,
    )


# ---------------------------------------------------------------------- Adamax
def adamax(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_infs: list[Tensor],
    beta1_powers: list[Tensor],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper = 0.0,
    maximize: bool = False,
    step: int | None = None,
) -> None:
    r"""One Adamax step (``torch.optim.Adamax``'s rule).

    .. math::
        g' = \pm g + \lambda\theta,\quad m \leftarrow \beta_1 m + (1-\beta_1) g',\quad
        u \leftarrow \max(\beta_2 u, |g'| + \epsilon),\quad
        \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,\frac{m}{u}

    ``beta1_powers`` hold β1^t and are advanced; ``step``: t when known on the host.
    """
    if not params:
        return
    t = _step_number(step, None, [(beta1_powers, beta1)], params[0].device)
    lr = _on(lr, params)
    coef = _coef(-lr / C.one_minus_pow(beta1, t), params)
    for (p, g, m, u), (c,) in _runs([params, grads, exp_avgs, exp_infs], [coef]):
        if maximize:
            g = torch._foreach_neg(g)
        if not F.is_zero(weight_decay):
            g = _added_scaled(g, p, weight_decay)
        F.lerp_(m, g, 1 - beta1)
        F.mul_(u, beta2)
        norm = torch._foreach_abs(g)
        torch._foreach_add_(norm, eps)
        torch._foreach_maximum_(u, norm)
        F.addcdiv_(p, m, u, c)
    _write_powers(t + 1, (beta1_powers, beta1))


# ---------------------------------------------------------------------- NAdam
def nadam(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    mu_products: list[Tensor],
    steps: list[Tensor],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper = 0.0,
    momentum_decay: Hyper = 4e-3,
    step: int | None = None,
) -> None:
    r"""One NAdam step (``torch.optim.NAdam``'s rule, Dozat 2016).

    .. math::
        \mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi}),\quad P_t = P_{t-1}\mu_t,\quad
        \theta \leftarrow \theta - \eta\Big(\frac{1-\mu_t}{1-P_t}g'
        + \frac{\mu_{t+1}}{1-P_t\mu_{t+1}}m\Big)\Big/\Big(\sqrt{v/(1-\beta_2^t)}+\epsilon\Big)

    ``mu_products`` hold P (float32, advanced in place); ``steps`` the counters,
    already at t; ``step``: t when known on the host.
    """
    if not params:
        return
    device = params[0].device
    t = C.step_numbers(steps, step, device)
    psi = momentum_decay
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1.0) * psi))
    # P_t = P_{t-1} * mu_t in float32, as torch keeps it; on the host when P_{t-1} is
    # known there (eager steps: a float32 product of float32 numbers, exact in double
    # then rounded once, is the device's product bit for bit)
    prev = C.mirrored(mu_products) if isinstance(mu, float) else None
    prod: C.Coef
    if prev is not None:
        prod = C.float32(prev * C.float32(mu))  # type: ignore[arg-type]
        C.fill_(mu_products, prod)
    else:
        F.mul_(mu_products, C.per_tensor(_on(mu, mu_products), like=mu_products[0]))
        prod = C.stack(mu_products).to(C.coefficient_dtype(device))
    lr = _on(lr, params)
    scale = C.sqrt(C.one_minus_pow(beta2, t))
    coef_grad = _coef(-lr * (1.0 - mu) / (1.0 - prod) * scale, params)
    coef_avg = _coef(-lr * mu_next / (1.0 - prod * mu_next) * scale, params)
    eps_t = _coef(eps * scale, params)
    lists = [params, grads, exp_avgs, exp_avg_sqs]
    for (p, g, m, v), (cg, ca, e) in _runs(lists, [coef_grad, coef_avg, eps_t]):
        if not F.is_zero(weight_decay):
            g = _added_scaled(g, p, weight_decay)
        _moments_(m, v, g, beta1, beta2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, e)
        F.addcdiv_(p, g, denom, cg)
        F.addcdiv_(p, m, denom, ca)


# ---------------------------------------------------------------------- RAdam
def radam(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[Tensor],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper = 0.0,
    step: int | None = None,
) -> None:
    r"""One RAdam step (``torch.optim.RAdam``'s rule, Liu et al. 2020).

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1,\quad
        \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t},\quad
        \theta \leftarrow \theta - \eta\,\frac{m}{1-\beta_1^t}\,
        \Big(r_t\frac{\sqrt{1-\beta_2^t}}{\sqrt v+\epsilon}\ \text{if}\ \rho_t > 5\
        \text{else}\ 1\Big)

    ``steps`` the counters, already at t; ``step``: t when known on the host.
    """
    if not params:
        return
    t = C.step_numbers(steps, step, params[0].device)
    lr = _on(lr, params)
    bc1 = C.one_minus_pow(beta1, t)
    bc2 = C.one_minus_pow(beta2, t)
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * (1.0 - bc2) / bc2
    rect = C.sqrt(
        C.clamp_min(
            (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t),
            0.0,
        )
    )
    rectified = rho_t > 5.0
    adaptive = _coef(C.where(rectified, -lr * rect * C.sqrt(bc2) / bc1, 0.0), params)
    plain = _coef(C.where(rectified, 0.0, -lr / bc1), params)
    lists = [params, grads, exp_avgs, exp_avg_sqs]
    for (p, g, m, v), (ca, cp) in _runs(lists, [adaptive, plain]):
        if not F.is_zero(weight_decay):
            g = _added_scaled(g, p, weight_decay)
        _moments_(m, v, g, beta1, beta2)
        if not F.is_zero(ca):
            denom = torch._foreach_sqrt(v)
            torch._foreach_add_(denom, eps)
            F.addcdiv_(p, m, denom, ca)
        if not F.is_zero(cp):
            F.add_scaled_(p, m, cp)


# ---------------------------------------------------------------------- Lamb
def lamb(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper = 0.0,
    adam: bool = False,
    fused: bool | None = None,
) -> None:
    r"""One Lamb step (You et al. 2020, as Cerebras and cybertronai/pytorch-lamb).

    .. math::
        r = \frac{m}{\sqrt v+\epsilon} + \lambda\theta,\quad
        \tau = \frac{\min(\lVert\theta\rVert, 10)}{\lVert r\rVert}\ (1\ \text{if either is 0}),
        \quad \theta \leftarrow \theta - \eta\,\tau\,r

    No bias correction; norms over whole tensors; ``adam=True`` forces τ = 1. Sharded
    (DTensor) tensors step on their local shards, the norms combined across the shards.

    Eager steps with number hyperparameters on float32 / float64 tensors take torch's
    fused Adam kernel (:func:`_fused_lamb_ratio`): one pass computes the moments and r
    into a scratch list, then the norms, then θ -= η τ r (with ``adam=True``, one pass
    of torch's fused AdamW). Otherwise two passes over memory (in cache-sized pieces on
    the CPU): the moments, r (kept) and the norms of θ and r, then the update. Both
    paths round alike up to a unit in the last place.

    Args:
        fused: None: torch's fused kernel where it applies (see above); False: never.
    """
    if not params:
        return
    sharded = params
    params, grads, exp_avgs, exp_avg_sqs = D.local_lists([params, grads, exp_avgs, exp_avg_sqs])
    fused = fused is not False and _fused_lamb_applies(
        params, grads, exp_avgs, exp_avg_sqs, lr if adam else 1.0, beta1, beta2, eps, weight_decay
    )
    if adam and fused:  # τ = 1: θ(1 - ηλ) - η m / (√v + ε), torch's fused AdamW
        _fused_adam(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            [],
            1.0,
            False,
            lr=F.on_device(lr, params[0].device),
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            weight_decay=weight_decay,
            l2=0.0,
        )
        return
    lr = _on(lr, params)
    if adam:  # τ = 1: one pass
        coef = _coef(-lr, params)
        for (p, g, m, v), (c,) in _runs([params, grads, exp_avgs, exp_avg_sqs], [coef]):
            _moments_(m, v, g, beta1, beta2)
            _add_scaled_ratio_(p, m, v, eps, weight_decay, c)
        return
    device = params[0].device
    cdt = C.coefficient_dtype(device)
    if fused:
        ratio = _fused_lamb_ratio(
            params, grads, exp_avgs, exp_avg_sqs, beta1, beta2, eps, weight_decay
        )
        norms = torch._foreach_norm([*params, *ratio])
        squares = torch.stack(norms).to(cdt).square().view(2, len(params))
    else:
        ratio, squares = _lamb_ratio_pieces(
            params, grads, exp_avgs, exp_avg_sqs, beta1, beta2, eps, weight_decay
        )
    D.sum_across_shards([*squares[0].unbind(0), *squares[1].unbind(0)], [*sharded, *sharded])
    weight_norm = squares[0].sqrt().clamp(0.0, 10.0)
    ratio_norm = squares[1].sqrt()
    trust = torch.where(
        (weight_norm > 0) & (ratio_norm > 0), weight_norm / ratio_norm, torch.ones_like(weight_norm)
    )
    coef = trust * -lr
    # second pass: θ -= η τ r
    if fused:
        torch._foreach_addcmul_(params, ratio, _coef(coef, params))
        return
    for (p, r), (c,) in _runs([params, ratio], [_coef(coef, params)]):
        F.mul_(r, c)
        torch._foreach_add_(p, r)


def _fused_lamb_applies(  # type: ignore[no-untyped-def]
    params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay
) -> bool:
    """Whether :func:`lamb` takes torch's fused Adam kernel (see :func:`_fused_adam_applies`;
    float32 / float64 only, where it rounds as the multi-tensor path does, to the last
    bit or one unit of it; a number weight decay; contiguous tensors: the kernel walks
    its operands' memory in step, and the scratch list it writes r into is contiguous)."""
    return (
        params[0].dtype in (torch.float32, torch.float64)
        and not isinstance(weight_decay, Tensor)
        and _fused_adam_applies(None, params, grads, 1.0, lr, beta1, beta2, eps, 0.0, 0.0)
        and F.all_contiguous(params, grads, exp_avgs, exp_avg_sqs)
    )


def _fused_lamb_ratio(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper,
) -> list[Tensor]:
    """Lamb's moments, and r = m / (√v + ε) + λθ as new tensors, by torch's fused Adam
    kernel: it steps the "parameters" λθ with learning rate -1 and no bias correction,
    which adds m / (√v + ε) to them, in one pass that also updates m and v (as every
    torch Adam flavour rounds them)."""
    ratio = _scratch_like(params)  # one block, not fresh tensors (see there)
    if F.is_zero(weight_decay):
        torch._foreach_zero_(ratio)
    elif params[0].device.type == "cpu":  # one pass (a foreach op has no out=)
        for r, p in zip(ratio, params):
            torch.mul(p, weight_decay, out=r)
    else:
        torch._foreach_copy_(ratio, params)
        torch._foreach_mul_(ratio, weight_decay)
    _fused_adam(
        ratio,
        grads,
        exp_avgs,
        exp_avg_sqs,
        [],
        1.0,
        False,
        lr=-1.0,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=0.0,
        l2=0.0,
    )
    return ratio


def _lamb_ratio_pieces(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper,
) -> tuple[list[Tensor], Tensor]:
    """Lamb's moments and r (kept, in a scratch list) piece by piece while in cache, with
    the sums of squares of each whole θ and r (rows 0 and 1 of the returned tensor, in
    the coefficient dtype): the multi-tensor path of :func:`lamb`."""
    device = params[0].device
    tags = list(torch.empty(len(params), dtype=params[0].dtype, device=device).unbind(0))
    ratio = _scratch_like(params)
    norms_p: list[Tensor] = []
    norms_r: list[Tensor] = []
    owner: list[int] = []  # which tensor each piece belongs to (its tag's offset)
    for p, g, m, v, r, tag in _pieces([params, grads, exp_avgs, exp_avg_sqs, ratio, tags]):
        _moments_(m, v, g, beta1, beta2)
        _lamb_ratio_into(r, p, m, v, eps, weight_decay)
        norms_p += D.norms(p)
        norms_r += D.norms(r)
        owner += [t.storage_offset() for t in tag] if tag is not None else []
    cdt = C.coefficient_dtype(device)
    pieces = torch.stack([torch.stack(norms_p), torch.stack(norms_r)]).to(cdt).square()
    if not owner:
        return ratio, pieces
    squares = torch.zeros(2, len(params), dtype=cdt, device=device)
    squares.index_add_(1, torch.tensor(owner, device=device), pieces)
    return ratio, squares


def _scratch_like(params: list[Tensor]) -> list[Tensor]:
    """Uninitialised tensors shaped like ``params``, views of one buffer (on the CPU, one
    large block is recycled by the allocator from step to step, where many fresh ones
    are mapped, and page-faulted, anew)."""
    first = params[0]
    if torch.compiler.is_compiling() or any(
        p.dtype != first.dtype or p.device != first.device for p in params
    ):
        return [torch.empty_like(p) for p in params]
    flat = torch.empty(
        sum(p.numel() for p in params), dtype=params[0].dtype, device=params[0].device
    )
    return [x.view_as(p) for x, p in zip(flat.split([p.numel() for p in params]), params)]


def _pieces(lists: list[list[Tensor]]) -> Any:
    """:func:`waferopt.core.foreach.runs` of ``lists`` whose last list holds a 0-d tag
    per tensor (it goes with every piece of its tensor); compiled, the whole lists in
    one piece, with None for the tags (the pieces are the tensors, in order)."""
    if torch.compiler.is_compiling():
        yield [*lists[:-1], None]
        return
    yield from F.runs(lists)


def _lamb_ratio(p: list[Tensor], m: list[Tensor], v: list[Tensor], eps: Hyper, wd: Hyper) -> Any:
    """Lamb's r = m / (√v + ε) + λθ, as new tensors."""
    denom = torch._foreach_sqrt(v)
    torch._foreach_add_(denom, eps)
    r = torch._foreach_div(m, denom)
    if not F.is_zero(wd):
        F.add_scaled_(r, p, wd)
    return r


def _lamb_ratio_into(
    r: list[Tensor], p: list[Tensor], m: list[Tensor], v: list[Tensor], eps: Hyper, wd: Hyper
) -> None:
    """r = m / (√v + ε) + λθ, written into ``r``."""
    denom = torch._foreach_sqrt(v)
    torch._foreach_add_(denom, eps)
    torch._foreach_copy_(r, m)
    torch._foreach_div_(r, denom)
    if not F.is_zero(wd):
        F.add_scaled_(r, p, wd)


def _add_scaled_ratio_(
    p: list[Tensor], m: list[Tensor], v: list[Tensor], eps: Hyper, wd: Hyper, c: Any
) -> None:
    """θ += c r (c a coefficient per tensor, as the foreach ops take it)."""
    r = _lamb_ratio(p, m, v, eps, wd)
    F.mul_(r, c)
    torch._foreach_add_(p, r)
