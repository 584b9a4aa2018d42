"""REX against the formula of Chen et al. (2022), at every step and boundary."""

from __future__ import annotations

import pytest
import torch
from waferopt_example_plugin import RexLR, RexScheduler, RexWD

from waferopt.core.testing import ReferenceSGD


def rex_reference(t, initial, total, end=0.0):
    """Eq. (1) of the paper, with an end value: (1 - z) / (1/2 + (1 - z) / 2)."""
    z = min(t, total) / total
    return end + (initial - end) * (1 - z) / (0.5 + 0.5 * (1 - z))


def optimizer():
    return ReferenceSGD([torch.nn.Parameter(torch.zeros(2))], lr=1.0, momentum=0.9)


@pytest.mark.parametrize(
    ("initial", "total", "end"), [(0.1, 20, 0.0), (1e-3, 7, 1e-5), (0.5, 1, 0.1)]
)
def test_matches_the_paper(initial, total, end):
    """Every step from 0 to past the budget matches Eq. (1)."""
    opt = optimizer()
    sched = RexLR(opt, initial, total, end_learning_rate=end)
    for t in range(total + 5):
        if t:
            sched.step()
        want = torch.tensor(rex_reference(t, initial, total, end), dtype=torch.float32)
        got = opt.param_groups[0]["lr"]
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want, msg=f"step {t}")


def test_shape_is_above_linear_and_ends_at_end():
    """REX stays above the linear decay between the end points (the paper's Fig. 1)."""
    values = [rex_reference(t, 1.0, 100) for t in range(101)]
    assert values[0] == 1.0 and values[100] == 0.0
    assert all(v > 1 - t / 100 for t, v in enumerate(values[1:100], start=1))


def test_one_formula_three_bindings():
    """The WD and any-key classes give the LR class's values."""
    o1, o2, o3 = optimizer(), optimizer(), optimizer()
    lr, wd = RexLR(o1, 0.1, 10), RexWD(o2, 0.1, 10)
    mom = RexScheduler(o3, "momentum", 0.1, 10)
    for _ in range(12):
        for s in (lr, wd, mom):
            s.step()
        assert float(o1.param_groups[0]["lr"]) == float(o2.param_groups[0]["weight_decay"])
        assert float(o1.param_groups[0]["lr"]) == float(o3.param_groups[0]["momentum"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"total_iters": 0}, "total_iters"),
        ({"total_iters": 2.5}, "total_iters"),
        ({"initial_learning_rate": -0.1}, "initial_learning_rate"),
        ({"end_learning_rate": float("nan")}, "end_learning_rate"),
    ],
)
def test_rejects_invalid_arguments(kwargs, match):
    args = {"initial_learning_rate": 0.1, "total_iters": 10}
    with pytest.raises((TypeError, ValueError), match=match):
        RexLR(optimizer(), **{**args, **kwargs})
