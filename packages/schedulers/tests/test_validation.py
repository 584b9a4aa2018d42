"""Configurations a schedule cannot honour are rejected when built, and a state dict is
checked completely before anything is set."""

from __future__ import annotations

import copy

import pytest
import torch
from _sched_helpers import PlainSGD, make_optimizer

import waferopt.schedulers as S


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda o: S.CosineAnnealingLR(o, 0.1, 10, eta_min=-0.01), "negative lr"),
        (lambda o: S.LinearWD(o, 0.1, -0.1, 10), "negative weight_decay"),
        (lambda o: S.CyclicLR(o, -0.01, 0.1, 4), "negative lr"),
        (lambda o: S.ExponentialLR(o, 0.1, 1, 1e30), "not finite in float32"),
        (lambda o: S.MultiplicativeWD(o, 0.1, 2.0), "not finite in float32"),
        (lambda o: S.InverseExponentialTimeDecayLR(o, 0.1, 1.0, 10, -0.5), "not finite|negative"),
        (lambda o: S.PolynomialLR(o, 1e38, 1e38, 10, power=1.0), None),
    ],
)
def test_construction_rejects_unusable_schedules(make, match):
    """Values that are negative (for lr / weight_decay) or overflow float32 at some step
    are a ValueError naming the arguments, before the optimizer is touched."""
    o = make_optimizer()
    before = copy.deepcopy([{k: v for k, v in g.items() if k != "params"} for g in o.param_groups])
    if match is None:
        make(o)  # large but finite: accepted
        return
    with pytest.raises(ValueError, match=match):
        make(o)
    assert [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups] == before


def test_negative_values_are_fine_for_other_keys():
    """A generic schedule of another key may go below zero (a momentum offset, a beta)
    where the optimizer declares no bound for it (PlainSGD declares none; a
    DeclaredOptimizer's bounds are checked: core's test_scheduled_bounds)."""
    o = make_optimizer()
    S.LinearScheduler(o, "momentum", 0.5, -0.5, 10)


@pytest.mark.parametrize(
    ("make", "bad_step", "why"),
    [
        (lambda o: S.LambdaLR(o, 0.1, lr_lambda=lambda t: 1.0 - t / 2), 3, "negative"),
        (lambda o: S.LambdaWD(o, 0.1, val_lambda=[lambda t: 1.0, lambda t: 1.0 - t]), 2, "neg"),
        (lambda o: S.LambdaLR(o, 0.1, lr_lambda=lambda t: 1e39 * t), 4, "not finite in float32"),
        (lambda o: S.LambdaLR(o, 0.1, lr_lambda=lambda t: torch.log(2.0 - t)), 2, "not finite"),
    ],
)
def test_a_lambda_value_is_checked_at_the_step_that_makes_it(make, bad_step, why):
    """A user function cannot be decided ahead: the eager step whose value is bad
    raises a ValueError naming the scheduler and the step, and writes nothing."""
    o = make_optimizer()
    scheduler = make(o)
    name = type(scheduler).__name__
    key = scheduler.param_group_key
    for _ in range(bad_step - 1):
        scheduler.step()
    before = o.param_groups[0][key].clone()
    with pytest.raises(ValueError, match=rf"^{name}: at step {bad_step} .*{why}"):
        scheduler.step()
    assert torch.equal(o.param_groups[0][key], before)
    assert int(scheduler.last_epoch) == bad_step - 1


def test_a_lambda_bad_at_step_0_fails_its_constructor():
    o = make_optimizer()
    with pytest.raises(ValueError, match="LambdaLR: at step 0 "):
        S.LambdaLR(o, 0.1, lr_lambda=lambda t: t - 1.0)
    assert o.param_groups[0]["lr"] == 0.1 and "initial_lr" not in o.param_groups[0]


def test_load_state_dict_checks_everything_before_setting_anything():
    """A bad hyperparameter or tags that match no group leave the scheduler as it was
    (the first release set the keys before validating the tags)."""
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(2))], "tags": "a"},
        {"params": [torch.nn.Parameter(torch.zeros(2))]},
    ]
    o = PlainSGD(params)
    sched = S.CosineDecayLR(o, 0.1, 0.0, 20, param_group_tags="a")
    for _ in range(3):
        sched.step()
    good = sched.state_dict()
    snapshot = (sched.initial_learning_rate, sched.total_iters, sched.param_group_tags)
    lr = float(o.param_groups[0]["lr"])
    for bad, match in (
        (
            {**good, "initial_learning_rate": 0.5, "param_group_tags": "missing"},
            "match no param group",
        ),
        ({**good, "initial_learning_rate": 0.5, "total_iters": 0}, "total_iters"),
        ({**good, "initial_learning_rate": float("nan")}, "initial_learning_rate"),
        ({**good, "initial_learning_rate": -1.0}, "negative lr"),
        ({**good, "last_epoch": torch.tensor(2.5)}, "integer"),
    ):
        with pytest.raises(ValueError, match=match):
            sched.load_state_dict(bad)
        assert (sched.initial_learning_rate, sched.total_iters, sched.param_group_tags) == snapshot
        assert int(sched.last_epoch) == 3
        assert float(o.param_groups[0]["lr"]) == lr
    sched.load_state_dict({**good, "initial_learning_rate": 0.2})
    assert sched.initial_learning_rate == 0.2


def test_composite_load_checks_every_child_first():
    """A bad child state leaves the composite and every child untouched."""
    o = make_optimizer()
    seq = S.SequentialLR(o, [S.LinearLR(o, 0.0, 0.1, 10), S.CosineDecayLR(o, 0.1, 0.0, 40)], [10])
    for _ in range(12):
        seq.step()
    state = seq.state_dict()
    state["_schedulers"][1] = {**state["_schedulers"][1], "total_iters": -3}
    state["_schedulers"][0] = {**state["_schedulers"][0], "initial_learning_rate": 0.05}
    lr = float(o.param_groups[0]["lr"])
    with pytest.raises(ValueError, match="total_iters"):
        seq.load_state_dict(state)
    assert seq._schedulers[0].initial_learning_rate == 0.0
    assert int(seq.last_epoch) == 12 and float(o.param_groups[0]["lr"]) == lr


def test_composites_do_not_write_into_their_children():
    """Evaluating a SequentialLR, eager or traced, leaves its children's step counters as
    they were (the first release overwrote them)."""
    o = make_optimizer()
    a, b = S.LinearLR(o, 0.0, 0.1, 10), S.CosineDecayLR(o, 0.1, 0.0, 40)
    seq = S.SequentialLR(o, [a, b], [10])
    for _ in range(25):
        seq.step()
    seq._value_tensor(torch.tensor(30))
    assert int(a.last_epoch) == 0 and int(b.last_epoch) == 0


def test_a_composite_checks_what_its_children_make_together():
    """Each child is checked alone; a product of children that overflows float32 (a
    ChainedLR) is caught by the composite before it writes anything."""
    o = make_optimizer()
    first = S.ConstantLR(o, 1e30)
    factor = S.LinearLR(o, 1.0, 1e10, 10)
    before = o.param_groups[0]["lr"].clone()
    with pytest.raises(
        ValueError, match=r"^ChainedLR: the schedule gives lr .* at step 1 .*float32"
    ):
        S.ChainedLR([first, factor])
    assert torch.equal(o.param_groups[0]["lr"], before)
