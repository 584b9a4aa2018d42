"""Decay by a factor at each milestone reached."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import GAMMA, INITIAL


def multi_step(step: Any, initial: float, gamma: float, milestones: Sequence[int]) -> Any:
    r"""Decay by ``gamma`` at each milestone reached (a repeated milestone counts twice).

    .. math::
        v(t) = initial \cdot \gamma^{\#\{m \in milestones : m \le t\}}

    Reference: ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    m = ops(step)
    return initial * m.pow(gamma, m.count_le(milestones, step))


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
        GAMMA,
        Arg(
            "milestones",
            checks.int_list(),
            doc="the steps at which to decay (non-negative ints, any order).",
            annotation="Sequence[int]",
            tensor=torch.int64,
        ),
    ],
)

MultiStepLR, MultiStepWD, MultiStepScheduler = MULTI_STEP.classes(__name__)
