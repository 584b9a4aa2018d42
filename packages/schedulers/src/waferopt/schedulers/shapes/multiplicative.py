"""Multiply by a coefficient every step."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import INITIAL


def multiplicative(step: Any, initial: float, coefficient: float) -> Any:
    r"""Multiply by ``coefficient`` every step: :math:`initial \cdot c^{t}`.

    Reference: ``torch.optim.lr_scheduler.MultiplicativeLR`` with a constant factor.
    """
    return initial * ops(step).pow(coefficient, step)


MULTIPLICATIVE = Schedule(
    "Multiplicative",
    multiplicative,
    summary="Multiply by a coefficient every step.",
    lr_summary="Multiplies the learning rate by ``coefficient`` every step.",
    args=[
        INITIAL,
        Arg(
            "coefficient",
            checks.number(),
            doc="the factor applied each step.",
            annotation="float",
        ),
    ],
)

MultiplicativeLR, MultiplicativeWD, MultiplicativeScheduler = MULTIPLICATIVE.classes(__name__)
