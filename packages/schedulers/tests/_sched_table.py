"""One table of every scheduler shape with LR, WD and generic arguments (the shared battery)."""

from __future__ import annotations

from typing import Any

import waferopt.schedulers as S
from waferopt.schedulers.shapes import SCHEDULES

# name -> (LR kwargs, WD kwargs, generic kwargs); the generic class also takes param_group_key.
SHAPES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}


# The LR classes' argument names -> the generic names, as the shapes declare them.
_LR_TO_GENERIC = {a.lr_name: a.name for s in SCHEDULES for a in s.args if a.lr_name}


def _add(shape: str, lr: dict[str, Any]) -> None:
    """The LR arguments of ``shape``; the WD and generic classes take the generic names."""
    generic = {_LR_TO_GENERIC.get(k, k): v for k, v in lr.items()}
    SHAPES[shape] = (lr, generic, generic)


_add("Constant", {"learning_rate": 0.03, "total_iters": 10})
_add(
    "Polynomial",
    {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": 40, "power": 2.0},
)
_add(
    "Linear",
    {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": 40, "cycle": True},
)
_add(
    "Exponential",
    {"initial_learning_rate": 0.1, "total_iters": 7, "decay_rate": 0.8, "staircase": True},
)
_add(
    "InverseExponentialTimeDecay",
    {"initial_learning_rate": 0.1, "step_exponent": 1.2, "total_iters": 5, "decay_rate": 0.3},
)
_add("InverseSquareRootDecay", {"initial_learning_rate": 0.5, "scale": 0.3, "warmup_steps": 9})
_add("CosineDecay", {"initial_learning_rate": 0.1, "end_learning_rate": 0.001, "total_iters": 50})
_add("PiecewiseConstant", {"learning_rates": [0.1, 0.05, 0.01], "milestones": [10, 30]})
_add("MultiStep", {"initial_learning_rate": 0.1, "gamma": 0.5, "milestones": [5, 20, 20]})
_add("Step", {"initial_learning_rate": 0.1, "step_size": 6, "gamma": 0.7})
_add("CosineAnnealing", {"initial_learning_rate": 0.1, "T_max": 25, "eta_min": 0.002})
_add("Lambda", {"initial_learning_rate": 0.1, "lr_lambda": lambda t: 0.97**t})
_add(
    "CosineAnnealingWarmRestarts",
    {"initial_learning_rate": 0.1, "T_0": 4, "T_mult": 2, "eta_min": 0.001},
)
_add("Multiplicative", {"initial_learning_rate": 0.1, "coefficient": 0.98})
_add(
    "Cyclic",
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "step_size_down": 8, "mode": "triangular2"},
)
_add(
    "OneCycle",
    {"initial_learning_rate": 0.004, "max_lr": 0.1, "total_steps": 60, "three_phase": True},
)
_add(
    "WarmupStableDecay",
    {
        "max_lr": 0.1,
        "warmup_steps": 5,
        "stable_steps": 7,
        "decay_steps": 11,
        "initial_learning_rate": 0.01,
        "end_learning_rate": 0.001,
        "decay_shape": "cosine",
    },
)

LR_NAMES = {
    shape: (
        "CosineAnnealingWarmRestarts" if shape == "CosineAnnealingWarmRestarts" else f"{shape}LR"
    )
    for shape in SHAPES
}
WD_NAMES = {shape: f"{shape}WD" for shape in SHAPES}
GENERIC_NAMES = {shape: f"{shape}Scheduler" for shape in SHAPES}


def build(flavour: str, shape: str, optimizer: Any, key: str = "lr", **extra: Any) -> Any:
    """Build the ``flavour`` ("lr", "wd", "generic") class of ``shape`` on ``optimizer``."""
    lr_kwargs, wd_kwargs, generic_kwargs = SHAPES[shape]
    if flavour == "lr":
        return getattr(S, LR_NAMES[shape])(optimizer, **lr_kwargs, **extra)
    if flavour == "wd":
        return getattr(S, WD_NAMES[shape])(optimizer, **wd_kwargs, **extra)
    return getattr(S, GENERIC_NAMES[shape])(optimizer, key, **generic_kwargs, **extra)
