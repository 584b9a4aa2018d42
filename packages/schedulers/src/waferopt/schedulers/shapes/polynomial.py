"""Polynomial decay (and Linear, its power-1 case), optionally cycling TensorFlow-style."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import END, INITIAL, TOTAL_ITERS


def polynomial_decay(
    step: Any,
    initial: float,
    end: float,
    total_iters: int,
    power: float = 1.0,
    cycle: bool = False,
) -> Any:
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
    m = ops(step)
    T = float(total_iters)
    if cycle:
        multiplier = m.where(step == 0, 1.0, m.ceil(step / T))
        fraction = step / (T * multiplier)
    else:
        fraction = m.minimum(step, T) / T
    return (initial - end) * m.pow(1.0 - fraction, power) + end


_CYCLE = Arg(
    "cycle",
    checks.flag(),
    default=False,
    doc="restart the decay with a longer period instead of holding the end value.",
    annotation="bool",
)

POLYNOMIAL = Schedule(
    "Polynomial",
    polynomial_decay,
    summary="Polynomial decay, optionally cycling (TF style).",
    lr_summary=(
        "Decays the learning rate polynomially from ``initial_learning_rate`` to "
        "``end_learning_rate`` over ``total_iters`` steps (similar to "
        "``torch.optim.lr_scheduler.PolynomialLR``)."
    ),
    args=[
        INITIAL,
        END,
        TOTAL_ITERS,
        Arg(
            "power",
            checks.number(),
            default=1.0,
            doc="exponent of the decay (1 is linear).",
            annotation="float",
        ),
        _CYCLE,
    ],
    total_iters="total_iters",
)

LINEAR = Schedule(
    "Linear",
    polynomial_decay,
    summary="Linear interpolation over total_iters.",
    lr_summary=(
        "Interpolates the learning rate linearly from ``initial_learning_rate`` to "
        "``end_learning_rate``: a polynomial of power 1."
    ),
    args=[INITIAL, END, TOTAL_ITERS, _CYCLE],
    constants={"power": 1.0},
    total_iters="total_iters",
)

PolynomialLR, PolynomialWD, PolynomialScheduler = POLYNOMIAL.classes(__name__)
LinearLR, LinearWD, LinearScheduler = LINEAR.classes(__name__)
