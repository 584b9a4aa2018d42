"""The schedule authoring API (waferopt.core.schedule): a shape written once gives its
LR, WD and any-key classes, with real signatures, validation, tags and state."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from waferopt.core import LRScheduler, Optimizer, WeightDecayScheduler, normalize_tags
from waferopt.core.schedule import Arg, Schedule, ScheduleScheduler, checks, evaluate, ops


class Plain(Optimizer):
    def __init__(self, params, lr=1.0, weight_decay=0.0, momentum=0.9):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum))

    def preinitialize(self):
        pass

    def step(self, closure=None):
        pass


def opt(groups=1, tags=None):
    return Plain(
        [
            {"params": [torch.nn.Parameter(torch.zeros(2))], **({"tags": tags[i]} if tags else {})}
            for i in range(groups)
        ]
    )


def half_cosine(step, initial, total_iters, floor=0.0):
    """Half a cosine from ``initial`` down to ``floor``: ``v(t) = floor + (initial - floor)
    cos(pi/2 min(t, T) / T)``."""
    m = ops(step)
    return floor + (initial - floor) * m.cos(
        0.5 * m.pi * m.minimum(step, total_iters) / total_iters
    )


HALF_COSINE = Schedule(
    "HalfCosine",
    half_cosine,
    summary="Half a cosine down to a floor.",
    args=[
        Arg(
            "initial_val",
            checks.number(non_negative=True),
            param="initial",
            lr_name="initial_learning_rate",
            doc="the value at step 0.",
            annotation="float",
        ),
        Arg("total_iters", checks.integer(minimum=1), doc="the length.", annotation="int"),
        Arg("floor", checks.number(), default=0.0, doc="the end value.", annotation="float"),
    ],
    total_iters="total_iters",
)
HalfCosineLR, HalfCosineWD, HalfCosineScheduler = HALF_COSINE.classes(__name__)


def reference(t, initial, total, floor=0.0):
    return floor + (initial - floor) * math.cos(0.5 * math.pi * min(t, total) / total)


def test_three_classes_with_real_signatures():
    assert issubclass(HalfCosineLR, LRScheduler) and issubclass(HalfCosineLR, HalfCosineScheduler)
    assert issubclass(HalfCosineWD, WeightDecayScheduler)
    assert issubclass(HalfCosineScheduler, ScheduleScheduler)
    assert list(inspect.signature(HalfCosineLR).parameters) == [
        "optimizer",
        "initial_learning_rate",
        "total_iters",
        "floor",
        "param_group_tags",
    ]
    assert list(inspect.signature(HalfCosineWD).parameters)[1] == "initial_val"
    assert list(inspect.signature(HalfCosineScheduler).parameters)[:2] == [
        "optimizer",
        "param_group_key",
    ]
    assert inspect.signature(HalfCosineLR).parameters["floor"].default == 0.0
    doc = inspect.getdoc(HalfCosineLR)
    assert doc.startswith("Half a cosine down to a floor (the learning rate).")
    assert "initial_learning_rate: the value at step 0." in doc
    assert HalfCosineLR.__module__ == __name__ and HalfCosineLR.__init__.__module__ == __name__
    with pytest.raises(TypeError, match="total_iters"):
        HalfCosineLR(opt(), 0.1)  # a missing argument: Python's own message


@pytest.mark.parametrize("cls", ["lr", "wd", "generic"])
def test_values_follow_the_formula(cls):
    o = opt()
    key = {"lr": "lr", "wd": "weight_decay", "generic": "momentum"}[cls]
    if cls == "lr":
        s = HalfCosineLR(o, 0.4, 10, floor=0.1)
    elif cls == "wd":
        s = HalfCosineWD(o, 0.4, 10, floor=0.1)
    else:
        s = HalfCosineScheduler(o, "momentum", 0.4, 10, floor=0.1)
    for t in range(14):
        if t:
            s.step()
        got = o.param_groups[0][key]
        assert got.dtype == torch.float32
        assert float(got) == pytest.approx(reference(t, 0.4, 10, 0.1), rel=1e-6)


def test_aliases_and_declared_state():
    s = HalfCosineLR(opt(), 0.4, 10)
    assert s.initial_val == s.initial_learning_rate == 0.4
    s.initial_val = 0.2
    assert s.initial_learning_rate == 0.2
    assert HalfCosineLR.argument_aliases == {"initial_val": "initial_learning_rate"}
    assert set(s.state_dict()) == {
        "initial_learning_rate",
        "floor",
        "total_iters",
        "param_group_tags",
        "_last_value",
        "last_epoch",
        "_step_count",
        "_get_called_within_step",
    }
    assert "_args" not in s.state_dict()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"initial_learning_rate": -1.0},
            ValueError,
            "HalfCosineLR: initial_learning_rate must be >= 0",
        ),
        ({"initial_learning_rate": "a"}, TypeError, "initial_learning_rate must be a number"),
        ({"total_iters": 0}, ValueError, "HalfCosineLR: total_iters must be >= 1"),
        ({"total_iters": 2.5}, ValueError, "total_iters must be an integer"),
        ({"floor": -0.5}, ValueError, "negative lr"),
        ({"floor": math.inf}, ValueError, "floor must be finite"),
    ],
)
def test_validation_names_the_argument(kwargs, error, match):
    args = {"initial_learning_rate": 0.4, "total_iters": 10, **kwargs}
    with pytest.raises(error, match=match):
        HalfCosineLR(opt(), **args)


def test_tags_are_normalised_and_matched():
    o = opt(3, tags=["a", ["b", "c"], None])
    s = HalfCosineLR(o, 0.4, 10, param_group_tags=("c",))
    assert s.param_group_tags == {"c"}
    s.step()
    assert isinstance(o.param_groups[1]["lr"], torch.Tensor)
    assert o.param_groups[0]["lr"] == 1.0 and o.param_groups[2]["lr"] == 1.0
    with pytest.raises(ValueError, match="match no param group"):
        HalfCosineLR(opt(2, tags=["a", "b"]), 0.4, 10, param_group_tags="z")
    assert normalize_tags(["a", "b"]) == {"a", "b"} and normalize_tags("a") == {"a"}
    with pytest.raises(ValueError, match="duplicates"):
        normalize_tags(["a", "a"])


def test_host_and_traced_forms_and_evaluate():
    s = HalfCosineScheduler(opt(), "momentum", 0.4, 10, floor=0.1)
    for step in (0, 3, 10, 11, 10**6):
        host = evaluate(s, step)
        traced = evaluate(s, torch.tensor(step))
        assert isinstance(host, float) and isinstance(traced, torch.Tensor)
        assert host == pytest.approx(float(traced), rel=1e-12)
    assert int(s.last_epoch) == 0  # evaluating changes nothing


def test_the_formula_is_a_plain_function():
    assert half_cosine(5.0, 1.0, 10) == pytest.approx(math.cos(math.pi / 4))
    t = torch.tensor(5.0, dtype=torch.float64)
    assert float(half_cosine(t, 1.0, 10)) == pytest.approx(math.cos(math.pi / 4))


def test_ops_agree_between_host_and_tensors():
    t = 7.0
    tt = torch.tensor(t, dtype=torch.float64)
    h, m = ops(t), ops(tt)
    pairs = [
        (h.cos(t), m.cos(tt)),
        (h.sqrt(t), m.sqrt(tt)),
        (h.pow(0.9, t), m.pow(0.9, tt)),
        (h.where(t < 5, 1.0, 2.0), m.where(tt < 5, 1.0, 2.0)),
        (h.minimum(t, 3.0), m.minimum(tt, 3.0)),
        (h.maximum(t, 9.0), m.maximum(tt, 9.0)),
        (h.clamp(t, 0.0, 5.0), m.clamp(tt, 0.0, 5.0)),
        (h.remainder(t, 3.0), m.remainder(tt, 3.0)),
        (h.floor(t / 2), m.floor(tt / 2)),
        (h.count_le([1, 7, 9], t), m.count_le(torch.tensor([1, 7, 9]), tt)),
        (
            h.take([0.1, 0.2, 0.3], 5.0),
            m.take(torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64), torch.tensor(5.0)),
        ),
    ]
    for host, tensor in pairs:
        assert host == pytest.approx(float(tensor), rel=1e-12)
    assert h.pow(0.0, -1.0) == math.inf


def test_classes_are_made_once():
    with pytest.raises(RuntimeError, match="exist already"):
        HALF_COSINE.classes(__name__)
    assert HALF_COSINE.bindings == (HalfCosineLR, HalfCosineWD, HalfCosineScheduler)


def test_module_doctest_runs():
    """The example of waferopt.core.schedule's docstring (a complete schedule) runs."""
    import doctest

    import waferopt.core.schedule as module

    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0 and result.failed == 0
