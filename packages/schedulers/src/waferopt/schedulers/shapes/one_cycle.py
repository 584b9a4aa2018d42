"""The 1cycle policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

from ._args import INITIAL


def _phase_ends(total_steps: int, pct_start: float, three_phase: bool) -> list[float]:
    n, p = float(total_steps), pct_start
    return [p * n - 1.0, 2.0 * p * n - 2.0, n - 1.0] if three_phase else [p * n - 1.0, n - 1.0]


def one_cycle(
    step: Any,
    initial: float,
    max_val: float,
    total_steps: int = 1000,
    pct_start: float = 0.3,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    anneal_strategy: str = "cos",
) -> Any:
    r"""The 1cycle policy: ``initial`` → ``max_val`` → ``initial / final_div_factor``.

    With :math:`N` = ``total_steps`` and :math:`p` = ``pct_start``, phases end at
    :math:`pN - 1` and :math:`N - 1` (three-phase: :math:`pN - 1`, :math:`2pN - 2`,
    :math:`N - 1`, going ``initial`` → ``max`` → ``initial`` → ``min``). Within a phase
    from :math:`s` to :math:`e`, :math:`x = (t - s)/(e - s)` and the value anneals by
    cosine :math:`b + (a - b)\tfrac12(1 + \cos\pi x)` or linearly :math:`a + x(b - a)`.
    Past :math:`N - 1` the final value holds (Cerebras 2.3 kept extrapolating; PyTorch
    raises). ``initial`` is PyTorch's ``max_lr / div_factor``.

    Reference: Smith & Topin, "Super-Convergence" (arXiv:1708.07120);
    ``torch.optim.lr_scheduler.OneCycleLR`` with ``div_factor = max / initial``.
    """
    m = ops(step)
    end_value = initial / final_div_factor
    ends = _phase_ends(total_steps, pct_start, three_phase)
    values = (
        [(initial, max_val), (max_val, initial), (initial, end_value)]
        if three_phase
        else [(initial, max_val), (max_val, end_value)]
    )
    t = m.minimum(step, float(total_steps) - 1.0)
    start = 0.0
    result: Any = None
    for index, (end, (a, b)) in enumerate(zip(ends, values)):
        pct = (t - start) / (end - start)
        if anneal_strategy == "cos":
            value = b + (a - b) / 2.0 * (m.cos(m.pi * pct) + 1.0)
        else:
            value = (b - a) * pct + a
        result = value if index == 0 else m.where(t > start, value, result)
        start = end
    return result


def _validate(args: dict[str, Any], name_of: Callable[[str], str]) -> None:
    if not 0.0 < args["pct_start"] < 1.0:
        raise ValueError(f"{name_of('pct_start')} must be in (0, 1), got {args['pct_start']!r}")
    ends = _phase_ends(args["total_steps"], args["pct_start"], args["three_phase"])
    if any(b <= a for a, b in zip([0.0, *ends], ends)):
        raise ValueError(
            f"{name_of('total_steps')}={args['total_steps']} and pct_start={args['pct_start']} "
            f"give phases ending at {ends}; each phase must last more than 0 steps"
        )


ONE_CYCLE = Schedule(
    "OneCycle",
    one_cycle,
    summary="The 1cycle policy.",
    lr_summary=(
        "Sets the learning rate by the 1cycle policy (similar to "
        "``torch.optim.lr_scheduler.OneCycleLR``; ``initial_learning_rate`` is torch's "
        "``max_lr / div_factor``)."
    ),
    wd_summary=(
        "Sets the weight decay by the 1cycle policy (similar to "
        "``torch.optim.lr_scheduler.OneCycleLR``; ``initial_val`` is torch's "
        "``max_lr / div_factor``)."
    ),
    args=[
        INITIAL,
        Arg(
            "max_val", checks.number(), lr_name="max_lr", doc="the peak value.", annotation="float"
        ),
        Arg(
            "total_steps",
            checks.integer(minimum=2),
            default=1000,
            doc="the length of the cycle (>= 2).",
            annotation="int",
        ),
        Arg(
            "pct_start",
            checks.number(),
            default=0.3,
            doc="fraction of the cycle spent increasing, in (0, 1).",
            annotation="float",
        ),
        Arg(
            "final_div_factor",
            checks.number(positive=True),
            default=1e4,
            doc="the final value is ``initial_val / final_div_factor``.",
            annotation="float",
        ),
        Arg(
            "three_phase",
            checks.flag(),
            default=False,
            doc="go back down to ``initial_val`` before the final annealing.",
            annotation="bool",
        ),
        Arg(
            "anneal_strategy",
            checks.choice("cos", "linear"),
            default="cos",
            doc='``"cos"`` or ``"linear"``.',
            annotation="str",
        ),
    ],
    validate=_validate,
    total_iters="total_steps",
)

OneCycleLR, OneCycleWD, OneCycleScheduler = ONE_CYCLE.classes(__name__)
