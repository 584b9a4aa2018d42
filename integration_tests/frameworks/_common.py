"""What the framework tests share: data, a model, waferopt's optimizer and schedule,
the plain training loop every framework must reproduce, and an independent reference
for the learning rate of every step."""

from __future__ import annotations

import math
from typing import Any

import torch

import waferopt.optim as optim

BATCH = 8
BATCHES_PER_EPOCH = 4
WARMUP = 4
DECAY = 12
PEAK_LR = 1e-2
END_LR = 1e-3
SCHEDULE: list[dict[str, Any]] = [
    {"scheduler": "Linear", "initial_learning_rate": 0.0, "end_learning_rate": PEAK_LR,
     "total_iters": WARMUP},
    {"scheduler": "CosineDecay", "initial_learning_rate": PEAK_LR, "end_learning_rate": END_LR,
     "total_iters": DECAY},
]  # fmt: skip
"""A Model Zoo ``learning_rate`` list: linear warm-up, then cosine decay (SequentialLR)."""


def reference_lr(step: int) -> float:
    """The lr of SCHEDULE at ``step``, written from the formulas (not from waferopt)."""
    if step < WARMUP:
        return PEAK_LR * step / WARMUP
    t = min(step - WARMUP, DECAY)
    return END_LR + (PEAK_LR - END_LR) * 0.5 * (1.0 + math.cos(math.pi * t / DECAY))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed regression problem: BATCHES_PER_EPOCH batches of BATCH samples."""
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(BATCH * BATCHES_PER_EPOCH, 4, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(
        len(x), 1, generator=gen
    )
    return x, y


def linear(seed: int) -> torch.nn.Linear:
    """The model's only layer, initialised from ``seed``."""
    torch.manual_seed(seed)
    return torch.nn.Linear(4, 1)


def optimizer_and_scheduler(
    params: Any,
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """waferopt's AdamW and SCHEDULE, built the way a Model Zoo config builds them."""
    opt = optim.configure_optimizer("AdamW", params, lr=PEAK_LR, weight_decay=0.01)
    sched = optim.configure_lr_scheduler(opt, SCHEDULE)
    assert sched is not None
    return opt, sched


def manual_training(seed: int, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
    """The loop every framework should reproduce: one optimizer step and one scheduler
    step per batch, in that order. Returns the final state dict and the lr of each step."""
    model = linear(seed)
    opt, sched = optimizer_and_scheduler(model.parameters())
    lrs = []
    for x, y in batches:
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    return {"state": {k: v.clone() for k, v in model.state_dict().items()}, "lrs": lrs}


def assert_same_weights(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    """Bitwise: the same steps in the same order on the same CPU give the same bits."""
    assert actual.keys() == expected.keys()
    for key in expected:
        assert torch.equal(actual[key], expected[key]), (key, actual[key], expected[key])
