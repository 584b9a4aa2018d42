"""Constant values between milestones (Keras ``PiecewiseConstantDecay``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from waferopt.core.schedule import Arg, Schedule, checks, ops


def piecewise_constant(step: Any, values: Sequence[float], milestones: Sequence[int]) -> Any:
    r"""``values[k]`` for :math:`m_k \le t < m_{k+1}` (:math:`m_0 = 0`); the last value persists.

    ``values`` may have ``len(milestones) + 1`` entries, or ``len(milestones)`` (the
    last one then also holds after the last milestone).

    Reference: ``tf.keras.optimizers.schedules.PiecewiseConstantDecay``.
    """
    m = ops(step)
    return m.take(values, m.count_le(milestones, step))


def _validate(args: dict[str, Any], name_of: Callable[[str], str]) -> None:
    values, milestones = args["values"], args["milestones"]
    if len(values) not in (len(milestones), len(milestones) + 1):
        raise ValueError(
            f"{name_of('values')} must have len(milestones) + 1 = {len(milestones) + 1} "
            f"values, got {len(values)}"
        )


PIECEWISE_CONSTANT = Schedule(
    "PiecewiseConstant",
    piecewise_constant,
    summary="Constant values between milestones.",
    lr_summary="Holds the learning rate at ``learning_rates[k]`` from milestone ``k`` to the next.",
    wd_summary="Holds the weight decay at ``vals[k]`` from milestone ``k`` to the next.",
    args=[
        Arg(
            "vals",
            checks.number_list(),
            param="values",
            lr_name="learning_rates",
            doc=(
                "the values, ``len(milestones) + 1`` of them (or ``len(milestones)``: the "
                "last one then persists, as Cerebras allows)."
            ),
            annotation="Sequence[float]",
            tensor="compute",
        ),
        Arg(
            "milestones",
            checks.int_list(increasing=True),
            doc="strictly increasing positive steps at which the next value starts.",
            annotation="Sequence[int]",
            tensor=torch.int64,
        ),
    ],
    validate=_validate,
)

PiecewiseConstantLR, PiecewiseConstantWD, PiecewiseConstantScheduler = PIECEWISE_CONSTANT.classes(
    __name__
)
