"""The waferopt conformance kit over Lion and Rprop (static step, resume, tensor
hyperparameters, global step, param groups, argument errors, bad state dicts, sparse
gradients, empty params, no host sync, one compile), then what the kit does not check:
signatures and defaults, the plugin."""

from __future__ import annotations

import inspect

from waferopt.core.testing import ErrorInput, OptimizerInfo, conformance_tests
from waferopt.sign import Lion, Rprop

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            Lion,
            configs=[{"lr": 1e-3}, {"lr": 1e-3, "betas": (0.95, 0.98), "weight_decay": 0.1}],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"lr": -1e-4}, match="lr"),
                ErrorInput({"betas": (1.5, 0.99)}, match="betas|beta"),
                ErrorInput({"betas": (1.0, 0.99)}, match="betas"),
                ErrorInput({"betas": (0.9, -0.1)}, match="betas"),
                ErrorInput({"betas": (0.9,)}, match="betas"),
                ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
            ],
            compile_configs=(1,),
            tensor_hyperparams=("lr", "weight_decay", "betas[0]"),
        ),
        OptimizerInfo(
            Rprop,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "etas": (0.3, 1.5), "step_sizes": (1e-4, 1.0)}],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"etas": (1.5, 1.2)}, match="etas"),
                ErrorInput({"etas": (0.5, 0.9)}, match="etas"),
                ErrorInput({"etas": (0.0, 1.2)}, match="etas"),
                ErrorInput({"etas": 0.5}, match="etas"),
                ErrorInput({"etas": ("0.5", 1.2)}, match="etas"),
                ErrorInput({"step_sizes": (1.0, 0.1)}, match="step_sizes"),
                ErrorInput({"step_sizes": (-1.0, 50.0)}, match="step_sizes"),
                ErrorInput({"step_sizes": (1.0, 0.5)}, match="step_sizes"),
                ErrorInput({"step_sizes": (1e-6,)}, match="step_sizes"),
            ],
        ),
    ]
)


# ---------------------------------------------------------------- the family's own contract


def test_signatures_and_defaults_are_cerebras():
    def sig(cls):
        return {
            k: (v.default, v.kind.name)
            for k, v in inspect.signature(cls).parameters.items()
            if k != "params"
        }

    pk, kw = "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"
    assert sig(Lion) == {
        "lr": (1e-4, pk),
        "betas": ((0.9, 0.99), pk),
        "weight_decay": (0.0, pk),
        "enable_global_step": (False, kw),
    }
    assert sig(Rprop) == {
        "lr": (1e-3, pk),
        "etas": ((0.5, 1.2), pk),
        "step_sizes": ((1e-6, 50.0), pk),
        "enable_global_step": (False, kw),
    }


def test_plugin_registers_both_optimizers():
    from importlib.metadata import entry_points

    from waferopt.sign import _plugin

    (ep,) = [e for e in entry_points(group="waferopt") if e.name == "sign"]
    assert ep.load() is _plugin
    records = _plugin.register_optimizers()
    assert {r.name: r.load() for r in records} == {"Lion": Lion, "Rprop": Rprop}
    assert all(r.kind.value == "optimizer" and r.description for r in records)
