"""Cosine decay to an end value, then the end value (Keras ``CosineDecay``)."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Schedule, ops

from ._args import END, INITIAL, TOTAL_ITERS


def cosine_decay(step: Any, initial: float, end: float, total_iters: int) -> Any:
    r"""Cosine decay from ``initial`` to ``end`` over ``total_iters`` steps, then ``end``.

    .. math::
        v(t) = end + (initial - end)\,\tfrac12\bigl(1 + \cos(\pi \min(t, T) / T)\bigr)

    Reference: ``tf.keras.optimizers.schedules.CosineDecay`` with
    ``alpha = end / initial``.

    Example:
        >>> round(cosine_decay(50.0, initial=1.0, end=0.0, total_iters=100), 12)
        0.5
    """
    m = ops(step)
    T = float(total_iters)
    progress = 0.5 * (1.0 + m.cos(m.pi * m.minimum(step, T) / T))
    return end + (initial - end) * progress


COSINE_DECAY = Schedule(
    "CosineDecay",
    cosine_decay,
    summary="Cosine decay to an end value (Keras CosineDecay).",
    lr_summary=(
        "Applies the cosine decay schedule of the Keras ``CosineDecay`` class to the learning rate."
    ),
    args=[INITIAL, END, TOTAL_ITERS],
    total_iters="total_iters",
)

CosineDecayLR, CosineDecayWD, CosineDecayScheduler = COSINE_DECAY.classes(__name__)
