"""Warmup-stable-decay (WSD): the trapezoidal LR schedule of LLM pre-training."""

from __future__ import annotations

import math
from typing import Any

import torch

from waferopt.core import LRScheduler, Optimizer, check_non_negative

__all__ = ["DECAY_SHAPES", "WarmupStableDecayLR"]

DECAY_SHAPES = ("1-sqrt", "linear", "cosine")
"""The cooldown shapes :class:`WarmupStableDecayLR` offers."""


class WarmupStableDecayLR(LRScheduler):
    r"""Linear warmup, a constant plateau, then a cooldown to the end value.

    With warmup :math:`W`, stable :math:`S` and decay :math:`D` steps, peak
    :math:`\eta_p`, initial :math:`\eta_0` and end :math:`\eta_e`:

    .. math::

        \eta(t) = \begin{cases}
          \eta_0 + (\eta_p - \eta_0)\, t / W & t < W \\
          \eta_p & W \le t < W + S \\
          \eta_e + (\eta_p - \eta_e)\, f\big((t - W - S) / D\big) & W + S \le t < W + S + D \\
          \eta_e & t \ge W + S + D
        \end{cases}

    with the cooldown shape :math:`f(x) = 1 - \sqrt{x}` (``"1-sqrt"``, the
    default: the shape Hägele et al. found best, matching a cosine schedule
    tuned to the run's length), :math:`1 - x` (``"linear"``) or
    :math:`\tfrac12(1 + \cos \pi x)` (``"cosine"``). Values are computed in
    closed form from the step with tensor operations only.

    Args:
        optimizer: the waferopt optimizer.
        peak_learning_rate: :math:`\eta_p`, reached at the end of the warmup.
        warmup_steps: :math:`W` (0: start at the peak).
        stable_steps: :math:`S`.
        decay_steps: :math:`D` (0: drop to the end value at once).
        initial_learning_rate: :math:`\eta_0`, the value at step 0.
        end_learning_rate: :math:`\eta_e`, held after the cooldown.
        decay_shape: ``"1-sqrt"``, ``"linear"`` or ``"cosine"``.
        last_epoch: the step before the first one (-1 starts at step 0).
        param_group_tags: apply only to the groups carrying one of these tags.

    References:
        S. Hu et al. "MiniCPM: Unveiling the Potential of Small Language Models
        with Scalable Training Strategies". arXiv:2404.06395 (2024), §4.2 (WSD).
        A. Hägele et al. "Scaling Laws and Compute-Optimal Training Beyond Fixed
        Training Durations". arXiv:2405.18392 (2024), §3 (the 1-sqrt cooldown).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        peak_learning_rate: float,
        warmup_steps: int,
        stable_steps: int,
        decay_steps: int,
        initial_learning_rate: float = 0.0,
        end_learning_rate: float = 0.0,
        decay_shape: str = "1-sqrt",
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        for name, value in (
            ("warmup_steps", warmup_steps),
            ("stable_steps", stable_steps),
            ("decay_steps", decay_steps),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Invalid {name}: {value!r} (expected an int >= 0)")
        check_non_negative("peak_learning_rate", peak_learning_rate)
        check_non_negative("initial_learning_rate", initial_learning_rate)
        check_non_negative("end_learning_rate", end_learning_rate)
        if decay_shape not in DECAY_SHAPES:
            raise ValueError(
                f"Invalid decay_shape: {decay_shape!r} (expected one of {DECAY_SHAPES})"
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.initial_learning_rate = float(initial_learning_rate)
        self.end_learning_rate = float(end_learning_rate)
        self.warmup_steps = warmup_steps
        self.stable_steps = stable_steps
        self.decay_steps = decay_steps
        self.decay_shape = decay_shape
        super().__init__(
            optimizer,
            total_iters=warmup_steps + stable_steps + decay_steps,
            last_epoch=last_epoch,
            param_group_tags=param_group_tags,
        )

    def _get_closed_form(self) -> torch.Tensor:
        t = self.step_as_float()
        peak, end = self.constant(self.peak_learning_rate), self.constant(self.end_learning_rate)
        warmup = self.constant(self.initial_learning_rate) + (peak - self.initial_learning_rate) * (
            t / max(self.warmup_steps, 1)
        )
        decay_start = self.warmup_steps + self.stable_steps
        x = torch.clamp((t - decay_start) / max(self.decay_steps, 1), 0.0, 1.0)
        if self.decay_shape == "1-sqrt":
            f = 1.0 - torch.sqrt(x)
        elif self.decay_shape == "linear":
            f = 1.0 - x
        else:
            f = 0.5 * (1.0 + torch.cos(math.pi * x))
        cooldown = end + (peak - end) * f
        return torch.where(
            t < self.warmup_steps,
            warmup,
            torch.where(t < decay_start, peak, torch.where(t < self.total_iters, cooldown, end)),
        )
