"""Exponential decay, TensorFlow style (never clamped)."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import INITIAL, STAIRCASE


def exponential_decay(
    step: Any, initial: float, total_iters: int, decay_rate: float, staircase: bool = False
) -> Any:
    r"""TensorFlow-style exponential decay, never clamped.

    .. math::
        v(t) = initial \cdot rate^{t / T} \quad(\text{staircase: } rate^{\lfloor t / T\rfloor})

    Reference: ``tf.keras.optimizers.schedules.ExponentialDecay``; with ``T = 1`` it is
    ``torch.optim.lr_scheduler.ExponentialLR(gamma=rate)``.
    """
    m = ops(step)
    exponent = step / float(total_iters)
    if staircase:
        exponent = m.floor(exponent)
    return initial * m.pow(decay_rate, exponent)


EXPONENTIAL = Schedule(
    "Exponential",
    exponential_decay,
    summary="Exponential decay, TF style, optional staircase.",
    lr_summary=(
        "Decays the learning rate by ``decay_rate`` every ``total_iters`` steps, TensorFlow "
        "style (similar to ``torch.optim.lr_scheduler.ExponentialLR``)."
    ),
    args=[
        INITIAL,
        Arg(
            "total_iters",
            checks.integer(minimum=1),
            doc="the number of steps over which the value is multiplied by ``decay_rate``.",
            annotation="int",
        ),
        Arg(
            "decay_rate",
            checks.number(),
            doc="the decay factor per ``total_iters`` steps.",
            annotation="float",
        ),
        STAIRCASE,
    ],
    total_iters="total_iters",
)

ExponentialLR, ExponentialWD, ExponentialScheduler = EXPONENTIAL.classes(__name__)
