"""The update rules of the adaptive family as functional kernels over lists of tensors.

Callable without an optimizer object, in ``torch.optim``'s functional style: every
tensor argument is a list (one entry per parameter), every hyperparameter a keyword
that takes a Python number or a 0-d tensor. State is updated in place; nothing is read
on the host. Step counters are passed *already advanced* for this step (the optimizer
classes count them in core).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from waferopt.core import coefficients as C
from waferopt.core import distributed as D
from waferopt.core import foreach as F

__all__ = ["adadelta", "adafactor", "adagrad", "rmsprop"]

LOW_PRECISION = (torch.float16, torch.bfloat16)
"""Parameter dtypes whose Adafactor state and update are kept in float32."""


def adadelta(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    acc_deltas: list[Tensor],
    *,
    lr: F.Hyper,
    rho: F.Hyper,
    eps: F.Hyper,
    weight_decay: F.Hyper = 0.0,
    maximize: bool = False,
) -> None:
    r"""One Adadelta step (the trajectory of ``torch.optim.Adadelta``).

    :math:`g' = \pm g + \lambda\theta`, :math:`v \leftarrow \rho v + (1-\rho) g'^2`,
    :math:`\Delta = \sqrt{(u + \epsilon)/(v + \epsilon)}\, g'`,
    :math:`u \leftarrow \rho u + (1-\rho)\Delta^2`, :math:`\theta \leftarrow \theta - \eta\Delta`.
    """
    for p, g, v, u in F.runs([params, grads, square_avgs, acc_deltas]):
        device = p[0].device
        lr_, rho_, eps_, wd = (F.on_device(x, device) for x in (lr, rho, eps, weight_decay))
        if maximize:
            g = torch._foreach_neg(g)
        if F.is_nonzero_or_tensor(wd):
            g = F.added_scaled(g, p, wd)
        F.mul_(v, rho_)
        F.addcmul_(v, g, g, 1 - rho_)
        # delta = sqrt((u + eps) / (v + eps)) * g: one square root instead of two
        std = torch._foreach_add(v, eps_)
        delta = torch._foreach_add(u, eps_)
        torch._foreach_div_(delta, std)
        torch._foreach_sqrt_(delta)
        torch._foreach_mul_(delta, g)
        F.mul_(u, rho_)
        F.addcmul_(u, delta, delta, 1 - rho_)
        F.add_scaled_(p, delta, -lr_)


def adagrad(
    params: list[Tensor],
    grads: list[Tensor],
    sums: list[Tensor],
    steps: list[Tensor],
    *,
    lr: F.Hyper,
    lr_decay: F.Hyper = 0.0,
    weight_decay: F.Hyper = 0.0,
    eps: F.Hyper = 1e-10,
    maximize: bool = False,
    fused: bool | None = None,
) -> None:
    r"""One Adagrad step (the trajectory of ``torch.optim.Adagrad``).

    With :math:`t` the step: :math:`g' = \pm g + \lambda\theta`, :math:`s \leftarrow s + g'^2`,
    :math:`\theta \leftarrow \theta - \frac{\eta}{1 + (t-1)\,\text{lr\_decay}}\,
    \frac{g'}{\sqrt{s} + \epsilon}`.

    Args:
        fused: ``None`` runs torch's fused CPU kernel (``torch._fused_adagrad_``) for
            runs where it applies (eager, CPU float tensors laid out alike, every hyperparameter but
            ``lr`` a number); ``False`` never does.
    """
    numbers = not any(isinstance(x, Tensor) for x in (lr_decay, weight_decay, eps))
    fuses = fused is not False and numbers and not torch.compiler.is_compiling()
    for run in F.group_by_device_and_dtype([params, grads, sums, steps]):
        # one device and dtype per run: its first tensor tells for all
        first = run[0][0]
        if fuses and F.fused_supported([first], "adagrad") and F.same_dense_layout(*run[:3]):
            _fused_adagrad(
                *run,
                lr=lr,
                lr_decay=float(lr_decay),
                weight_decay=float(weight_decay),
                eps=float(eps),
                maximize=maximize,
            )
        else:
            _foreach_adagrad(
                *run,
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                eps=eps,
                maximize=maximize,
            )


def _fused_adagrad(
    params: list[Tensor],
    grads: list[Tensor],
    sums: list[Tensor],
    steps: list[Tensor],
    *,
    lr: F.Hyper,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One run of a single device and dtype through torch's fused kernel (CPU only:
    torch ships no fused Adagrad for CUDA)."""
    if isinstance(lr, Tensor):  # the fused kernel reads a float32 lr on the params' device
        lr = lr.to(device=params[0].device, dtype=torch.float32, non_blocking=True)
    torch._fused_adagrad_(
        params,
        grads,
        sums,
        steps,
        lr=lr,  # type: ignore[arg-type]
        lr_decay=float(lr_decay),
        weight_decay=float(weight_decay),
        eps=float(eps),
        maximize=maximize,
    )


def _foreach_adagrad(
    params: list[Tensor],
    grads: list[Tensor],
    sums: list[Tensor],
    steps: list[Tensor],
    *,
    lr: F.Hyper,
    lr_decay: F.Hyper,
    weight_decay: F.Hyper,
    eps: F.Hyper,
    maximize: bool,
) -> None:
    for device_params, device_grads, device_sums, device_steps in F.runs(
        [params, grads, sums, steps]
    ):
        device = device_params[0].device
        lr_, lr_decay_, wd, eps_ = (
            F.on_device(v, device) for v in (lr, lr_decay, weight_decay, eps)
        )
        if maximize:
            device_grads = torch._foreach_neg(device_grads)
        if F.is_nonzero_or_tensor(wd):
            device_grads = F.added_scaled(device_grads, device_params, wd)
        F.addcmul_(device_sums, device_grads, device_grads, 1.0)
        std = torch._foreach_sqrt(device_sums)
        torch._foreach_add_(std, eps_)
        if isinstance(lr_, Tensor) or F.is_nonzero_or_tensor(lr_decay_):
            # clr_i = lr / (1 + (t_i - 1) * lr_decay), one 0-d tensor per parameter
            dtype = device_params[0].dtype
            steps_ = device_steps if dtype == torch.float32 else [s.to(dtype) for s in device_steps]
            clr = torch._foreach_sub(steps_, 1.0)
            F.mul_(clr, lr_decay_)
            torch._foreach_add_(clr, 1.0)
            torch._foreach_reciprocal_(clr)
            F.mul_(clr, lr_)
            torch._foreach_addcdiv_(
                device_params, torch._foreach_mul(device_grads, clr), std, value=-1.0
            )
        else:
            F.addcdiv_(device_params, device_grads, std, -lr_)


def rmsprop(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    grad_avgs: list[Tensor] | None = None,
    momentum_buffers: list[Tensor] | None = None,
    *,
    lr: F.Hyper,
    alpha: F.Hyper,
    eps: F.Hyper,
    weight_decay: F.Hyper = 0.0,
    momentum: F.Hyper = 0.0,
) -> None:
    r"""One RMSprop step (the trajectory of ``torch.optim.RMSprop``).

    :math:`g' = g + \lambda\theta`, :math:`v \leftarrow \alpha v + (1-\alpha) g'^2`; centered
    (``grad_avgs`` given): :math:`\bar g \leftarrow \alpha\bar g + (1-\alpha) g'` and
    :math:`d = \sqrt{v - \bar g^2} + \epsilon`, else :math:`d = \sqrt v + \epsilon`; with
    ``momentum_buffers``: :math:`b \leftarrow \mu b + g'/d`, :math:`\theta \leftarrow \theta - \eta b`,
    else :math:`\theta \leftarrow \theta - \eta g'/d`.
    """
    lists = [params, grads, square_avgs]
    if grad_avgs is not None:
        lists.append(grad_avgs)
    if momentum_buffers is not None:
        lists.append(momentum_buffers)
    for run in F.runs(lists):
        p, g, v = run[0], run[1], run[2]
        rest = run[3:]
        gbar = rest.pop(0) if grad_avgs is not None else None
        buf = rest.pop(0) if momentum_buffers is not None else None
        device = p[0].device
        lr_, alpha_, eps_, wd, mu = (
            F.on_device(x, device) for x in (lr, alpha, eps, weight_decay, momentum)
        )
        if F.is_nonzero_or_tensor(wd):
            g = F.added_scaled(g, p, wd)
        F.mul_(v, alpha_)
        F.addcmul_(v, g, g, 1 - alpha_)
        if gbar is not None:
            F.lerp_(gbar, g, 1 - alpha_)
            avg = torch._foreach_addcmul(v, gbar, gbar, value=-1)
            torch._foreach_sqrt_(avg)
        else:
            avg = torch._foreach_sqrt(v)
        torch._foreach_add_(avg, eps_)
        if buf is not None:
            F.mul_(buf, mu)
            torch._foreach_addcdiv_(buf, g, avg)
            F.add_scaled_(p, buf, -lr_)
        else:
            F.addcdiv_(p, g, avg, -lr_)


def adafactor(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avg_sq_rows: Sequence[Tensor | None],
    exp_avg_sq_cols: Sequence[Tensor | None],
    exp_avg_sqs: Sequence[Tensor | None],
    steps: list[Tensor],
    *,
    lr: F.Hyper,
    eps: tuple[float, float] = (1e-30, 1e-3),
    clip_threshold: F.Hyper = 1.0,
    decay_rate: F.Hyper = -0.8,
    weight_decay: F.Hyper = 0.0,
    scale_parameter: bool = True,
    relative_step: bool = False,
    warmup_init: bool = False,
) -> None:
    r"""One Adafactor step (HuggingFace ``transformers.Adafactor`` with ``beta1=None``).

    A parameter with two or more dimensions has its factored second moment in
    ``exp_avg_sq_rows`` / ``exp_avg_sq_cols`` (and ``None`` in ``exp_avg_sqs``); any
    other has ``exp_avg_sqs`` (and ``None`` in the other two). State of a float16 /
    bfloat16 parameter is float32 and its update is computed in float32. The formula
    is in :class:`waferopt.adaptive.Adafactor`'s docstring.
    """
    lists = [params, grads, list(exp_avg_sq_rows), list(exp_avg_sq_cols), list(exp_avg_sqs), steps]
    # sharded (DTensor) params stay whole here: _adafactor_run takes their local shards
    # and combines its whole-tensor terms across the shards
    for run in F.group_by_device_and_dtype(lists, local=False):  # type: ignore[arg-type]
        _adafactor_run(
            *run,  # type: ignore[arg-type]
            lr=lr,
            eps=eps,
            clip_threshold=clip_threshold,
            decay_rate=decay_rate,
            weight_decay=weight_decay,
            scale_parameter=scale_parameter,
            relative_step=relative_step,
            warmup_init=warmup_init,
        )


def _adafactor_run(
    params: list[Tensor],
    grads: list[Tensor],
    rows: list[Tensor | None],
    cols: list[Tensor | None],
    sqs: list[Tensor | None],
    steps: list[Tensor],
    *,
    lr: F.Hyper,
    eps: tuple[float, float],
    clip_threshold: F.Hyper,
    decay_rate: F.Hyper,
    weight_decay: F.Hyper,
    scale_parameter: bool,
    relative_step: bool,
    warmup_init: bool,
) -> None:
    """One device/dtype run: the HuggingFace rule as multi-tensor ops.

    Runs on the local shards of sharded (DTensor) params; the whole-tensor terms (RMS
    of the param and of the update, row and column means of the squared gradient) are
    combined across the shards (:mod:`waferopt.core.distributed`), so a sharded run
    computes what one process computes on the whole tensors. The factored moments are
    whole (replicated) vectors on every rank.
    """
    sharded = params
    params, grads, sqs = D.local_lists([params, grads, sqs])  # type: ignore[list-item, assignment]
    inv_sqrt_numel = [1.0 / math.sqrt(max(p.numel(), 1)) for p in sharded]
    device, dtype = params[0].device, params[0].dtype
    low = dtype in LOW_PRECISION
    work_dtype = torch.float32 if low else dtype
    if low:
        grads = [g.float() for g in grads]
        thetas = [p.float() for p in params]
    else:
        thetas = list(params)
    eps1, eps2 = eps
    lr = F.on_device(lr, device)
    decay_rate = F.on_device(decay_rate, device)
    clip = F.on_device(clip_threshold, device)
    wd = F.on_device(weight_decay, device)
    t = [s.to(work_dtype) for s in steps]

    # step size alpha_t, one 0-d tensor per parameter (or one number for all)
    rel: F.Hyper | list[Tensor]
    if relative_step:
        min_step = torch._foreach_mul(t, 1e-6) if warmup_init else None
        rel = list(torch._foreach_rsqrt(t))
        if min_step is not None:
            rel = list(torch._foreach_minimum(rel, min_step))
        else:
            torch._foreach_clamp_max_(rel, 1e-2)
    else:
        rel = lr
    alpha: F.Hyper | list[Tensor]
    if scale_parameter:
        alpha = D.norms(thetas, sharded)
        torch._foreach_mul_(alpha, inv_sqrt_numel)
        torch._foreach_clamp_min_(alpha, eps2)
        torch._foreach_mul_(alpha, rel)  # type: ignore[arg-type]
    else:
        alpha = rel

    # beta2_t = 1 - t^decay_rate and 1 - beta2_t = t^decay_rate
    one_minus_beta2: F.TensorList
    if isinstance(decay_rate, Tensor):
        one_minus_beta2 = [torch.pow(ti, decay_rate) for ti in t]
    else:
        one_minus_beta2 = torch._foreach_pow(t, decay_rate)
    beta2 = torch._foreach_neg(one_minus_beta2)
    torch._foreach_add_(beta2, 1.0)

    sq = torch._foreach_mul(grads, grads)  # type: ignore[arg-type]
    torch._foreach_add_(sq, eps1)
    # row and column means of the whole squared gradients (one exchange for all)
    factored = [i for i in range(len(params)) if rows[i] is not None and cols[i] is not None]
    means = D.means(
        [sq[i] for i in factored] * 2,
        [sharded[i] for i in factored] * 2,
        [(-1,)] * len(factored) + [(-2,)] * len(factored),
    )
    row_means = dict(zip(factored, means[: len(factored)]))
    col_means = dict(zip(factored, means[len(factored) :]))
    updates: list[Tensor] = []
    eager = not torch.compiler.is_compiling()
    for i, p in enumerate(params):
        row, col, v = rows[i], cols[i], sqs[i]
        # eager, the update is written over g² (read for the last time just before): no
        # fresh parameter-sized buffer; compiled, inductor decides what is stored
        out = sq[i] if eager else None
        if row is not None and col is not None:
            row.mul_(beta2[i]).addcmul_(row_means[i].squeeze(-1), one_minus_beta2[i])
            col.mul_(beta2[i]).addcmul_(col_means[i].squeeze(-2), one_minus_beta2[i])
            # the factors once, not in the update's inner loop (see coefficients.once)
            r_factor = C.once(row.div(row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1))
            c_factor = C.once(col.unsqueeze(-2).rsqrt())
            r_part, c_part = D.local_part(r_factor, sharded[i]), D.local_part(c_factor, sharded[i])
            update = torch.mul(r_part, c_part, out=out).mul_(grads[i])
        elif v is not None:
            v.mul_(beta2[i]).addcmul_(sq[i], one_minus_beta2[i])
            update = torch.rsqrt(v, out=out).mul_(grads[i])
        else:
            raise RuntimeError(
                f"adafactor: parameter {i} (shape {tuple(p.shape)}) has no second-moment "
                "state (exp_avg_sq, or exp_avg_sq_row and exp_avg_sq_col)"
            )
        updates.append(update)

    # u / max(1, RMS(u) / clip_threshold), then scaled by alpha_t
    denom = D.norms(updates, sharded)
    torch._foreach_mul_(denom, inv_sqrt_numel)
    torch._foreach_div_(denom, clip)  # type: ignore[arg-type]
    torch._foreach_clamp_min_(denom, 1.0)
    torch._foreach_div_(updates, denom)
    torch._foreach_mul_(updates, alpha)  # type: ignore[arg-type]

    if F.is_nonzero_or_tensor(wd):
        # theta <- theta - wd * alpha_t * theta
        if isinstance(alpha, (list, tuple)):
            if isinstance(wd, Tensor):
                shrink = torch._foreach_mul(alpha, -wd)
            else:
                shrink = torch._foreach_mul(alpha, -float(wd))
            torch._foreach_add_(shrink, 1.0)
            torch._foreach_mul_(thetas, shrink)
        else:
            torch._foreach_mul_(thetas, 1 - wd * alpha)
    torch._foreach_sub_(thetas, updates)
    if low:
        torch._foreach_copy_(params, thetas)
