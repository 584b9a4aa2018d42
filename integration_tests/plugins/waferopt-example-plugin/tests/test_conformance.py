"""Run the waferopt conformance kit over this plugin's classes (copy this file)."""

from __future__ import annotations

from waferopt_example_plugin import Adan, RexLR, RexScheduler, RexWD

from waferopt.core.testing import ErrorInput, OptimizerInfo, SchedulerInfo, conformance_tests

REX = {"initial_val": 0.1, "total_iters": 6}
REX_LR = {"initial_learning_rate": 0.1, "total_iters": 6}

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            Adan,
            configs=[
                {"lr": 1e-2},
                {"lr": 1e-2, "weight_decay": 0.1},
                {"lr": 1e-2, "weight_decay": 0.1, "no_prox": True, "betas": (0.9, 0.9, 0.9)},
            ],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"betas": (0.9, 0.9)}, match="betas"),
                ErrorInput({"weight_decay": -1.0}, match="weight_decay"),
            ],
        )
    ],
    schedulers=[
        SchedulerInfo(
            RexLR,
            configs=[REX_LR, {**REX_LR, "end_learning_rate": 1e-3}],
            error_inputs=[ErrorInput({**REX_LR, "total_iters": 0}, match="total_iters")],
        ),
        SchedulerInfo(RexWD, configs=[REX], compile=False),
        SchedulerInfo(
            RexScheduler,
            configs=[{"param_group_key": "momentum", **REX}],
            group_defaults={"momentum": 0.9},
            compile=False,
        ),
    ],
)
