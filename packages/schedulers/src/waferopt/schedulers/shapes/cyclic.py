"""Cyclical schedule between two values (CLR)."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

MODES = ("triangular", "triangular2", "exp_range")


def cyclic(
    step: Any,
    base: float,
    max_val: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
    scale_mode: str | None = None,
) -> Any:
    r"""Cyclical schedule between ``base`` and ``max_val`` (CLR).

    With :math:`S` = up + down, :math:`\rho` = up / S, cycle :math:`c = \lfloor 1 + t/S\rfloor`,
    :math:`x = 1 + t/S - c`, :math:`s = x/\rho` if :math:`x \le \rho` else
    :math:`(x - 1)/(\rho - 1)`:

    .. math::
        v(t) = base + (max - base)\, s\, f(a)

    where :math:`f` is 1 (``triangular``), :math:`2^{-(a-1)}` (``triangular2``) or
    :math:`\gamma^{a}` (``exp_range``), and :math:`a` is the cycle number ``c``
    (``scale_mode="cycle"``) or the step ``t`` (``scale_mode="iterations"``). The
    default ``scale_mode=None`` takes each mode's own: cycle for the triangular modes,
    iterations for ``exp_range`` (as PyTorch; Cerebras 2.3 overwrote ``scale_mode``).

    Reference: Smith, "Cyclical Learning Rates for Training Neural Networks"
    (arXiv:1506.01186); ``torch.optim.lr_scheduler.CyclicLR``.
    """
    m = ops(step)
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total = up + down
    ratio = up / total
    cycle = m.floor(1.0 + step / total)
    x = 1.0 + step / total - cycle
    scale = m.where(x <= ratio, x / ratio, (x - 1.0) / (ratio - 1.0))
    height = (max_val - base) * scale
    if scale_mode is None:
        scale_mode = "iterations" if mode == "exp_range" else "cycle"
    argument = cycle if scale_mode == "cycle" else step
    if mode == "triangular":
        return base + height
    if mode == "triangular2":
        return base + height * (1.0 / m.pow(2.0, argument - 1.0))
    if mode == "exp_range":
        return base + height * m.pow(gamma, argument)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


CYCLIC = Schedule(
    "Cyclic",
    cyclic,
    summary="Cyclical schedule (CLR): triangular, triangular2, exp_range.",
    lr_summary=(
        "Cycles the learning rate between ``base_lr`` and ``max_lr`` (CLR; similar to "
        "``torch.optim.lr_scheduler.CyclicLR``)."
    ),
    wd_summary=(
        "Cycles the weight decay between ``base_val`` and ``max_val`` (CLR; similar to "
        "``torch.optim.lr_scheduler.CyclicLR``)."
    ),
    args=[
        Arg(
            "base_val",
            checks.number(),
            param="base",
            lr_name="base_lr",
            doc="lower boundary of the cycle (the value at step 0).",
            annotation="float",
        ),
        Arg(
            "max_val",
            checks.number(),
            lr_name="max_lr",
            doc="upper boundary of the cycle.",
            annotation="float",
        ),
        Arg(
            "step_size_up",
            checks.integer(minimum=1),
            default=2000,
            doc="steps of the increasing half (>= 1).",
            annotation="int",
        ),
        Arg(
            "step_size_down",
            checks.optional(checks.integer(minimum=1)),
            default=None,
            doc="steps of the decreasing half (>= 1); ``None`` = ``step_size_up``.",
            annotation="int | None",
        ),
        Arg(
            "mode",
            checks.choice(*MODES),
            default="triangular",
            doc='``"triangular"``, ``"triangular2"`` or ``"exp_range"``.',
            annotation="str",
        ),
        Arg(
            "gamma",
            checks.number(),
            default=1.0,
            doc="the base of the ``exp_range`` scaling.",
            annotation="float",
        ),
        Arg(
            "scale_mode",
            checks.choice(None, "cycle", "iterations"),
            default=None,
            doc='``"cycle"``, ``"iterations"`` or ``None`` (the mode\'s own).',
            annotation="str | None",
        ),
    ],
)

CyclicLR, CyclicWD, CyclicScheduler = CYCLIC.classes(__name__)
