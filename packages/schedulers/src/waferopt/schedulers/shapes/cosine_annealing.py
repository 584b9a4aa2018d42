"""SGDR cosine annealing, without restarts and with warm restarts."""

from __future__ import annotations

import math
from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import INITIAL

_ETA_MIN = Arg(
    "eta_min", checks.number(), default=0.0, doc="the minimum value.", annotation="float"
)


def cosine_annealing(step: Any, initial: float, T_max: int, eta_min: float = 0.0) -> Any:
    r"""SGDR cosine annealing without restarts (keeps oscillating with period ``2 T_max``).

    .. math::
        v(t) = \eta_{min} + (initial - \eta_{min})\,\tfrac12\bigl(1 + \cos(\pi t / T_{max})\bigr)

    Reference: Loshchilov & Hutter, "SGDR" (arXiv:1608.03983);
    ``torch.optim.lr_scheduler.CosineAnnealingLR``.
    """
    m = ops(step)
    return eta_min + (initial - eta_min) * (1.0 + m.cos(m.pi * step / float(T_max))) / 2.0


def _restart_start(m: Any, n: Any, T_0: int, T_mult: int) -> Any:
    """Step at which restart number ``n`` begins: ``T_0 (T_mult**n - 1) / (T_mult - 1)``."""
    return T_0 * (m.pow(float(T_mult), n) - 1.0) / (T_mult - 1)


def cosine_annealing_warm_restarts(
    step: Any, initial: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0
) -> Any:
    r"""SGDR: cosine annealing restarted every ``T_i`` steps, ``T_i = T_0 \cdot T_{mult}^i``.

    .. math::
        v(t) = \eta_{min} + (initial - \eta_{min})\,\tfrac12\bigl(1 + \cos(\pi T_{cur} / T_i)\bigr)

    where :math:`T_{cur}` is the number of steps since the last restart. (Cerebras 2.3
    used a wrong :math:`T_{cur}` past the first period and rejected ``T_mult != 1``;
    this follows the formula and PyTorch.)

    Reference: Loshchilov & Hutter, "SGDR" (arXiv:1608.03983);
    ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``.
    """
    m = ops(step)
    if T_mult == 1:
        t_cur = m.remainder(step, float(T_0))
        t_i = m.full(step, float(T_0))
    else:
        # Restart index from the logarithm, then corrected by one either way so that
        # rounding at an exact restart step never picks the wrong cycle.
        n = m.floor(m.log(step / T_0 * (T_mult - 1) + 1.0) / math.log(T_mult))
        n = m.where(step < _restart_start(m, n, T_0, T_mult), n - 1.0, n)
        n = m.where(step >= _restart_start(m, n + 1.0, T_0, T_mult), n + 1.0, n)
        t_cur = step - _restart_start(m, n, T_0, T_mult)
        t_i = T_0 * m.pow(float(T_mult), n)
    return eta_min + (initial - eta_min) * (1.0 + m.cos(m.pi * t_cur / t_i)) / 2.0


COSINE_ANNEALING = Schedule(
    "CosineAnnealing",
    cosine_annealing,
    summary="Cosine annealing (SGDR without restarts).",
    lr_summary=(
        "Anneals the learning rate along a cosine (similar to "
        "``torch.optim.lr_scheduler.CosineAnnealingLR``)."
    ),
    args=[
        INITIAL,
        Arg(
            "T_max",
            checks.integer(minimum=1),
            doc="half period (>= 1); the value keeps oscillating past it (as torch).",
            annotation="int",
        ),
        _ETA_MIN,
    ],
    total_iters="T_max",
)

COSINE_ANNEALING_WARM_RESTARTS = Schedule(
    "CosineAnnealingWarmRestarts",
    cosine_annealing_warm_restarts,
    summary="Cosine annealing with warm restarts (SGDR).",
    lr_summary=(
        "Anneals the learning rate along a cosine with warm restarts, SGDR (similar to "
        "``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``)."
    ),
    lr_name="CosineAnnealingWarmRestarts",
    lr_aliases=("CosineAnnealingWarmRestartsLR",),
    args=[
        Arg(
            "initial_val",
            checks.number(),
            param="initial",
            lr_name="initial_learning_rate",
            doc="the value right after each restart.",
            annotation="float",
        ),
        Arg(
            "T_0",
            checks.integer(minimum=1),
            doc="length of the first period (>= 1).",
            annotation="int",
        ),
        Arg(
            "T_mult",
            checks.integer(minimum=1),
            default=1,
            doc="integer growth factor of the period after each restart (>= 1).",
            annotation="int",
        ),
        _ETA_MIN,
    ],
)

CosineAnnealingLR, CosineAnnealingWD, CosineAnnealingScheduler = COSINE_ANNEALING.classes(__name__)
(
    CosineAnnealingWarmRestarts,
    CosineAnnealingWarmRestartsWD,
    CosineAnnealingWarmRestartsScheduler,
) = COSINE_ANNEALING_WARM_RESTARTS.classes(__name__)
_ = INITIAL
