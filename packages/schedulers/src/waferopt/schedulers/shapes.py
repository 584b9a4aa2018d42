"""Schedule shapes: each one a pure function of the step, written once.

Every function here maps a step ``t`` (a 0-d floating tensor) and the schedule's
hyperparameters (Python numbers) to the value at that step, using tensor operations
only: no ``.item()``, no Python branch on a tensor value, so evaluating a schedule
never waits for the device and costs the same at step 10 and at step 10**9. The
scheduler classes of :mod:`waferopt.schedulers` are thin bindings of these shapes to a
param-group key (``"lr"``, ``"weight_decay"``, ``"momentum"``, ``"betas[0]"``...).

Example:
    >>> import torch
    >>> from waferopt.schedulers import shapes
    >>> t = torch.tensor(50.0, dtype=torch.float64)
    >>> float(shapes.cosine_decay(t, initial=1.0, end=0.0, total_iters=100))
    0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

__all__ = [
    "constant",
    "cosine_annealing",
    "cosine_annealing_warm_restarts",
    "cosine_decay",
    "cyclic",
    "exponential_decay",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "lambda_product",
    "multi_step",
    "multiplicative",
    "one_cycle",
    "piecewise_constant",
    "polynomial_decay",
    "step_decay",
]

Tensor = torch.Tensor


def constant(step: Tensor, val: float) -> Tensor:
    """The same value at every step: ``v(t) = val``."""
    return torch.full_like(step, val)


def polynomial_decay(
    step: Tensor,
    initial: float,
    end: float,
    total_iters: int,
    power: float = 1.0,
    cycle: bool = False,
) -> Tensor:
    r"""Polynomial decay from ``initial`` to ``end`` over ``total_iters`` steps.

    .. math::
        v(t) = end + (initial - end)\,\bigl(1 - \min(t, T) / T\bigr)^{power}

    With ``cycle`` (TensorFlow's ``polynomial_decay(cycle=True)``), the decay length
    grows to the next multiple of ``T`` instead of holding ``end``:
    :math:`D = T\lceil t / T\rceil` (:math:`D = T` at :math:`t = 0`) and
    :math:`v(t) = end + (initial - end)(1 - t / D)^{power}`.

    Reference: ``tf.compat.v1.train.polynomial_decay``; ``torch.optim.lr_scheduler.PolynomialLR``
    (``end = 0``, no cycle).
    """
    T = float(total_iters)
    if cycle:
        multiplier = torch.where(step == 0, torch.ones_like(step), torch.ceil(step / T))
        fraction = step / (T * multiplier)
    else:
        fraction = torch.clamp(step, max=T) / T
    return (initial - end) * (1.0 - fraction) ** power + end


def exponential_decay(
    step: Tensor, initial: float, total_iters: int, decay_rate: float, staircase: bool = False
) -> Tensor:
    r"""TensorFlow-style exponential decay, never clamped.

    .. math::
        v(t) = initial \cdot rate^{t / T} \quad(\text{staircase: } rate^{\lfloor t / T\rfloor})

    Reference: ``tf.keras.optimizers.schedules.ExponentialDecay``; with ``T = 1`` it is
    ``torch.optim.lr_scheduler.ExponentialLR(gamma=rate)``.
    """
    exponent = step / float(total_iters)
    if staircase:
        exponent = torch.floor(exponent)
    return initial * torch.pow(torch.full_like(step, decay_rate), exponent)


def inverse_time_decay(
    step: Tensor,
    initial: float,
    step_exponent: float,
    total_iters: int,
    decay_rate: float,
    staircase: bool = False,
) -> Tensor:
    r"""Inverse time decay with a step exponent.

    .. math::
        v(t) = \frac{initial}{1 + rate \cdot t^{k} / T}
        \quad(\text{staircase: } \lfloor t^{k} / T\rfloor)

    With ``k = 1`` this is ``tf.keras.optimizers.schedules.InverseTimeDecay``.
    """
    progress = torch.pow(step, step_exponent) / float(total_iters)
    if staircase:
        progress = torch.floor(progress)
    return initial / (1.0 + decay_rate * progress)


def inverse_sqrt_decay(step: Tensor, initial: float, scale: float, warmup_steps: float) -> Tensor:
    r"""Inverse square-root decay, constant during warm-up.

    .. math::
        v(t) = \frac{initial \cdot scale}{\sqrt{\max(t, W)}}

    Reference: Vaswani et al., "Attention Is All You Need" (2017), §5.3 (the decay part).
    """
    return (initial * scale) / torch.sqrt(torch.clamp(step, min=float(warmup_steps)))


def cosine_decay(step: Tensor, initial: float, end: float, total_iters: int) -> Tensor:
    r"""Cosine decay from ``initial`` to ``end`` over ``total_iters`` steps, then ``end``.

    .. math::
        v(t) = end + (initial - end)\,\tfrac12\bigl(1 + \cos(\pi \min(t, T) / T)\bigr)

    Reference: ``tf.keras.optimizers.schedules.CosineDecay`` with
    ``alpha = end / initial``.
    """
    T = float(total_iters)
    progress = 0.5 * (1.0 + torch.cos(math.pi * torch.clamp(step, max=T) / T))
    return end + (initial - end) * progress


def cosine_annealing(step: Tensor, initial: float, T_max: int, eta_min: float = 0.0) -> Tensor:
    r"""SGDR cosine annealing without restarts (keeps oscillating with period ``2 T_max``).

    .. math::
        v(t) = \eta_{min} + (initial - \eta_{min})\,\tfrac12\bigl(1 + \cos(\pi t / T_{max})\bigr)

    Reference: Loshchilov & Hutter, "SGDR" (arXiv:1608.03983);
    ``torch.optim.lr_scheduler.CosineAnnealingLR``.
    """
    return eta_min + (initial - eta_min) * (1.0 + torch.cos(math.pi * step / float(T_max))) / 2.0


def _restart_start(n: Tensor, T_0: int, T_mult: int) -> Tensor:
    """Step at which restart number ``n`` begins: ``T_0 (T_mult**n - 1) / (T_mult - 1)``."""
    return T_0 * (torch.pow(torch.full_like(n, float(T_mult)), n) - 1.0) / (T_mult - 1)


def cosine_annealing_warm_restarts(
    step: Tensor, initial: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0
) -> Tensor:
    r"""SGDR: cosine annealing restarted every ``T_i`` steps, ``T_i = T_0 \cdot T_{mult}^i``.

    .. math::
        v(t) = \eta_{min} + (initial - \eta_{min})\,\tfrac12\bigl(1 + \cos(\pi T_{cur} / T_i)\bigr)

    where :math:`T_{cur}` is the number of steps since the last restart.

    Reference: Loshchilov & Hutter, "SGDR" (arXiv:1608.03983);
    ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``.
    """
    if T_mult == 1:
        t_cur = torch.remainder(step, float(T_0))
        t_i = torch.full_like(step, float(T_0))
    else:
        # Restart index from the logarithm, then corrected by one either way so that
        # rounding at an exact restart step never picks the wrong cycle.
        n = torch.floor(torch.log(step / T_0 * (T_mult - 1) + 1.0) / math.log(T_mult))
        n = torch.where(step < _restart_start(n, T_0, T_mult), n - 1.0, n)
        n = torch.where(step >= _restart_start(n + 1.0, T_0, T_mult), n + 1.0, n)
        t_cur = step - _restart_start(n, T_0, T_mult)
        t_i = T_0 * torch.pow(torch.full_like(step, float(T_mult)), n)
    return eta_min + (initial - eta_min) * (1.0 + torch.cos(math.pi * t_cur / t_i)) / 2.0


def multi_step(step: Tensor, initial: float, gamma: float, milestones: Tensor) -> Tensor:
    r"""Decay by ``gamma`` at each milestone reached (a repeated milestone counts twice).

    .. math::
        v(t) = initial \cdot \gamma^{\#\{m \in milestones : m \le t\}}

    Reference: ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    passed = (milestones <= step).sum().to(step.dtype)
    return initial * torch.pow(torch.full_like(step, gamma), passed)


def step_decay(step: Tensor, initial: float, step_size: int, gamma: float) -> Tensor:
    r"""Decay by ``gamma`` every ``step_size`` steps: :math:`initial\cdot\gamma^{\lfloor t / s\rfloor}`.

    Reference: ``torch.optim.lr_scheduler.StepLR``.
    """
    return initial * torch.pow(torch.full_like(step, gamma), torch.floor(step / float(step_size)))


def multiplicative(step: Tensor, initial: float, coefficient: float) -> Tensor:
    r"""Multiply by ``coefficient`` every step: :math:`initial \cdot c^{t}`.

    Reference: ``torch.optim.lr_scheduler.MultiplicativeLR`` with a constant factor.
    """
    return initial * torch.pow(torch.full_like(step, coefficient), step)


def piecewise_constant(step: Tensor, values: Tensor, milestones: Tensor) -> Tensor:
    r"""``values[k]`` for :math:`m_k \le t < m_{k+1}` (:math:`m_0 = 0`); the last value persists.

    ``values`` may have ``len(milestones) + 1`` entries, or ``len(milestones)`` (the
    last one then also holds after the last milestone).

    Reference: ``tf.keras.optimizers.schedules.PiecewiseConstantDecay``.
    """
    index = (milestones <= step).sum().clamp(max=values.numel() - 1)
    return values.index_select(0, index.reshape(1)).reshape(()).to(step.dtype)


def lambda_product(
    step: Tensor, initial: float, lambdas: Sequence[Callable[[Tensor], object]]
) -> Tensor:
    r"""``initial`` times the product of user factors: :math:`initial\prod_i \lambda_i(t)`.

    Each ``lambda_i`` receives the step as a 0-d floating tensor and returns a number
    or a 0-d tensor. Reference: ``torch.optim.lr_scheduler.LambdaLR`` (one function).
    """
    value = torch.full_like(step, initial)
    for fn in lambdas:
        value = value * torch.as_tensor(fn(step), dtype=step.dtype, device=step.device)
    return value


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def cyclic(
    step: Tensor,
    base: float,
    max_val: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
    scale_mode: str | None = None,
) -> Tensor:
    r"""Cyclical schedule between ``base`` and ``max_val`` (CLR).

    With :math:`S` = up + down, :math:`\rho` = up / S, cycle :math:`c = \lfloor 1 + t/S\rfloor`,
    :math:`x = 1 + t/S - c`, :math:`s = x/\rho` if :math:`x \le \rho` else
    :math:`(x - 1)/(\rho - 1)`:

    .. math::
        v(t) = base + (max - base)\, s\, f(a)

    where :math:`f` is 1 (``triangular``), :math:`2^{-(a-1)}` (``triangular2``) or
    :math:`\gamma^{a}` (``exp_range``), and :math:`a` is the cycle number ``c``
    (``scale_mode="cycle"``) or the step ``t`` (``scale_mode="iterations"``). The
    default ``scale_mode=None`` takes each mode's own: cycle for the triangular modes,
    iterations for ``exp_range`` (as PyTorch).

    Reference: Smith, "Cyclical Learning Rates for Training Neural Networks"
    (arXiv:1506.01186); ``torch.optim.lr_scheduler.CyclicLR``.
    """
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total = up + down
    ratio = up / total
    cycle = torch.floor(1.0 + step / total)
    x = 1.0 + step / total - cycle
    scale = torch.where(x <= ratio, x / ratio, (x - 1.0) / (ratio - 1.0))
    height = (max_val - base) * scale
    if scale_mode is None:
        scale_mode = "iterations" if mode == "exp_range" else "cycle"
    argument = cycle if scale_mode == "cycle" else step
    if mode == "triangular":
        return base + height
    if mode == "triangular2":
        return base + height * (1.0 / torch.pow(torch.full_like(step, 2.0), argument - 1.0))
    if mode == "exp_range":
        return base + height * torch.pow(torch.full_like(step, gamma), argument)
    raise ValueError(f"mode must be one of {_CYCLIC_MODES}, got {mode!r}")


def _anneal(strategy: str, start: float, end: float, pct: Tensor) -> Tensor:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (torch.cos(math.pi * pct) + 1.0)
    return (end - start) * pct + start


def one_cycle(
    step: Tensor,
    initial: float,
    max_val: float,
    total_steps: int = 1000,
    pct_start: float = 0.3,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    anneal_strategy: str = "cos",
) -> Tensor:
    r"""The 1cycle policy: ``initial`` → ``max_val`` → ``initial / final_div_factor``.

    With :math:`N` = ``total_steps`` and :math:`p` = ``pct_start``, phases end at
    :math:`pN - 1` and :math:`N - 1` (three-phase: :math:`pN - 1`, :math:`2pN - 2`,
    :math:`N - 1`, going ``initial`` → ``max`` → ``initial`` → ``min``). Within a phase
    from :math:`s` to :math:`e`, :math:`x = (t - s)/(e - s)` and the value anneals by
    cosine :math:`b + (a - b)\tfrac12(1 + \cos\pi x)` or linearly :math:`a + x(b - a)`.
    Past :math:`N - 1` the final value holds.

    Reference: Smith & Topin, "Super-Convergence" (arXiv:1708.07120);
    ``torch.optim.lr_scheduler.OneCycleLR`` with ``div_factor = max / initial``.
    """
    end_value = initial / final_div_factor
    N = float(total_steps)
    if three_phase:
        phases = [
            (pct_start * N - 1.0, initial, max_val),
            (2.0 * pct_start * N - 2.0, max_val, initial),
            (N - 1.0, initial, end_value),
        ]
    else:
        phases = [(pct_start * N - 1.0, initial, max_val), (N - 1.0, max_val, end_value)]
    t = torch.clamp(step, max=N - 1.0)
    start = 0.0
    result = step
    for index, (end, a, b) in enumerate(phases):
        value = _anneal(anneal_strategy, a, b, (t - start) / (end - start))
        result = value if index == 0 else torch.where(t > start, value, result)
        start = end
    return result
