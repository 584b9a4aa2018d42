"""The waferopt conformance kit over Adadelta, Adagrad, Adafactor and RMSprop."""

from __future__ import annotations

from waferopt.adaptive import Adadelta, Adafactor, Adagrad, RMSprop
from waferopt.core.testing import ErrorInput, OptimizerInfo, conformance_tests

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            Adadelta,
            configs=[{}, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "maximize": True}],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"rho": 1.5}, match="rho"),
                ErrorInput({"eps": -1.0}, match="eps"),
                ErrorInput({"weight_decay": -1.0}, match="weight_decay"),
            ],
        ),
        OptimizerInfo(
            Adagrad,
            configs=[
                {},
                {
                    "lr": 0.05,
                    "lr_decay": 0.01,
                    "weight_decay": 0.1,
                    "initial_accumulator_value": 0.1,
                },
                {"lr": 0.05, "maximize": True},
            ],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"lr_decay": -1.0}, match="lr_decay"),
                ErrorInput({"initial_accumulator_value": -1.0}, match="initial_accumulator_value"),
                ErrorInput({"enable_global_step": False}, match="enable_global_step"),
            ],
        ),
        OptimizerInfo(
            Adafactor,
            configs=[
                {"lr": 1e-2},
                {"lr": 1e-2, "weight_decay": 0.1, "scale_parameter": False},
                {"lr": 1e-2, "decay_rate": -0.5, "eps": (1e-30, 1e-2)},
            ],
            error_inputs=[
                ErrorInput({"lr": None}, match="lr"),
                ErrorInput({"lr": 1e-2, "relative_step": True}, match="relative_step"),
                ErrorInput({"lr": 1e-2, "beta1": 0.9}, match="beta1"),
                ErrorInput({"lr": 1e-2, "clip_threshold": 2.0}, match="clip_threshold"),
                ErrorInput({"lr": 1e-2, "eps": (1e-30,)}, match="eps"),
            ],
        ),
        OptimizerInfo(
            RMSprop,
            configs=[
                {},
                {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
                {"lr": 0.01, "momentum": 0.5, "centered": True, "alpha": 0.9},
            ],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"alpha": 2.0}, match="alpha"),
                ErrorInput({"eps": -1.0}, match="eps"),
            ],
            compile_configs=(2,),
        ),
    ]
)
