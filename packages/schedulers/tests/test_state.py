"""state_dict / load_state_dict for every scheduler, nested ones included: a resumed
run gives the values of an uninterrupted one, whatever the load order."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from _sched_helpers import make_optimizer, trace
from _sched_table import SHAPES, build

import waferopt.schedulers as S


def _composites(o):
    return {
        "sequential": lambda: S.SequentialLR(
            o, [S.LinearLR(o, 0.0, 0.1, 10), S.CosineDecayLR(o, 0.1, 0.001, 40)], [10]
        ),
        "nested-sequential": lambda: S.SequentialLR(
            o,
            [
                S.SequentialLR(o, [S.LinearLR(o, 0.0, 0.1, 5), S.ConstantLR(o, 0.1, 5)], [5]),
                S.StepLR(o, 0.1, 7, 0.5),
            ],
            [10],
        ),
        "chained": lambda: S.ChainedLR(
            [S.CosineDecayLR(o, 0.1, 0.0, 50), S.StepLR(o, 1.0, 5, 0.9)]
        ),
        "scale-per-param": lambda: S.ScalePerParamLR(
            o,
            S.SequentialLR(o, [S.LinearLR(o, 0.0, 0.1, 10), S.ExponentialLR(o, 0.1, 3, 0.9)], [10]),
        ),
        "piecewise": lambda: S.PiecewiseConstantLR(o, [0.1, 0.01, 0.001], [7, 19]),
    }


BUILDERS = [("shape", s) for s in sorted(SHAPES)] + [
    ("composite", c) for c in sorted(_composites(None))
]


def _make(kind, name, optimizer):
    if kind == "shape":
        return build("lr", name, optimizer)
    return _composites(optimizer)[name]()


def _groups_lr(o):
    return [float(g["lr"]) for g in o.param_groups]


@pytest.mark.parametrize(("kind", "name"), BUILDERS)
def test_resumed_equals_uninterrupted(kind, name):
    """Save at step 23 (through torch.save), restore into a fresh scheduler, continue."""
    groups = 2
    uninterrupted = _make(kind, name, make_optimizer(groups))
    expected = trace(uninterrupted, 60)

    first = _make(kind, name, make_optimizer(groups))
    for _ in range(23):
        first.step()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=False)

    optimizer = make_optimizer(groups)
    resumed = _make(kind, name, optimizer)
    resumed.load_state_dict(saved)
    assert float(optimizer.param_groups[0]["lr"]) == float(expected[23])
    actual = trace(resumed, 60 - 23)
    assert torch.equal(actual, expected[23:])


@pytest.mark.parametrize(("kind", "name"), BUILDERS)
def test_state_dict_is_a_snapshot(kind, name):
    """Stepping after state_dict() does not change the saved dict (last_epoch is copied)."""
    sched = _make(kind, name, make_optimizer())
    for _ in range(5):
        sched.step()
    state = sched.state_dict()
    snapshot = copy.deepcopy(state)
    for _ in range(5):
        sched.step()
    assert int(state["last_epoch"]) == int(snapshot["last_epoch"]) == 5


def test_nested_state_dict_layout():
    o = make_optimizer()
    seq = _composites(o)["nested-sequential"]()
    state = seq.state_dict()
    assert state["_milestones"] == [10]
    assert isinstance(state["_schedulers"], list)
    assert len(state["_schedulers"]) == 2
    assert state["_schedulers"][0]["_milestones"] == [5]
    assert "optimizer" not in state
    scale = _composites(o)["scale-per-param"]()
    state = scale.state_dict()
    assert isinstance(state["_scheduler"], dict)
    assert "_get_called_within_step" not in state["_scheduler"]


def test_load_order_does_not_matter():
    """Loading the scheduler before the optimizer's own state gives the same group values."""
    o = make_optimizer()
    sched = S.CosineDecayLR(o, 0.1, 0.0, 100)
    for _ in range(30):
        sched.step()
    opt_state, sched_state = copy.deepcopy(o.state_dict()), copy.deepcopy(sched.state_dict())

    o2 = make_optimizer()
    s2 = S.CosineDecayLR(o2, 0.1, 0.0, 100)
    s2.load_state_dict(sched_state)
    o2.load_state_dict(opt_state)
    s2.step()
    sched.step()
    assert float(o2.param_groups[0]["lr"]) == float(o.param_groups[0]["lr"])


def test_load_rejects_wrong_children_count():
    o = make_optimizer()
    seq = _composites(o)["sequential"]()
    state = seq.state_dict()
    state["_schedulers"] = state["_schedulers"][:1]
    with pytest.raises(ValueError, match="_schedulers"):
        _composites(make_optimizer())["sequential"]().load_state_dict(state)


def test_lambda_state_dict_excludes_functions_and_pickles():
    sched = S.LambdaLR(make_optimizer(), 0.1, lambda t: 0.9**t)
    state = sched.state_dict()
    assert not any(callable(v) for v in state.values())
    torch.save(state, io.BytesIO())


def test_state_dict_keys_are_the_spec_example():
    """docs/explanation/semantics.md#semantics-3 lists LinearLR's keys: the arguments and the step machinery, not the
    param-group key (a constructor argument) nor a cache of constant tensors."""
    o = make_optimizer()
    assert set(S.LinearLR(o, 0.1, 0.0, 10).state_dict()) == {
        "initial_learning_rate",
        "end_learning_rate",
        "power",
        "cycle",
        "param_group_tags",
        "_last_value",
        "total_iters",
        "last_epoch",
        "_step_count",
        "_get_called_within_step",
    }
    piecewise = S.PiecewiseConstantScheduler(o, "momentum", [0.9, 0.8], [3])
    piecewise.step()
    state = piecewise.state_dict()
    assert "_param_group_key" not in state
    assert "_tensor_cache" not in state


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"bogus": 1}, "unknown keys"),
        ({"last_epoch": torch.tensor(3.5)}, "integer"),
    ],
)
def test_bad_composite_state_leaves_the_children_untouched(change, match):
    """Every check of the composite's own state runs before any child is loaded."""
    source = _composites(make_optimizer())["sequential"]()
    for _ in range(12):
        source.step()
    state = {**source.state_dict(), **change}
    optimizer = make_optimizer()
    target = _composites(optimizer)["sequential"]()
    steps = [int(child.last_epoch) for child in target._schedulers]
    lr = float(optimizer.param_groups[0]["lr"])
    with pytest.raises(ValueError, match=match):
        target.load_state_dict(state)
    assert [int(child.last_epoch) for child in target._schedulers] == steps
    assert float(optimizer.param_groups[0]["lr"]) == lr
