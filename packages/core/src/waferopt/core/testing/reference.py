"""A minimal reference optimizer written with the core contracts (for tests and plugins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..optimizer import Optimizer
from ..validation import check_sparse


class ReferenceSGD(Optimizer):
    """A plain static-step SGD the scheduler checks drive (not for training).

    θ ← θ − η·b with b ← μ·b + (g + λθ). ``lr``, ``weight_decay`` and
    ``momentum`` may be floats or 0-d tensors; extra keyword arguments become
    group defaults (so that a scheduler of any key has something to write).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 0.1,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        enable_global_step: bool = False,
        **extra: Any,
    ) -> None:
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, **extra}
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def preinitialize(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:  # every gradient checked before anything changes
            for p in group["params"]:
                if p.grad is not None and p.grad.is_sparse:
                    check_sparse(type(self).__name__, p.grad)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if self.enable_global_step:
                    self.increment_global_step(p)
                buf = self.state[p]["momentum_buffer"]
                buf.mul_(group["momentum"]).add_(p.grad + group["weight_decay"] * p)
                p.sub_(group["lr"] * buf)
        return loss
