"""Decays by a factor: at milestones (MultiStep), every ``step_size`` steps (Step),
or every step (Multiplicative)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import INITIAL

_GAMMA = Arg("gamma", checks.number(), doc="the multiplicative factor.", annotation="float")


def multi_step(step: Any, initial: float, gamma: float, milestones: Sequence[int]) -> Any:
    r"""Decay by ``gamma`` at each milestone reached (a repeated milestone counts twice).

    .. math::
        v(t) = initial \cdot \gamma^{\#\{m \in milestones : m \le t\}}

    Reference: ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    m = ops(step)
    return initial * m.pow(gamma, m.count_le(milestones, step))


def step_decay(step: Any, initial: float, step_size: int, gamma: float) -> Any:
    r"""Decay by ``gamma`` every ``step_size`` steps: :math:`initial\cdot\gamma^{\lfloor t / s\rfloor}`.

    Reference: ``torch.optim.lr_scheduler.StepLR``.
    """
    m = ops(step)
    return initial * m.pow(gamma, m.floor(step / float(step_size)))


def multiplicative(step: Any, initial: float, coefficient: float) -> Any:
    r"""Multiply by ``coefficient`` every step: :math:`initial \cdot c^{t}`.

    Reference: ``torch.optim.lr_scheduler.MultiplicativeLR`` with a constant factor.
    """
    return initial * ops(step).pow(coefficient, step)


MULTI_STEP = Schedule(
    "MultiStep",
    multi_step,
    summary="Decay by gamma at each milestone.",
    lr_summary=(
        "Decays the learning rate by ``gamma`` at each milestone (similar to "
        "``torch.optim.lr_scheduler.MultiStepLR``)."
    ),
    args=[
        INITIAL,
        _GAMMA,
        Arg(
            "milestones",
            checks.int_list(),
            doc="the steps at which to decay (non-negative ints, any order).",
            annotation="Sequence[int]",
            tensor=torch.int64,
        ),
    ],
)

STEP = Schedule(
    "Step",
    step_decay,
    summary="Decay by gamma every step_size steps.",
    lr_summary=(
        "Decays the learning rate by ``gamma`` every ``step_size`` steps (similar to "
        "``torch.optim.lr_scheduler.StepLR``)."
    ),
    args=[
        INITIAL,
        Arg(
            "step_size",
            checks.integer(minimum=1),
            doc="the period of decay (>= 1).",
            annotation="int",
        ),
        _GAMMA,
    ],
)

MULTIPLICATIVE = Schedule(
    "Multiplicative",
    multiplicative,
    summary="Multiply by a coefficient every step.",
    lr_summary="Multiplies the learning rate by ``coefficient`` every step.",
    args=[
        INITIAL,
        Arg(
            "coefficient", checks.number(), doc="the factor applied each step.", annotation="float"
        ),
    ],
)

MultiStepLR, MultiStepWD, MultiStepScheduler = MULTI_STEP.classes(__name__)
StepLR, StepWD, StepScheduler = STEP.classes(__name__)
MultiplicativeLR, MultiplicativeWD, MultiplicativeScheduler = MULTIPLICATIVE.classes(__name__)
