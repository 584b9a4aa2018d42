"""Warmup-stable-decay (WSD): linear warmup, a constant plateau, then a cooldown."""

from __future__ import annotations

from typing import Any

from waferopt.core.schedule import Arg, Schedule, checks, ops

DECAY_SHAPES = ("linear", "cosine", "1-sqrt")
"""The cooldown shapes: :math:`1 - x`, :math:`\\tfrac12(1 + \\cos\\pi x)`, :math:`1 - \\sqrt{x}`."""


def warmup_stable_decay(
    step: Any,
    peak: float,
    warmup_steps: int,
    stable_steps: int,
    decay_steps: int,
    initial: float = 0.0,
    end: float = 0.0,
    decay_shape: str = "1-sqrt",
) -> Any:
    r"""Linear warmup to ``peak``, constant, then a cooldown to ``end`` (WSD).

    With warmup :math:`W`, stable :math:`S` and decay :math:`D` steps:

    .. math::
        v(t) = \begin{cases}
          initial + (peak - initial)\, t / W & t < W \\
          peak & W \le t < W + S \\
          end + (peak - end)\, f\bigl((t - W - S) / D\bigr) & W + S \le t < W + S + D \\
          end & t \ge W + S + D
        \end{cases}

    where the cooldown :math:`f(x)` is :math:`1 - x` (``"linear"``),
    :math:`\tfrac12(1 + \cos\pi x)` (``"cosine"``) or :math:`1 - \sqrt{x}`
    (``"1-sqrt"``, the default: the cooldown Hägele et al. found to match a cosine
    schedule tuned to the run's length).

    References: S. Hu et al., "MiniCPM: Unveiling the Potential of Small Language Models
    with Scalable Training Strategies", arXiv:2404.06395 (2024), §4 (WSD); A. Hägele et
    al., "Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations",
    arXiv:2405.18392 (2024), §3 (the cooldown shapes).
    """
    m = ops(step)
    warmup = initial + (peak - initial) * (step / float(max(warmup_steps, 1)))
    decay_start = float(warmup_steps + stable_steps)
    x = m.clamp((step - decay_start) / float(max(decay_steps, 1)), 0.0, 1.0)
    if decay_shape == "linear":
        f = 1.0 - x
    elif decay_shape == "cosine":
        f = 0.5 * (1.0 + m.cos(m.pi * x))
    else:
        f = 1.0 - m.sqrt(x)
    cooldown = end + (peak - end) * f
    total = decay_start + decay_steps
    return m.where(
        step < warmup_steps,
        warmup,
        m.where(step < decay_start, peak, m.where(step < total, cooldown, end)),
    )


_STEPS = checks.integer(minimum=0)

WARMUP_STABLE_DECAY = Schedule(
    "WarmupStableDecay",
    warmup_stable_decay,
    summary="Linear warmup, constant, then a linear / cosine / 1-sqrt cooldown (WSD).",
    args=[
        Arg(
            "max_val",
            checks.number(),
            param="peak",
            lr_name="max_lr",
            doc="the plateau value, reached at the end of the warmup.",
            annotation="float",
        ),
        Arg(
            "warmup_steps",
            _STEPS,
            doc="``W``, steps of linear warmup (0: start at the peak).",
            annotation="int",
        ),
        Arg("stable_steps", _STEPS, doc="``S``, steps at the peak.", annotation="int"),
        Arg(
            "decay_steps",
            _STEPS,
            doc="``D``, steps of cooldown (0: drop at once).",
            annotation="int",
        ),
        Arg(
            "initial_val",
            checks.number(),
            default=0.0,
            param="initial",
            lr_name="initial_learning_rate",
            doc="the value at step 0.",
            annotation="float",
        ),
        Arg(
            "end_val",
            checks.number(),
            default=0.0,
            param="end",
            lr_name="end_learning_rate",
            doc="the value after the cooldown.",
            annotation="float",
        ),
        Arg(
            "decay_shape",
            checks.choice(*DECAY_SHAPES),
            default="1-sqrt",
            doc='the cooldown: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.',
            annotation="str",
        ),
    ],
    total_iters=lambda a: a["warmup_steps"] + a["stable_steps"] + a["decay_steps"],
)

WarmupStableDecayLR, WarmupStableDecayWD, WarmupStableDecayScheduler = WARMUP_STABLE_DECAY.classes(
    __name__
)
