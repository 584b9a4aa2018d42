"""The waferopt conformance kit over Lion and Rprop."""

from __future__ import annotations

from waferopt.core.testing import ErrorInput, OptimizerInfo, conformance_tests
from waferopt.sign import Lion, Rprop

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            Lion,
            configs=[{"lr": 1e-3}, {"lr": 1e-3, "betas": (0.95, 0.98), "weight_decay": 0.1}],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"betas": (1.5, 0.99)}, match="betas|beta"),
                ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
            ],
            compile_configs=(1,),
        ),
        OptimizerInfo(
            Rprop,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "etas": (0.3, 1.5), "step_sizes": (1e-4, 1.0)}],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"etas": (1.5, 1.2)}, match="etas"),
                ErrorInput({"step_sizes": (1.0, 0.1)}, match="step_sizes"),
            ],
        ),
    ]
)
