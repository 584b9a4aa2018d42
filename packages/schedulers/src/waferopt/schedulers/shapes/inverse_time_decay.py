"""Inverse time decay with a step exponent (Keras ``InverseTimeDecay``)."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import INITIAL, STAIRCASE


def inverse_time_decay(
    step: Any,
    initial: float,
    step_exponent: float,
    total_iters: int,
    decay_rate: float,
    staircase: bool = False,
) -> Any:
    r"""Inverse time decay with a step exponent.

    .. math::
        v(t) = \frac{initial}{1 + rate \cdot t^{k} / T}
        \quad(\text{staircase: } \lfloor t^{k} / T\rfloor)

    With ``k = 1`` this is ``tf.keras.optimizers.schedules.InverseTimeDecay``.
    """
    m = ops(step)
    progress = m.pow(step, step_exponent) / float(total_iters)
    if staircase:
        progress = m.floor(progress)
    return initial / (1.0 + decay_rate * progress)


INVERSE_TIME_DECAY = Schedule(
    "InverseExponentialTimeDecay",
    inverse_time_decay,
    summary="Inverse time decay (Keras InverseTimeDecay) with a step exponent.",
    lr_summary=(
        "Decays the learning rate inverse-exponentially over time, as the Keras "
        "``InverseTimeDecay`` class."
    ),
    args=[
        INITIAL,
        Arg(
            "step_exponent",
            checks.number(),
            doc="the exponent ``k`` of the step.",
            annotation="float",
        ),
        Arg(
            "total_iters",
            checks.integer(minimum=1),
            doc="the decay period ``T``.",
            annotation="int",
        ),
        Arg("decay_rate", checks.number(), doc="the decay rate.", annotation="float"),
        STAIRCASE,
    ],
    total_iters="total_iters",
)

(
    InverseExponentialTimeDecayLR,
    InverseExponentialTimeDecayWD,
    InverseExponentialTimeDecayScheduler,
) = INVERSE_TIME_DECAY.classes(__name__)
