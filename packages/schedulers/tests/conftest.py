"""A minimal waferopt optimizer for the scheduler tests (no other family is imported)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from waferopt.core import Optimizer


class PlainSGD(Optimizer):
    """SGD without momentum: enough to own param groups with lr, weight_decay, momentum, betas."""

    def __init__(
        self,
        params: Any,
        lr: float = 0.1,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> None:
        super().__init__(
            params, {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "betas": betas}
        )

    def preinitialize(self) -> None:
        pass

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad * group["lr"], alpha=-1.0)
        return loss


def make_optimizer(groups: int = 1, **kwargs: Any) -> PlainSGD:
    params = [{"params": [torch.nn.Parameter(torch.zeros(2))]} for _ in range(groups)]
    return PlainSGD(params, **kwargs)


@pytest.fixture
def optimizer() -> PlainSGD:
    return make_optimizer()


@pytest.fixture
def tagged_optimizer() -> PlainSGD:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(2))], "tags": "encoder"},
        {"params": [torch.nn.Parameter(torch.zeros(2))], "tags": ["decoder", "embedding"]},
        {"params": [torch.nn.Parameter(torch.zeros(2))]},
    ]
    return PlainSGD(params)
