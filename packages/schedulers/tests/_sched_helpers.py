"""Helpers shared by the scheduler tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


STEPS = 1000


def trace(scheduler: Any, steps: int = STEPS, key: str = "lr", group: int = 0) -> torch.Tensor:
    """The value in ``param_groups[group][key]`` after construction and after each step."""
    from waferopt.core import read_group_value

    groups = scheduler.optimizer.param_groups
    values = [float(read_group_value(groups[group], key))]
    for _ in range(steps):
        scheduler.step()
        values.append(float(read_group_value(groups[group], key)))
    return torch.tensor(values, dtype=torch.float64)


def torch_trace(
    build: Callable[[torch.optim.Optimizer], Any], lr: float, steps: int = STEPS
) -> torch.Tensor:
    """The same for a torch.optim.lr_scheduler scheduler on torch.optim.SGD(lr=lr)."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=0.9)
    scheduler = build(optimizer)
    values = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        values.append(optimizer.param_groups[0]["lr"])
    return torch.tensor(values, dtype=torch.float64)


def assert_rel_close(
    actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-7, atol: float = 1e-12
) -> None:
    """``|a - e| <= rtol |e| + atol`` elementwise (atol only for values that are ~0)."""
    torch.testing.assert_close(actual, expected.to(actual.dtype), rtol=rtol, atol=atol)
