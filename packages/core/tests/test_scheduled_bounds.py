"""Scheduled values keep to the bounds the optimizer declares (issue 11, item 1).

A schedule written with :mod:`waferopt.core.schedule` (a plugin's, or a first-party
one) checks the extremes of its closed form at construction against
``Optimizer.check_scheduled_value``, which a :class:`DeclaredOptimizer` answers from its
declared :class:`Hyperparameter` checks (``momentum >= 0``, ``betas`` in [0, 1) ...).
A scheduler whose values cannot be decided ahead (a closed form written with tensor
ops) raises at the eager step that produces a bad value, naming itself and the step,
and writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from waferopt.core import (
    DeclaredOptimizer,
    Hyperparameter,
    LRScheduler,
    Optimizer,
    ScheduledValueError,
    Scheduler,
    check_betas,
    check_non_negative,
)
from waferopt.core.schedule import Arg, Schedule, checks


def _no_op_kernel(params: Any, grads: Any, **kwargs: Any) -> None:
    pass


class Declared(DeclaredOptimizer):
    """Declares lr and momentum >= 0 and betas in [0, 1), like the first-party families."""

    kernel = _no_op_kernel
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("momentum", check_non_negative),
        Hyperparameter("betas", check_betas, kernel_names=("beta1", "beta2")),
    )

    def __init__(self, params: Any, lr: float = 0.1, momentum: float = 0.5, betas=(0.9, 0.99)):
        super().__init__(params, {"lr": lr, "momentum": momentum, "betas": betas})


def ramp(t, start, slope):
    """A line without end: ``v(t) = start + slope t``."""
    return start + slope * t


RAMP = Schedule(
    "BoundsRamp",
    ramp,
    summary="A line.",
    args=[
        Arg("start", checks.number(), doc="the value at step 0.", annotation="float"),
        Arg("slope", checks.number(), doc="the change per step.", annotation="float"),
    ],
)
RampLR, RampWD, RampScheduler = RAMP.classes(__name__)


def _optimizer(**kwargs: Any) -> Declared:
    return Declared(
        [
            {"params": [torch.nn.Parameter(torch.zeros(2))], "tags": {"a"}},
            {"params": [torch.nn.Parameter(torch.zeros(2))], "tags": {"b"}, "betas": (0.5, 0.5)},
        ],
        **kwargs,
    )


def _groups(optimizer: Optimizer) -> list[dict[str, Any]]:
    return [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]


@pytest.mark.parametrize(
    ("key", "start", "slope", "match"),
    [
        ("momentum", -0.5, 0.0, r"gives momentum -0\.5 at step 0"),
        # a line without end: checked over its first 10**4 steps, the extreme named
        ("momentum", 0.5, -1e-3, r"gives momentum -9\.\d+ at step \d{4}\b"),
        ("betas[0]", 0.9, 1e-3, r"gives betas\[0\] 10\.\d+ at step \d{4}\b"),
        ("betas[1]", -0.1, 0.0, r"at index 1: -0\.1"),
    ],
)
def test_a_schedule_outside_the_declared_bounds_is_rejected_at_construction(
    key, start, slope, match
):
    """The error names the class, the key, the value and step, the optimizer's own
    message and the arguments to check; the optimizer is unchanged."""
    optimizer = _optimizer()
    before = _groups(optimizer)
    with pytest.raises(ValueError, match=match) as error:
        RampScheduler(optimizer, key, start=start, slope=slope)
    message = str(error.value)
    assert message.startswith("BoundsRampScheduler:")
    assert "Declared: Invalid" in message and "check start, slope" in message
    assert _groups(optimizer) == before
    assert not list(optimizer._schedulers_registry)


def test_the_bounds_are_checked_only_in_the_groups_the_scheduler_drives():
    """A tag picks the groups whose values are checked (and written)."""
    optimizer = _optimizer()
    RampScheduler(optimizer, "betas[0]", start=0.95, slope=0.0, param_group_tags="b")
    assert float(optimizer.param_groups[1]["betas"][0]) == pytest.approx(0.95)
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.99)


def test_values_inside_the_bounds_are_written():
    optimizer = _optimizer()
    scheduler = RampScheduler(optimizer, "momentum", start=0.0, slope=1e-5)
    scheduler.step()
    assert float(optimizer.param_groups[0]["momentum"]) == pytest.approx(1e-5)


def test_a_plain_optimizer_declares_no_bounds():
    """The base Optimizer accepts every finite value for a key other than lr and
    weight_decay (it declares nothing); lr and weight_decay stay >= 0 everywhere."""

    class Plain(Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.0})

        def preinitialize(self):
            pass

        def step(self, closure=None):
            pass

    optimizer = Plain([torch.nn.Parameter(torch.zeros(2))])
    RampScheduler(optimizer, "momentum", start=-0.5, slope=0.0)
    assert float(optimizer.param_groups[0]["momentum"]) == -0.5
    with pytest.raises(ValueError, match="negative weight_decay"):
        RampWD(optimizer, start=-0.5, slope=0.0)


def test_a_loaded_state_dict_is_checked_against_the_bounds():
    optimizer = _optimizer()
    scheduler = RampScheduler(optimizer, "momentum", start=0.5, slope=0.0)
    state = {**scheduler.state_dict(), "start": -0.5}
    with pytest.raises(ValueError, match=r"load_state_dict: the schedule gives momentum -0\.5"):
        scheduler.load_state_dict(state)
    assert scheduler.start == 0.5


class TensorRamp(Scheduler):
    """A scheduler written the spec's way (tensor ops only): its values are not known
    ahead, so they are checked at each eager step."""

    def __init__(self, optimizer, key, start, slope):
        self.key, self.start, self.slope = key, start, slope
        super().__init__(optimizer, None)

    @property
    def param_group_key(self) -> str:
        return self.key

    def _get_closed_form(self) -> torch.Tensor:
        return self.start + self.slope * self.step_as_float()


@pytest.mark.parametrize(
    ("key", "start", "slope", "bad_step", "why"),
    [
        ("lr", 0.35, -0.1, 4, "which is negative"),
        ("momentum", 0.2, -0.1, 3, r"which the optimizer does not accept \(Declared: Invalid"),
        ("betas[0]", 0.5, 0.25, 2, r"at index 0: 1\.0"),
        ("lr", 0.1, 3.0e38, 2, "not finite in float32"),
    ],
)
def test_an_undecided_value_raises_at_the_step_that_makes_it(key, start, slope, bad_step, why):
    """The step that makes a bad value raises ScheduledValueError (a ValueError) naming
    the scheduler and the step, writes nothing and leaves the step count where it was."""
    optimizer = _optimizer()
    scheduler = TensorRamp(optimizer, key, start, slope)
    for _ in range(bad_step - 1):
        scheduler.step()
    before = _groups(optimizer)
    with pytest.raises(ScheduledValueError, match=rf"TensorRamp: at step {bad_step} .*{why}"):
        scheduler.step()
    assert int(scheduler.last_epoch) == bad_step - 1
    assert str(_groups(optimizer)) == str(before)
    # the same error again: the state did not move
    with pytest.raises(ScheduledValueError, match=f"at step {bad_step} "):
        scheduler.step()


def test_an_undecided_bad_first_value_leaves_the_optimizer_as_it_was():
    """A bad value at step 0 fails the constructor; the optimizer gets no initial_lr,
    no value and no registered scheduler."""
    optimizer = _optimizer()
    before = _groups(optimizer)

    class BadLR(LRScheduler):
        def __init__(self, optimizer):
            super().__init__(optimizer, None)

        def _get_closed_form(self) -> torch.Tensor:
            return torch.tensor(-1.0, dtype=torch.float64) + 0 * self.step_as_float()

    with pytest.raises(ScheduledValueError, match=r"BadLR: at step 0 .*negative"):
        BadLR(optimizer)
    assert _groups(optimizer) == before
    assert "initial_lr" not in optimizer.param_groups[0]
    assert not list(optimizer._schedulers_registry)
