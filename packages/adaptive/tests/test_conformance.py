"""The waferopt conformance kit over Adadelta, Adagrad, Adafactor and RMSprop (static step,
resume, tensor hyperparameters, global step, param groups, argument errors, bad state
dicts, no host sync, sparse gradients, empty params, one compile), then what the kit does
not check: signatures and defaults, state that group edits ask for, the plugin."""

from __future__ import annotations

import pytest
import torch

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
                ErrorInput({"rho": -0.1}, match="rho"),
                ErrorInput({"eps": -1e-06}, match="eps"),
                ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
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
                ErrorInput({"lr": torch.tensor(-1.0)}, match="lr"),
                ErrorInput({"lr_decay": -0.1}, match="lr_decay"),
                ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
                ErrorInput({"initial_accumulator_value": -0.1}, match="initial_accumulator_value"),
                ErrorInput({"eps": -1e-06}, match="eps"),
            ],
            compile_configs=(1,),
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
                ErrorInput({"lr": None, "relative_step": True}, match="relative_step"),
                ErrorInput({"lr": 0.01, "warmup_init": True}, match="warmup_init"),
                ErrorInput({"lr": 0.01, "clip_threshold": 0.5}, match="clip_threshold"),
                ErrorInput({"lr": 0.01, "eps": ("1e-30", 0.001)}, match="eps"),
                ErrorInput({"lr": 0.01, "eps": 1e-30}, match="eps"),
                ErrorInput({"lr": 0.01, "eps": (-1.0, 0.001)}, match="eps"),
                ErrorInput({"lr": -0.1}, match="lr"),
                ErrorInput({"lr": 0.01, "weight_decay": -1.0}, match="weight_decay"),
                ErrorInput({"lr": 0.01, "enable_global_step": False}, match="enable_global_step"),
            ],
            compile_configs=(0, 1),  # with and without the parameter-scale norm
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
                ErrorInput({"alpha": 1.5}, match="alpha"),
                ErrorInput({"eps": -1e-08}, match="eps"),
                ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
                ErrorInput({"momentum": -0.9}, match="momentum"),
                ErrorInput({"lr": "1e-3"}, match="lr"),
            ],
            compile_configs=(2,),
        ),
    ]
)


# ---------------------------------------------------------------- the family's own contract


def make_params():
    torch.manual_seed(0)
    return [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(3))]


def set_grads(params, seed):
    gen = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)


def test_signatures_and_defaults_are_cerebras():
    import inspect

    def sig(cls):
        return {
            k: (v.default, v.kind.name)
            for k, v in inspect.signature(cls).parameters.items()
            if k != "params"
        }

    kw = "KEYWORD_ONLY"
    pk = "POSITIONAL_OR_KEYWORD"
    assert sig(Adadelta) == {
        "lr": (1.0, pk),
        "rho": (0.9, pk),
        "eps": (1e-6, pk),
        "weight_decay": (0, pk),
        "maximize": (False, pk),
        "enable_global_step": (False, kw),
    }
    assert sig(Adagrad) == {
        "lr": (1e-2, pk),
        "lr_decay": (0, pk),
        "weight_decay": (0, pk),
        "initial_accumulator_value": (0, pk),
        "eps": (1e-6, pk),
        "maximize": (False, pk),
        "enable_global_step": (True, kw),
    }
    assert sig(RMSprop) == {
        "lr": (1e-2, pk),
        "alpha": (0.99, pk),
        "eps": (1e-8, pk),
        "weight_decay": (0, pk),
        "momentum": (0, pk),
        "centered": (False, pk),
        "enable_global_step": (False, kw),
    }
    empty = inspect.Parameter.empty
    assert sig(Adafactor) == {
        "lr": (empty, pk),
        "eps": ((1e-30, 1e-3), pk),
        "clip_threshold": (1.0, pk),
        "decay_rate": (-0.8, pk),
        "beta1": (None, pk),
        "weight_decay": (0.0, pk),
        "scale_parameter": (True, pk),
        "relative_step": (False, pk),
        "warmup_init": (False, pk),
        "enable_global_step": (True, kw),
    }


def test_rmsprop_refuses_momentum_switched_on_after_construction():
    params = make_params()
    opt = RMSprop(params)
    opt.param_groups[0]["momentum"] = 0.9
    set_grads(params, 0)
    with pytest.raises(RuntimeError, match="momentum"):
        opt.step()


def test_adafactor_refuses_beta1_set_after_construction():
    params = make_params()
    opt = Adafactor(params, lr=0.01)
    opt.param_groups[0]["beta1"] = 0.9
    set_grads(params, 0)
    before = [p.detach().clone() for p in params]
    with pytest.raises(RuntimeError, match=r"beta1 \(param group 0\)"):
        opt.step()
    assert all(torch.equal(p.detach(), b) for p, b in zip(params, before))


def test_plugin_registers_the_four_optimizers():
    from importlib.metadata import entry_points

    from waferopt.adaptive import _plugin

    (ep,) = [e for e in entry_points(group="waferopt") if e.name == "adaptive"]
    assert ep.load() is _plugin
    records = _plugin.register_optimizers()
    assert {r.name: r.load() for r in records} == {
        "Adadelta": Adadelta,
        "Adagrad": Adagrad,
        "Adafactor": Adafactor,
        "RMSprop": RMSprop,
    }
    assert all(r.kind.value == "optimizer" and r.description for r in records)
