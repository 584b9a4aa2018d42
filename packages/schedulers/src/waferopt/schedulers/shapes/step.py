"""Decay by a factor every ``step_size`` steps."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import GAMMA, INITIAL


def step_decay(step: Any, initial: float, step_size: int, gamma: float) -> Any:
    r"""Decay by ``gamma`` every ``step_size`` steps: :math:`initial\cdot\gamma^{\lfloor t / s\rfloor}`.

    Reference: ``torch.optim.lr_scheduler.StepLR``.
    """
    m = ops(step)
    return initial * m.pow(gamma, m.floor(step / float(step_size)))


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
        GAMMA,
    ],
)

StepLR, StepWD, StepScheduler = STEP.classes(__name__)
