"""The waferopt conformance kit over every scheduler class of this package.

One configuration per class (a second where an option changes the code path);
the compiled check runs on a few representative shapes only, to keep it fast.
"""

from __future__ import annotations

from typing import Any

import torch

from waferopt.core.testing import ErrorInput, SchedulerInfo, conformance_tests
from waferopt.schedulers import lr_scheduler as lr
from waferopt.schedulers import scheduler as generic
from waferopt.schedulers import weight_decay_scheduler as wd


def halve_every_three(step: torch.Tensor) -> torch.Tensor:
    """A LambdaLR factor in tensor ops (module level, so it pickles)."""
    return 0.5 ** torch.div(step, 3, rounding_mode="floor")


def info(cls: type, *configs: Any, compile: bool = False, **kw: Any) -> SchedulerInfo:
    return SchedulerInfo(cls, configs=list(configs), compile=compile, **kw)


def chained(cls: type, opt: Any, kwargs: dict[str, Any]) -> Any:
    """ChainedLR takes schedulers, not an optimizer."""
    return cls(**kwargs)


LR = [
    info(lr.ConstantLR, {"learning_rate": 0.1}, {"learning_rate": 0.1, "total_iters": 4}),
    info(
        lr.PolynomialLR,
        {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": 6, "power": 2.0},
        {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": 4, "cycle": True},
        compile=True,
        compile_configs=(1,),
    ),
    info(
        lr.LinearLR,
        {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": 6},
        compile=True,
        error_inputs=[
            ErrorInput(
                {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": -1},
                match="total_iters",
            )
        ],
    ),
    info(
        lr.ExponentialLR,
        {"initial_learning_rate": 0.1, "total_iters": 3, "decay_rate": 0.5},
        {"initial_learning_rate": 0.1, "total_iters": 3, "decay_rate": 0.5, "staircase": True},
    ),
    info(
        lr.InverseExponentialTimeDecayLR,
        {"initial_learning_rate": 0.1, "step_exponent": 1.0, "total_iters": 3, "decay_rate": 0.5},
    ),
    info(
        lr.InverseSquareRootDecayLR, {"initial_learning_rate": 0.1, "scale": 1.0, "warmup_steps": 3}
    ),
    info(
        lr.CosineDecayLR,
        {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": 6},
        compile=True,
    ),
    info(lr.MultiStepLR, {"initial_learning_rate": 0.1, "gamma": 0.5, "milestones": [2, 5]}),
    info(lr.StepLR, {"initial_learning_rate": 0.1, "step_size": 3, "gamma": 0.5}),
    info(lr.CosineAnnealingLR, {"initial_learning_rate": 0.1, "T_max": 5, "eta_min": 0.01}),
    info(
        lr.CosineAnnealingWarmRestarts,
        {"initial_learning_rate": 0.1, "T_0": 3, "T_mult": 2, "eta_min": 0.01},
        compile=True,
    ),
    info(
        lr.LambdaLR,
        {"initial_learning_rate": 0.1, "lr_lambda": halve_every_three},
        torch_load_weights_only=False,  # the state dict holds the user's function
    ),
    info(lr.MultiplicativeLR, {"initial_learning_rate": 0.1, "coefficient": 0.9}),
    info(
        lr.CyclicLR,
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3},
        {
            "base_lr": 0.01,
            "max_lr": 0.1,
            "step_size_up": 2,
            "step_size_down": 3,
            "mode": "triangular2",
        },
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "mode": "exp_range", "gamma": 0.9},
        compile=True,
    ),
    info(
        lr.OneCycleLR,
        {"initial_learning_rate": 0.01, "max_lr": 0.1, "total_steps": 10},
        {
            "initial_learning_rate": 0.01,
            "max_lr": 0.1,
            "total_steps": 10,
            "three_phase": True,
            "anneal_strategy": "linear",
        },
        compile=True,
    ),
    info(lr.PiecewiseConstantLR, {"learning_rates": [0.1, 0.05, 0.01], "milestones": [3, 6]}),
    info(
        lr.SequentialLR,
        lambda opt: {
            "schedulers": [
                lr.LinearLR(opt, initial_learning_rate=0.0, end_learning_rate=0.1, total_iters=3),
                lr.CosineDecayLR(
                    opt, initial_learning_rate=0.1, end_learning_rate=0.01, total_iters=6
                ),
            ],
            "milestones": [3],
        },
        compile=True,
    ),
    info(
        lr.ChainedLR,
        lambda opt: {
            "schedulers": [
                lr.LinearLR(opt, initial_learning_rate=0.1, end_learning_rate=0.01, total_iters=6),
                lr.StepLR(opt, initial_learning_rate=1.0, step_size=2, gamma=0.5),
            ]
        },
        factory=chained,
        compile=True,
    ),
    info(
        lr.ScalePerParamLR,
        lambda opt: {
            "scheduler": lr.CosineDecayLR(
                opt, initial_learning_rate=0.1, end_learning_rate=0.01, total_iters=6
            )
        },
        group_defaults={"adjust_learning_rate": 0.5},
    ),
]

WD = [
    info(wd.ConstantWD, {"val": 0.1}),
    info(wd.LinearWD, {"initial_val": 0.1, "end_val": 0.0, "total_iters": 6}, compile=True),
    info(wd.CosineDecayWD, {"initial_val": 0.1, "end_val": 0.01, "total_iters": 6}),
    info(wd.ExponentialWD, {"initial_val": 0.1, "total_iters": 3, "decay_rate": 0.5}),
    info(wd.PolynomialWD, {"initial_val": 0.1, "end_val": 0.0, "total_iters": 4, "power": 2.0}),
    info(wd.StepWD, {"initial_val": 0.1, "step_size": 3, "gamma": 0.5}),
    info(wd.MultiStepWD, {"initial_val": 0.1, "gamma": 0.5, "milestones": [2, 5]}),
    info(wd.CosineAnnealingWD, {"initial_val": 0.1, "T_max": 5}),
    info(wd.CosineAnnealingWarmRestartsWD, {"initial_val": 0.1, "T_0": 3}),
    info(wd.MultiplicativeWD, {"initial_val": 0.1, "coefficient": 0.9}),
    info(wd.CyclicWD, {"base_val": 0.01, "max_val": 0.1, "step_size_up": 3}),
    info(wd.OneCycleWD, {"initial_val": 0.01, "max_val": 0.1, "total_steps": 10}),
    info(wd.PiecewiseConstantWD, {"vals": [0.1, 0.01], "milestones": [4]}),
    info(wd.InverseSquareRootDecayWD, {"initial_val": 0.1, "scale": 1.0, "warmup_steps": 2}),
    info(
        wd.InverseExponentialTimeDecayWD,
        {"initial_val": 0.1, "step_exponent": 1.0, "total_iters": 3, "decay_rate": 0.5},
    ),
    info(
        wd.SequentialWD,
        lambda opt: {
            "schedulers": [
                wd.ConstantWD(opt, val=0.0, total_iters=2),
                wd.LinearWD(opt, initial_val=0.0, end_val=0.1, total_iters=5),
            ],
            "milestones": [2],
        },
    ),
    info(
        wd.ChainedWD,
        lambda opt: {
            "schedulers": [
                wd.ConstantWD(opt, val=0.1),
                wd.StepWD(opt, initial_val=1.0, step_size=2, gamma=0.5),
            ]
        },
        factory=chained,
    ),
]

GENERIC = [
    info(
        generic.LinearScheduler,
        {"param_group_key": "momentum", "initial_val": 0.9, "end_val": 0.5, "total_iters": 5},
        compile=True,
        name="LinearScheduler[momentum]",
        error_inputs=[
            ErrorInput(
                {
                    "param_group_key": "no such key",
                    "initial_val": 0.9,
                    "end_val": 0.5,
                    "total_iters": 5,
                },
                match="param_group_key",
            )
        ],
    ),
    info(
        generic.CosineDecayScheduler,
        {"param_group_key": "betas[0]", "initial_val": 0.9, "end_val": 0.5, "total_iters": 5},
        group_defaults={"betas": (0.9, 0.999)},
        compile=True,
        name="CosineDecayScheduler[betas0]",
    ),
]

_WSD = {"warmup_steps": 2, "stable_steps": 2, "decay_steps": 3}
WSD = [
    info(
        lr.WarmupStableDecayLR,
        {"max_lr": 0.1, **_WSD},
        {"max_lr": 0.1, **_WSD, "initial_learning_rate": 0.01, "decay_shape": "cosine"},
        compile=True,
        error_inputs=[
            ErrorInput({"max_lr": 0.1, **_WSD, "decay_shape": "exp"}, match="decay_shape")
        ],
    ),
    info(wd.WarmupStableDecayWD, {"max_val": 0.1, **_WSD, "decay_shape": "linear"}),
    info(
        generic.WarmupStableDecayScheduler,
        {"param_group_key": "momentum", "max_val": 0.95, **_WSD, "end_val": 0.85},
        group_defaults={"momentum": 0.9},
        name="WarmupStableDecayScheduler[momentum]",
    ),
]

TestConformance = conformance_tests(schedulers=LR + WD + GENERIC + WSD)
