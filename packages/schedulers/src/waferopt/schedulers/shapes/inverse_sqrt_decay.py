"""Inverse square-root decay, constant during warm-up."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import INITIAL


def inverse_sqrt_decay(step: Any, initial: float, scale: float, warmup_steps: float) -> Any:
    r"""Inverse square-root decay, constant during warm-up.

    .. math::
        v(t) = \frac{initial \cdot scale}{\sqrt{\max(t, W)}}

    Reference: Vaswani et al., "Attention Is All You Need" (2017), §5.3 (the decay part).
    """
    m = ops(step)
    return (initial * scale) / m.sqrt(m.maximum(step, float(warmup_steps)))


INVERSE_SQRT_DECAY = Schedule(
    "InverseSquareRootDecay",
    inverse_sqrt_decay,
    summary="Inverse square-root decay after warm-up.",
    lr_summary=(
        "Decays the learning rate as ``initial_learning_rate * scale / "
        "sqrt(max(t, warmup_steps))``."
    ),
    args=[
        Arg(
            "initial_val",
            checks.number(),
            default=1.0,
            param="initial",
            lr_name="initial_learning_rate",
            doc="the base value.",
            annotation="float",
        ),
        Arg(
            "scale", checks.number(), default=1.0, doc="multiplicative factor.", annotation="float"
        ),
        Arg(
            "warmup_steps",
            checks.number(positive=True),
            default=1,
            doc="``W`` (> 0): the value is constant for ``t <= W``.",
            annotation="float",
        ),
    ],
)

(
    InverseSquareRootDecayLR,
    InverseSquareRootDecayWD,
    InverseSquareRootDecayScheduler,
) = INVERSE_SQRT_DECAY.classes(__name__)
_ = INITIAL
