"""The waferopt conformance kit over the Adam family (waferopt.core.testing): among its
checks, bitwise resume of our own state dicts (float32 and float64, mixed step counts,
numbers and tensor hyperparameters) and state dicts that do not fit."""

from __future__ import annotations

import torch

from waferopt.adam import Adam, Adamax, AdamBase, AdamW, Lamb, NAdam, RAdam
from waferopt.core.testing import ErrorInput, OptimizerInfo, conformance_tests

COMMON_ERRORS = [
    ErrorInput({"lr": -1.0}, match="lr"),
    ErrorInput({"betas": (1.0, 0.999)}, match="betas"),
    ErrorInput({"betas": (0.9, 1.5)}, match="index 1"),
    ErrorInput({"eps": -1e-8}, match="eps"),
    ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
]

# A scheduler may drive β1 (param_group_key="betas[0]"): the kit checks it as a 0-d tensor too.
TENSORS = ("lr", "weight_decay", "betas[0]")

# The bitwise resume runs in float32 and float64 (the host-step mirror reads the step
# back from float32 beta powers whatever the params' dtype).
DTYPES = (torch.float32, torch.float64)

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            AdamW,
            configs=[
                {"lr": 1e-2},
                {"lr": 1e-2, "weight_decay": 0.1},
                {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True},
                {"lr": 1e-2, "weight_decay": 0.1, "correct_bias": False},
                {"lr": 1e-2, "weight_decay": 0.1, "fused": True},
                {"lr": 1e-2, "weight_decay": 0.1, "fused": False},
            ],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
            compile_configs=(1, 2),
        ),
        OptimizerInfo(
            Adam,
            configs=[
                {"lr": 1e-2},
                {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True},
                {"lr": 1e-2, "weight_decay": 0.1, "enable_global_step": True},
            ],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
            compile_configs=(1,),
        ),
        OptimizerInfo(
            AdamBase,
            configs=[
                {"lr": 1e-2, "weight_decay": 0.1, "l2_regularization_rate": 0.01},
                {"lr": 1e-2, "weight_decay": 0.1, "l2_regularization_rate": 0.01, "amsgrad": True},
            ],
            dtypes=DTYPES,
            error_inputs=[
                *COMMON_ERRORS,
                ErrorInput({"l2_regularization_rate": -1.0}, match="l2_regularization_rate"),
            ],
            compile=False,
        ),
        OptimizerInfo(
            Adamax,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1, "maximize": True}],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
        ),
        OptimizerInfo(
            NAdam,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1, "momentum_decay": 1e-2}],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
        ),
        OptimizerInfo(
            RAdam,
            # 8 steps: the rectification switches on once rho_t > 5 (t >= 6 with beta2=0.999).
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1}],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
            steps=8,
        ),
        OptimizerInfo(
            Lamb,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1}, {"lr": 1e-2, "adam": True}],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
        ),
    ]
)
