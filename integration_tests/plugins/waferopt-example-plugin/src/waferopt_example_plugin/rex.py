"""REX: the reflected-exponential learning-rate schedule of budgeted training.

Written once with waferopt's schedule authoring API (:mod:`waferopt.core.schedule`):
one formula, its arguments, and three classes derived from them -- ``RexLR`` (the
learning rate), ``RexWD`` (the weight decay) and ``RexScheduler`` (any param-group
key) -- with validation, tags, checkpoints and the fast eager step for free.
"""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

__all__ = ["REX", "RexLR", "RexScheduler", "RexWD", "rex"]


def rex(step: Any, initial: float, total_iters: int, end: float = 0.0) -> Any:
    r"""REX decay from ``initial`` to ``end`` over ``total_iters`` steps, then ``end``.

    With the progress :math:`z = \min(t, T) / T`:

    .. math::
        v(t) = end + (initial - end)\,\frac{1 - z}{\tfrac12 + \tfrac12 (1 - z)}

    The profile stays near ``initial`` longer than a linear decay and drops faster at
    the end; it does well whatever the training budget.

    Reference: J. Chen, C. Wolfe, A. Kyrillidis, "REX: Revisiting Budgeted Training
    with an Improved Schedule", MLSys 2022 (arXiv:2107.04197), Eq. (1).
    """
    m = ops(step)
    remaining = 1.0 - m.minimum(step, float(total_iters)) / float(total_iters)
    return end + (initial - end) * remaining / (0.5 + 0.5 * remaining)


REX = Schedule(
    "Rex",
    rex,
    summary="REX: reflected-exponential decay for budgeted training (Chen et al. 2022).",
    args=[
        Arg(
            "initial_val",
            checks.number(non_negative=True),
            param="initial",
            lr_name="initial_learning_rate",
            doc="the value at step 0.",
            annotation="float",
        ),
        Arg(
            "total_iters",
            checks.integer(minimum=1),
            doc="the training budget ``T`` in steps (>= 1).",
            annotation="int",
        ),
        Arg(
            "end_val",
            checks.number(non_negative=True),
            default=0.0,
            param="end",
            lr_name="end_learning_rate",
            doc="the value from step ``total_iters`` on.",
            annotation="float",
        ),
    ],
    total_iters="total_iters",
    last_epoch=True,
    lr_aliases=("ReflectedExponentialLR",),
)

RexLR, RexWD, RexScheduler = REX.classes(__name__)
