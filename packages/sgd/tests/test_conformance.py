"""The waferopt conformance kit over SGD and ASGD (waferopt.core.testing): static step,
bitwise resume (one and two groups, numbers and tensor hyperparameters), tensor lr and
weight decay, one compile as a tensor lr moves, and the rest of the kit."""

from __future__ import annotations

import pytest
import torch

from waferopt.core.testing import ErrorInput, OptimizerInfo, conformance_tests
from waferopt.sgd import ASGD, SGD

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            SGD,
            configs=[
                {"lr": 0.1},
                {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1},
                {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1},
                {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True},
                {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "fused": True},
                {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "fused": False},
                {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "enable_global_step": True},
            ],
            error_inputs=[
                ErrorInput({"lr": -0.1}, match=r"learning rate \(lr\)"),
                ErrorInput({"lr": 0.1, "momentum": -0.5}, match="momentum"),
                ErrorInput({"lr": 0.1, "weight_decay": -1e-4}, match="weight_decay"),
                ErrorInput({"lr": 0.1, "weight_decay": -1}, match="weight_decay"),
                ErrorInput({"lr": 0.1, "nesterov": True}, match="[Nn]esterov"),
                ErrorInput(
                    {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "nesterov": True},
                    match="[Nn]esterov",
                ),
                ErrorInput(
                    {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
                    match="nesterov",
                ),
            ],
            compile_configs=(1,),
        ),
        OptimizerInfo(
            ASGD,
            configs=[
                {"lr": 0.05},
                {"lr": 0.05, "weight_decay": 0.1, "t0": 2.0, "maximize": True},
            ],
            error_inputs=[
                ErrorInput({"lr": -0.1}, match=r"learning rate \(lr\)"),
                ErrorInput({"lr": -1}, match="lr"),
                ErrorInput({"weight_decay": -1.0}, match="weight_decay"),
                ErrorInput({"lambd": -1.0}, match="lambd"),
            ],
            compile_configs=(1,),
        ),
    ]
)


# ---------------------------------------------------------------- the family's own contract


def test_spec_defaults():
    """Signatures and defaults as the spec gives them."""
    p = [torch.nn.Parameter(torch.zeros(1))]
    sgd = SGD(p, lr=0.1).defaults
    assert (
        sgd["momentum"],
        sgd["dampening"],
        sgd["weight_decay"],
        sgd["nesterov"],
        sgd["maximize"],
    ) == (0, 0, 0, False, False)
    asgd = ASGD(p).defaults
    assert (
        asgd["lr"],
        asgd["lambd"],
        asgd["alpha"],
        asgd["t0"],
        asgd["weight_decay"],
        asgd["maximize"],
    ) == (1e-2, 1e-4, 0.75, 1e6, 0, False)
    with pytest.raises(TypeError):
        SGD(p)  # lr is required
