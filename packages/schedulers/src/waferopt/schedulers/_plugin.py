"""The waferopt plugin of this distribution (entry point ``waferopt: schedulers``).

Records only: listing what is installed imports no scheduler module.
"""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl

_M = "waferopt.schedulers"

# (shape, LR name, WD name, generic name, one-line description)
_SHAPES: list[tuple[str, str, str, str]] = [
    ("ConstantLR", "ConstantWD", "ConstantScheduler", "Constant value"),
    (
        "PolynomialLR",
        "PolynomialWD",
        "PolynomialScheduler",
        "Polynomial decay, optionally cycling (TF style)",
    ),
    ("LinearLR", "LinearWD", "LinearScheduler", "Linear interpolation over total_iters"),
    (
        "ExponentialLR",
        "ExponentialWD",
        "ExponentialScheduler",
        "Exponential decay, TF style, optional staircase",
    ),
    (
        "InverseExponentialTimeDecayLR",
        "InverseExponentialTimeDecayWD",
        "InverseExponentialTimeDecayScheduler",
        "Inverse time decay (Keras InverseTimeDecay) with a step exponent",
    ),
    (
        "InverseSquareRootDecayLR",
        "InverseSquareRootDecayWD",
        "InverseSquareRootDecayScheduler",
        "Inverse square-root decay after warm-up",
    ),
    (
        "CosineDecayLR",
        "CosineDecayWD",
        "CosineDecayScheduler",
        "Cosine decay to an end value (Keras CosineDecay)",
    ),
    (
        "SequentialLR",
        "SequentialWD",
        "SequentialScheduler",
        "Schedulers one after another at milestones",
    ),
    (
        "PiecewiseConstantLR",
        "PiecewiseConstantWD",
        "PiecewiseConstantScheduler",
        "Constant values between milestones",
    ),
    ("MultiStepLR", "MultiStepWD", "MultiStepScheduler", "Decay by gamma at each milestone"),
    ("StepLR", "StepWD", "StepScheduler", "Decay by gamma every step_size steps"),
    (
        "CosineAnnealingLR",
        "CosineAnnealingWD",
        "CosineAnnealingScheduler",
        "Cosine annealing (SGDR without restarts)",
    ),
    (
        "LambdaLR",
        "LambdaWD",
        "LambdaScheduler",
        "Initial value times the product of user functions of the step",
    ),
    (
        "CosineAnnealingWarmRestarts",
        "CosineAnnealingWarmRestartsWD",
        "CosineAnnealingWarmRestartsScheduler",
        "Cosine annealing with warm restarts (SGDR)",
    ),
    (
        "MultiplicativeLR",
        "MultiplicativeWD",
        "MultiplicativeScheduler",
        "Multiply by a coefficient every step",
    ),
    (
        "ChainedLR",
        "ChainedWD",
        "ChainedGenericScheduler",
        "Product of schedulers relative to their initial values",
    ),
    (
        "CyclicLR",
        "CyclicWD",
        "CyclicScheduler",
        "Cyclical schedule (CLR): triangular, triangular2, exp_range",
    ),
    ("OneCycleLR", "OneCycleWD", "OneCycleScheduler", "The 1cycle policy"),
    (
        "ScalePerParamLR",
        "ScalePerParamWD",
        "ScalePerParamScheduler",
        "A scheduler scaled per param group",
    ),
]

_LR_ALIASES = {
    "ChainedLR": ("ChainedScheduler",),
    "CosineAnnealingWarmRestarts": ("CosineAnnealingWarmRestartsLR",),
}


@hookimpl
def register_schedulers() -> list[Registration]:
    records: list[Registration] = []
    for lr_name, wd_name, generic_name, description in _SHAPES:
        records.append(
            Registration(
                lr_name,
                Kind.LR_SCHEDULER,
                f"{_M}.lr_scheduler:{lr_name}",
                aliases=_LR_ALIASES.get(lr_name, ()),
                description=f"{description} (learning rate)",
            )
        )
        records.append(
            Registration(
                wd_name,
                Kind.WD_SCHEDULER,
                f"{_M}.weight_decay_scheduler:{wd_name}",
                description=f"{description} (weight decay)",
            )
        )
        records.append(
            Registration(
                generic_name,
                Kind.SCHEDULER,
                f"{_M}.scheduler:{generic_name}",
                description=f"{description} (any param-group key)",
            )
        )
    return records
