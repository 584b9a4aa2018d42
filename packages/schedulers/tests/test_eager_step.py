"""The eager step: the closed form on the host, one write per param group.

Outside ``torch.compile`` and CUDA-graph capture, a step evaluates the schedule in
Python floats and writes each matching group with one in-place ``fill_``; the traced
path (tensor ops from the step tensor) gives the same values to float32 rounding.
"""

from __future__ import annotations

import pytest
import torch
from _sched_helpers import make_optimizer
from _sched_table import SHAPES, build
from torch.utils._python_dispatch import TorchDispatchMode

import waferopt.schedulers as S

STEPS = [*range(0, 301), 997, 1000, 1001, 4096, 10**5, 10**6 + 3]


def _composites(o):
    return {
        "sequential": S.SequentialLR(
            o, [S.LinearLR(o, 0.0, 0.1, 10), S.CosineDecayLR(o, 0.1, 0.001, 40)], [10]
        ),
        "nested-sequential": S.SequentialLR(
            o,
            [
                S.SequentialLR(o, [S.LinearLR(o, 0.0, 0.1, 5), S.ConstantLR(o, 0.1, 5)], [5]),
                S.StepLR(o, 0.1, 7, 0.5),
            ],
            [10],
        ),
        "chained": S.ChainedLR([S.CosineDecayLR(o, 0.1, 0.0, 50), S.StepLR(o, 1.0, 5, 0.9)]),
        "scale-per-param": S.ScalePerParamLR(o, S.ExponentialLR(o, 0.1, 3, 0.9)),
    }


def _all(o_factory):
    out = {
        f"{flavour}-{shape}": build(flavour, shape, o_factory())
        for shape in SHAPES
        for flavour in ("lr", "wd")
    }
    out.update(_composites(o_factory()))
    return out


CASES = sorted(_all(make_optimizer))


def _make(name, groups=1):
    o = make_optimizer(groups)
    if name in ("sequential", "nested-sequential", "chained", "scale-per-param"):
        return _composites(o)[name]
    flavour, shape = name.split("-", 1)
    return build(flavour, shape, o)


@pytest.mark.parametrize("name", CASES)
def test_host_and_traced_forms_agree(name):
    """At every step checked, the host value rounded to float32 equals the traced value
    (float64 tensor ops) rounded to float32, to one float32 ulp."""
    sched = _make(name)
    if not sched._host_ok:
        pytest.skip(f"{name} has no host form (user functions of a tensor step)")
    host = torch.tensor([sched._value_host(k) for k in STEPS], dtype=torch.float64)
    traced = torch.stack([sched._value_tensor(torch.tensor(k)) for k in STEPS]).to(torch.float64)
    torch.testing.assert_close(host.float(), traced.float(), rtol=1.2e-7, atol=1e-30)


class _Writes(TorchDispatchMode):
    """Records every op dispatched, with the tensors it wrote (in-place ops)."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("groups", [1, 3])
@pytest.mark.parametrize("name", CASES)
def test_eager_step_writes_once_per_group(name, groups):
    """A step dispatches at most one op per param group, and that op is a fill_ (one
    kernel on a GPU); the step counter is not touched on the device."""
    sched = _make(name, groups)
    if not sched._host_ok:
        pytest.skip(f"{name} has no host form")
    for _ in range(3):
        sched.step()
    for _ in range(5):
        with _Writes() as mode:
            sched.step()
        assert len(mode.ops) <= groups, mode.ops
        assert set(mode.ops) <= {"fill_"}, mode.ops
    assert int(sched.last_epoch) == 8


def test_step_counter_is_synced_when_read():
    o = make_optimizer()
    sched = S.CosineDecayLR(o, 0.1, 0.0, 100)
    for _ in range(7):
        sched.step()
    assert sched.last_epoch.dtype == torch.int64 and int(sched.last_epoch) == 7
    assert int(sched.state_dict()["last_epoch"]) == 7


def test_traced_step_then_eager_steps_continue():
    """A step taken on the traced path (as under torch.compile) and eager steps after it
    count the same steps and write the same values as an eager run."""
    eager = S.CosineDecayLR(make_optimizer(), 0.1, 0.0, 20)
    mixed = S.CosineDecayLR(make_optimizer(), 0.1, 0.0, 20)
    for k in range(10):
        eager.step()
        if k in (2, 3):
            mixed.increment_last_epoch()  # what the compiled step does
            mixed._epoch_host = None
            mixed._update_traced()
        else:
            mixed.step()
        assert int(mixed.last_epoch) == int(eager.last_epoch) == k + 1
        torch.testing.assert_close(
            mixed.optimizer.param_groups[0]["lr"], eager.optimizer.param_groups[0]["lr"]
        )
