"""waferopt LR schedulers inside torch's SequentialLR / ChainedScheduler, and next to
torch's ReduceLROnPlateau: the values of the pure-torch sequence.

A waferopt LR scheduler sets ``initial_lr`` in every group as torch's schedulers do
(its own value, never the tensor object that ``lr`` holds: pytorch #162359), so that a
torch scheduler that follows it starts from the optimizer's learning rate. Where a
waferopt closed form and a torch chaining scheduler write the same key every step,
the user is warned once, with both names.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from _sched_helpers import PlainSGD
from torch.optim import lr_scheduler as T

import waferopt.schedulers as S

LR = 0.1
STEPS = 40


def _ours(lr: float = LR) -> PlainSGD:
    return PlainSGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def _torch(lr: float = LR) -> torch.optim.SGD:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def _run(optimizer, scheduler, steps: int = STEPS, metric=None) -> list[float]:
    values = [float(optimizer.param_groups[0]["lr"])]
    for k in range(steps):
        optimizer.step()
        if metric is None:
            scheduler.step()
        else:
            scheduler(k)
        values.append(float(optimizer.param_groups[0]["lr"]))
    return values


def _close(mixed: list[float], pure: list[float]) -> None:
    # waferopt writes float32 tensors, torch chains on them: float32 rounding apart.
    torch.testing.assert_close(
        torch.tensor(mixed, dtype=torch.float64),
        torch.tensor(pure, dtype=torch.float64),
        rtol=2e-6,
        atol=1e-9,
    )


def test_initial_lr_is_set_and_never_aliases_lr():
    o = _ours()
    S.LinearLR(o, 0.0, LR, 10)
    group = o.param_groups[0]
    assert group["initial_lr"] == LR
    o2 = _ours()
    o2.param_groups[0]["lr"] = torch.tensor(LR)
    sched = S.LinearLR(o2, 0.0, LR, 10)
    group = o2.param_groups[0]
    assert isinstance(group["initial_lr"], torch.Tensor)
    assert group["initial_lr"] is not group["lr"]
    assert group["initial_lr"].data_ptr() != group["lr"].data_ptr()
    for _ in range(5):
        sched.step()
    assert float(group["initial_lr"]) == pytest.approx(LR)


def test_initial_lr_is_not_overwritten():
    """An initial_lr already there (another scheduler's, a checkpoint's) stays."""
    o = _ours()
    o.param_groups[0]["initial_lr"] = 0.5
    S.CosineDecayLR(o, LR, 0.0, 10)
    assert o.param_groups[0]["initial_lr"] == 0.5


def test_torch_sequential_linear_then_cosine():
    """torch SequentialLR([waferopt LinearLR, torch CosineAnnealingLR]) equals the
    pure-torch SequentialLR([LinearLR, CosineAnnealingLR]) (it gave lr 0 before)."""
    o = _ours()
    warmup = S.LinearLR(o, 0.1 * LR, LR, 10)
    cosine = T.CosineAnnealingLR(o, T_max=30, eta_min=1e-3)
    mixed = _run(o, T.SequentialLR(o, [warmup, cosine], milestones=[10]))

    p = _torch()
    pure_sched = T.SequentialLR(
        p,
        [T.LinearLR(p, start_factor=0.1, total_iters=10), T.CosineAnnealingLR(p, 30, 1e-3)],
        milestones=[10],
    )
    _close(mixed, _run(p, pure_sched))
    assert min(mixed[10:]) > 1e-3 * 0.99  # not the lr 0 of the first release


def test_torch_sequential_constant_then_exponential():
    o = _ours()
    constant = S.ConstantLR(o, LR, total_iters=5)
    exponential = T.ExponentialLR(o, gamma=0.9)
    mixed = _run(o, T.SequentialLR(o, [constant, exponential], milestones=[5]))

    p = _torch()
    pure = T.SequentialLR(
        p, [T.ConstantLR(p, factor=1.0, total_iters=5), T.ExponentialLR(p, 0.9)], [5]
    )
    _close(mixed, _run(p, pure))


def test_torch_sequential_with_waferopt_second():
    """A waferopt scheduler after a torch one: torch calls its _update_lr(0) at the
    milestone, and it starts its own closed form there."""
    o = _ours()
    first = T.LinearLR(o, start_factor=0.1, total_iters=10)
    second = S.CosineDecayLR(o, LR, 1e-3, 30)
    mixed = _run(o, T.SequentialLR(o, [first, second], milestones=[10]))

    p = _torch()
    pure = T.SequentialLR(
        p,
        [T.LinearLR(p, start_factor=0.1, total_iters=10), T.CosineAnnealingLR(p, 30, 1e-3)],
        milestones=[10],
    )
    # CosineDecay holds its end value past 30 steps; CosineAnnealing would rise again.
    _close(mixed[:41], _run(p, pure)[:41])


def test_warmup_then_reduce_on_plateau():
    """A waferopt warmup stepped for 5 steps, then torch's ReduceLROnPlateau on a flat
    loss: the values of torch's LinearLR followed by the same ReduceLROnPlateau."""
    losses = [1.0, 0.9, 0.8] + [0.8] * 30

    def run(optimizer, warmup):
        plateau = T.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        values = []
        for k, loss in enumerate(losses):
            optimizer.step()
            if k < 5:
                warmup.step()
            else:
                plateau.step(loss)
            values.append(float(optimizer.param_groups[0]["lr"]))
        return values

    o = _ours()
    mixed = run(o, S.LinearLR(o, 0.1 * LR, LR, 5))
    p = _torch()
    pure = run(p, T.LinearLR(p, start_factor=0.1, total_iters=5))
    _close(mixed, pure)
    assert mixed[-1] < LR / 4  # the plateau did reduce it


def test_chained_with_a_torch_scheduler_warns_once_naming_both():
    """ChainedScheduler([waferopt ConstantLR, torch ExponentialLR]): the closed form
    overwrites what ExponentialLR wrote every step; the user hears of it once."""
    o = _ours()
    chain = T.ChainedScheduler([S.ConstantLR(o, LR), T.ExponentialLR(o, gamma=0.9)])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(5):
            o.step()
            chain.step()
    ours = [w for w in record if "overwrites" in str(w.message)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "ConstantLR" in message and "ExponentialLR" in message


def test_no_warning_without_a_torch_scheduler():
    """Loading an optimizer checkpoint or a user's edit of lr is not a fight."""
    o = _ours()
    sched = S.CosineDecayLR(o, LR, 0.0, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            sched.step()
        o.param_groups[0]["lr"].fill_(0.5)
        sched.step()


def test_plain_torch_optimizer_is_rejected_with_what_to_do():
    with pytest.raises(TypeError, match=r"waferopt\.core\.Optimizer.*torch\.optim\.lr_scheduler"):
        S.CosineDecayLR(_torch(), LR, 0.0, 10)
