"""The schedule gallery's configs: one per LR scheduler shape, in LR argument names.

Each ``source`` is the Python text of the arguments given to ``configure_scheduler``
under the class name; the gallery shows this text (as YAML when it holds no code),
evaluates it, and draws the result. The WD figure is the same schedule through the WD
class (the argument names are mapped from the two signatures). Keep the numbers
readable: 100 steps, values between 0 and 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Shape:
    source: str
    groups: list[dict[str, Any]] = field(default_factory=list)
    """Extra keys of each param group (several groups: one curve per group)."""


_WARMUP = (
    '{"LinearLR": {"initial_learning_rate": 0.0, "end_learning_rate": 1.0, "total_iters": 10}}'
)

GALLERY: dict[str, Shape] = {
    "ConstantLR": Shape('{"learning_rate": 0.5}'),
    "PolynomialLR": Shape(
        '{"initial_learning_rate": 1.0, "end_learning_rate": 0.1, "total_iters": 40, "power": 2.0, "cycle": True}'
    ),
    "LinearLR": Shape(
        '{"initial_learning_rate": 1.0, "end_learning_rate": 0.1, "total_iters": 80}'
    ),
    "ExponentialLR": Shape(
        '{"initial_learning_rate": 1.0, "total_iters": 20, "decay_rate": 0.5, "staircase": True}'
    ),
    "InverseExponentialTimeDecayLR": Shape(
        '{"initial_learning_rate": 1.0, "step_exponent": 1.0, "total_iters": 10, "decay_rate": 0.5}'
    ),
    "InverseSquareRootDecayLR": Shape(
        '{"initial_learning_rate": 1.0, "scale": 1.0, "warmup_steps": 10}'
    ),
    "CosineDecayLR": Shape(
        '{"initial_learning_rate": 1.0, "end_learning_rate": 0.1, "total_iters": 80}'
    ),
    "SequentialLR": Shape(
        '{"schedulers": [\n    '
        + _WARMUP
        + ',\n    {"CosineDecayLR": {"initial_learning_rate": 1.0, '
        '"end_learning_rate": 0.1, "total_iters": 90}},\n]}'
    ),
    "PiecewiseConstantLR": Shape('{"learning_rates": [1.0, 0.5, 0.1], "milestones": [30, 70]}'),
    "MultiStepLR": Shape(
        '{"initial_learning_rate": 1.0, "gamma": 0.5, "milestones": [30, 60, 80]}'
    ),
    "StepLR": Shape('{"initial_learning_rate": 1.0, "step_size": 25, "gamma": 0.5}'),
    "CosineAnnealingLR": Shape('{"initial_learning_rate": 1.0, "T_max": 40, "eta_min": 0.1}'),
    "LambdaLR": Shape('{"initial_learning_rate": 1.0, "lr_lambda": lambda t: 0.97 ** t}'),
    "CosineAnnealingWarmRestarts": Shape(
        '{"initial_learning_rate": 1.0, "T_0": 15, "T_mult": 2, "eta_min": 0.1}'
    ),
    "MultiplicativeLR": Shape('{"initial_learning_rate": 1.0, "coefficient": 0.98}'),
    "ChainedLR": Shape(
        '{"schedulers": [\n    {"CyclicLR": {"base_lr": 0.5, "max_lr": 1.0, "step_size_up": 10}},\n'
        '    {"CosineDecayLR": {"initial_learning_rate": 1.0, "end_learning_rate": 0.1, "total_iters": 100}},\n]}'
    ),
    "CyclicLR": Shape(
        '{"base_lr": 0.1, "max_lr": 1.0, "step_size_up": 15, "step_size_down": 10, "mode": "triangular2"}'
    ),
    "OneCycleLR": Shape(
        '{"initial_learning_rate": 0.04, "max_lr": 1.0, "total_steps": 80, "pct_start": 0.25, "final_div_factor": 4.0}'
    ),
    "ScalePerParamLR": Shape(
        '{"scheduler": {"CosineDecayLR": {"initial_learning_rate": 1.0, "end_learning_rate": 0.1, "total_iters": 80}}}',
        groups=[{"adjust_learning_rate": 1.0}, {"adjust_learning_rate": 0.5}],
    ),
    "WarmupStableDecayLR": Shape(
        '{"max_lr": 1.0, "warmup_steps": 10, "stable_steps": 50, "decay_steps": 30, '
        '"end_learning_rate": 0.1}'
    ),
}
