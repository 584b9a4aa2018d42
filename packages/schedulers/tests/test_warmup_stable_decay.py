"""WarmupStableDecay (first-party) against the published WSD formula, at every step and
boundary: MiniCPM (Hu et al. 2024, §4) with the cooldowns of Hägele et al. (2024, §3)."""

from __future__ import annotations

import math

import pytest
import torch
from _sched_helpers import make_optimizer, trace

from waferopt.schedulers import WarmupStableDecayLR, WarmupStableDecayScheduler, WarmupStableDecayWD


def wsd_reference(t, peak, warmup, stable, decay, initial=0.0, end=0.0, shape="1-sqrt"):
    """Linear warmup, plateau, cooldown f((t - W - S) / D), then the end value."""
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
        }[shape]
        return end + (peak - end) * f
    return end


@pytest.mark.parametrize("shape", ["1-sqrt", "linear", "cosine"])
@pytest.mark.parametrize(
    ("warmup", "stable", "decay", "initial", "end"),
    [(4, 5, 6, 0.0, 0.0), (3, 0, 4, 1e-4, 1e-3), (0, 3, 5, 0.0, 1e-4), (2, 3, 0, 0.0, 1e-4)],
)
def test_matches_formula(shape, warmup, stable, decay, initial, end):
    """Every step from 0 to past the end matches the piecewise formula (float32 values)."""
    total = warmup + stable + decay
    sched = WarmupStableDecayLR(
        make_optimizer(), 0.1, warmup, stable, decay, initial, end, decay_shape=shape
    )
    got = trace(sched, total + 4)
    want = torch.tensor(
        [
            wsd_reference(t, 0.1, warmup, stable, decay, initial, end, shape)
            for t in range(total + 5)
        ],
        dtype=torch.float32,
    )
    torch.testing.assert_close(got.to(torch.float32), want)
    assert sched.total_iters == total


def test_boundaries():
    """The peak at the end of the warmup and up to the start of the cooldown; the end
    value at W + S + D and after."""
    o = make_optimizer()
    sched = WarmupStableDecayLR(o, 0.5, 2, 3, 4, end_learning_rate=0.01)
    seen = trace(sched, 10).tolist()
    assert seen[0] == 0.0
    assert seen[2] == pytest.approx(0.5) and seen[5] == pytest.approx(0.5)
    assert seen[6] < 0.5
    assert seen[9] == pytest.approx(0.01) and seen[10] == pytest.approx(0.01)


def test_three_bindings_share_the_formula():
    lr = trace(WarmupStableDecayLR(make_optimizer(), 0.1, 3, 2, 5), 12)
    wd = trace(WarmupStableDecayWD(make_optimizer(), 0.1, 3, 2, 5), 12, key="weight_decay")
    mom = trace(
        WarmupStableDecayScheduler(make_optimizer(), "momentum", 0.1, 3, 2, 5), 12, key="momentum"
    )
    assert torch.equal(lr, wd) and torch.equal(lr, mom)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"decay_steps": 2.5}, "decay_steps"),
        ({"decay_shape": "exp"}, "decay_shape"),
        ({"max_lr": float("inf")}, "max_lr"),
        ({"max_lr": -0.1}, "negative lr"),
    ],
)
def test_rejects_invalid_arguments(kwargs, match):
    args = {"max_lr": 0.1, "warmup_steps": 1, "stable_steps": 1, "decay_steps": 1}
    with pytest.raises((TypeError, ValueError), match=match):
        WarmupStableDecayLR(make_optimizer(), **{**args, **kwargs})
