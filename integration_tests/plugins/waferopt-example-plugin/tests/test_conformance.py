"""Run the waferopt conformance kit over this plugin's classes (copy this file)."""

from __future__ import annotations

from waferopt_example_plugin import Adan, WarmupStableDecayLR

from waferopt.core.testing import ErrorInput, OptimizerInfo, SchedulerInfo, conformance_tests

WSD = {"peak_learning_rate": 0.1, "warmup_steps": 3, "stable_steps": 2, "decay_steps": 4}

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
            WarmupStableDecayLR,
            configs=[WSD, {**WSD, "decay_shape": "cosine", "end_learning_rate": 1e-3}],
            error_inputs=[ErrorInput({**WSD, "decay_shape": "exp"}, match="decay_shape")],
        )
    ],
)
