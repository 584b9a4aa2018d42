"""One shape, three bindings: every WD twin and every generic class equals its LR twin;
the generic classes drive any param-group key; names and properties of the spec."""

from __future__ import annotations

import inspect

import pytest
import torch
from _sched_helpers import make_optimizer, trace
from _sched_table import GENERIC_NAMES, LR_NAMES, SHAPES, WD_NAMES, build

import waferopt.schedulers as S
from waferopt.core import LRScheduler, WeightDecayScheduler

STEPS = 120


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_wd_twin_equals_lr(shape):
    lr = trace(build("lr", shape, make_optimizer()), STEPS, key="lr")
    wd = trace(build("wd", shape, make_optimizer()), STEPS, key="weight_decay")
    assert torch.equal(lr, wd)
    assert len(set(lr.tolist())) > 1 or shape == "Constant"  # the schedule moves


@pytest.mark.parametrize("key", ["momentum", "betas[0]", "weight_decay", "lr"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_generic_drives_any_key(shape, key):
    expected = trace(build("lr", shape, make_optimizer()), STEPS, key="lr")
    optimizer = make_optimizer()
    before = {k: optimizer.param_groups[0][k] for k in ("lr", "momentum", "betas", "weight_decay")}
    actual = trace(build("generic", shape, optimizer, key=key), STEPS, key=key)
    assert torch.equal(actual, expected)
    group = optimizer.param_groups[0]
    for k, v in before.items():  # every other key is untouched
        if k != key.split("[")[0]:
            assert group[k] == v
    if key == "betas[0]":
        assert isinstance(group["betas"], tuple)
        assert group["betas"][1] == 0.999


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_classes_and_signatures(shape):
    lr_cls, wd_cls, generic_cls = (
        getattr(S, n[shape]) for n in (LR_NAMES, WD_NAMES, GENERIC_NAMES)
    )
    assert issubclass(lr_cls, LRScheduler)
    assert issubclass(wd_cls, WeightDecayScheduler)
    assert issubclass(lr_cls, generic_cls) or shape == "Linear"
    assert issubclass(wd_cls, generic_cls) or shape == "Linear"
    lr_params = list(inspect.signature(lr_cls).parameters)
    wd_params = list(inspect.signature(wd_cls).parameters)
    assert lr_params[0] == wd_params[0] == "optimizer"
    assert lr_params[-1] == wd_params[-1] == "param_group_tags"
    assert list(inspect.signature(generic_cls).parameters)[:2] == ["optimizer", "param_group_key"]


SPEC_SIGNATURES = {
    "ConstantWD": "(optimizer, val, total_iters=None, param_group_tags=None)",
    "PolynomialWD": "(optimizer, initial_val, end_val, total_iters, power=1.0, cycle=False, param_group_tags=None)",
    "LinearWD": "(optimizer, initial_val, end_val, total_iters, cycle=False, param_group_tags=None)",
    "ExponentialWD": "(optimizer, initial_val, total_iters, decay_rate, staircase=False, param_group_tags=None)",
    "InverseExponentialTimeDecayWD": "(optimizer, initial_val, step_exponent, total_iters, decay_rate, staircase=False, param_group_tags=None)",
    "CosineDecayWD": "(optimizer, initial_val, end_val, total_iters, param_group_tags=None)",
    "SequentialWD": "(optimizer, schedulers, milestones, last_epoch=-1, param_group_tags=None)",
    "PiecewiseConstantWD": "(optimizer, vals, milestones, param_group_tags=None)",
    "MultiStepWD": "(optimizer, initial_val, gamma, milestones, param_group_tags=None)",
    "StepWD": "(optimizer, initial_val, step_size, gamma, param_group_tags=None)",
    "CosineAnnealingWD": "(optimizer, initial_val, T_max, eta_min=0.0, param_group_tags=None)",
    "CosineAnnealingWarmRestartsWD": "(optimizer, initial_val, T_0, T_mult=1, eta_min=0.0, param_group_tags=None)",
    "MultiplicativeWD": "(optimizer, initial_val, coefficient, param_group_tags=None)",
    "ChainedWD": "(schedulers, param_group_tags=None)",
    "OneCycleWD": "(optimizer, initial_val, max_val, total_steps=1000, pct_start=0.3, final_div_factor=10000.0, three_phase=False, anneal_strategy='cos', param_group_tags=None)",
    "ConstantLR": "(optimizer, learning_rate, total_iters=None, param_group_tags=None)",
    "PolynomialLR": "(optimizer, initial_learning_rate, end_learning_rate, total_iters, power=1.0, cycle=False, param_group_tags=None)",
    "PiecewiseConstantLR": "(optimizer, learning_rates, milestones, param_group_tags=None)",
    "CyclicLR": "(optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode='triangular', gamma=1.0, scale_mode=None, param_group_tags=None)",
    "OneCycleLR": "(optimizer, initial_learning_rate, max_lr, total_steps=1000, pct_start=0.3, final_div_factor=10000.0, three_phase=False, anneal_strategy='cos', param_group_tags=None)",
    "ChainedLR": "(schedulers, param_group_tags=None)",
    "SequentialLR": "(optimizer, schedulers, milestones, last_epoch=-1, param_group_tags=None)",
    "ScalePerParamLR": "(optimizer, scheduler, param_group_tags=None)",
}


def _plain(sig: inspect.Signature) -> str:
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("name", sorted(SPEC_SIGNATURES))
def test_spec_signatures(name):
    """Argument names, order and defaults of the spec (CyclicLR's scale_mode default: see README)."""
    assert _plain(inspect.signature(getattr(S, name))) == SPEC_SIGNATURES[name]


def test_lr_properties_alias_lr_names():
    o = make_optimizer()
    cyclic = S.CyclicLR(o, 0.01, 0.1)
    assert (cyclic.base_val, cyclic.max_val) == (0.01, 0.1)
    one = S.OneCycleLR(o, 0.001, 0.3)
    assert (one.initial_val, one.max_val) == (0.001, 0.3)
    const = S.ConstantLR(o, 0.5)
    assert const.val == 0.5
    poly = S.PolynomialLR(o, 0.1, 0.01, 10)
    assert (poly.initial_val, poly.end_val) == (0.1, 0.01)
    state = poly.state_dict()
    assert "initial_learning_rate" in state
    assert "initial_val" not in state
    assert "initial_val" in S.PolynomialWD(o, 0.1, 0.01, 10).state_dict()


def test_chained_scheduler_is_chained_lr():
    assert S.ChainedScheduler is S.ChainedLR


def test_values_are_float32_tensors_written_in_place():
    o = make_optimizer()
    sched = S.CosineDecayLR(o, 0.1, 0.0, 10)
    lr = o.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor)
    assert lr.dtype == torch.float32
    assert lr.dim() == 0
    sched.step()
    assert o.param_groups[0]["lr"] is lr
    assert sched.get_last_lr()[0] is lr
    assert float(lr) == pytest.approx(
        0.1 * 0.5 * (1 + torch.cos(torch.tensor(torch.pi / 10)).item())
    )
