"""WarmupStableDecayLR against its formula, at every boundary."""

from __future__ import annotations

import math

import pytest
import torch
from waferopt_example_plugin import WarmupStableDecayLR

from waferopt.core.testing import ReferenceSGD


def wsd_reference(t, peak, warmup, stable, decay, initial=0.0, end=0.0, shape="1-sqrt"):
    """MiniCPM's warmup-stable-decay with Hägele et al.'s cooldown shapes."""
    if t < warmup:
        return initial + (peak - initial) * t / warmup
    if t < warmup + stable:
        return peak
    if t < warmup + stable + decay:
        x = (t - warmup - stable) / decay
        f = {
            "1-sqrt": 1 - math.sqrt(x),
            "linear": 1 - x,
            "cosine": 0.5 * (1 + math.cos(math.pi * x)),
        }
        return end + (peak - end) * f[shape]
    return end


def optimizer():
    return ReferenceSGD([torch.nn.Parameter(torch.zeros(2))], lr=1.0)


@pytest.mark.parametrize("shape", ["1-sqrt", "linear", "cosine"])
@pytest.mark.parametrize(
    ("warmup", "stable", "decay", "initial", "end"),
    [(4, 5, 6, 0.0, 0.0), (3, 0, 4, 1e-4, 1e-3), (0, 3, 5, 0.0, 1e-4), (2, 3, 0, 0.0, 1e-4)],
)
def test_matches_formula(shape, warmup, stable, decay, initial, end):
    """Every step from 0 to past the end matches the piecewise formula."""
    opt = optimizer()
    sched = WarmupStableDecayLR(
        opt,
        0.1,
        warmup,
        stable,
        decay,
        initial_learning_rate=initial,
        end_learning_rate=end,
        decay_shape=shape,
    )
    for t in range(warmup + stable + decay + 4):
        if t:
            sched.step()
        want = wsd_reference(t, 0.1, warmup, stable, decay, initial, end, shape)
        got = opt.param_groups[0]["lr"]
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, torch.tensor(want, dtype=torch.float32), msg=f"step {t}")


def test_boundaries():
    """Peak at the end of warmup and at the start of the cooldown; end value at W+S+D."""
    opt = optimizer()
    sched = WarmupStableDecayLR(opt, 0.5, 2, 3, 4, end_learning_rate=0.01)
    seen = [float(opt.param_groups[0]["lr"])]
    for _ in range(10):
        sched.step()
        seen.append(float(opt.param_groups[0]["lr"]))
    assert seen[0] == 0.0
    assert seen[2] == pytest.approx(0.5) and seen[5] == pytest.approx(0.5)
    assert seen[4] == pytest.approx(0.5) and seen[6] < 0.5
    assert seen[9] == pytest.approx(0.01) and seen[10] == pytest.approx(0.01)
    assert sched.total_iters == 9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"decay_steps": 2.5}, "decay_steps"),
        ({"decay_shape": "exp"}, "decay_shape"),
        ({"peak_learning_rate": -0.1}, "peak_learning_rate"),
    ],
)
def test_rejects_invalid_arguments(kwargs, match):
    args = {"peak_learning_rate": 0.1, "warmup_steps": 1, "stable_steps": 1, "decay_steps": 1}
    with pytest.raises(ValueError, match=match):
        WarmupStableDecayLR(optimizer(), **{**args, **kwargs})
