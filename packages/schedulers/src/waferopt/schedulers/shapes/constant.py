"""Constant: ``v(t) = val``."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops


def constant(step: Any, val: float, total_iters: int | None = None) -> Any:
    """The same value at every step: ``v(t) = val``.

    ``total_iters`` only gives the duration used as a ``SequentialLR`` milestone
    (unlike ``torch.optim.lr_scheduler.ConstantLR``'s factor period).
    """
    return ops(step).full(step, val)


CONSTANT = Schedule(
    "Constant",
    constant,
    summary="Constant value.",
    lr_summary="Maintains a constant learning rate: ``v(t) = learning_rate``.",
    wd_summary="Maintains a constant weight decay: ``v(t) = val``.",
    args=[
        Arg(
            "val",
            checks.number(),
            lr_name="learning_rate",
            doc="the value to hold.",
            annotation="float",
        ),
        Arg(
            "total_iters",
            checks.optional(checks.integer()),
            default=None,
            doc="the duration in steps, used only as a ``SequentialLR`` milestone.",
            annotation="int | None",
        ),
    ],
    total_iters="total_iters",
)

ConstantLR, ConstantWD, ConstantScheduler = CONSTANT.classes(__name__)
