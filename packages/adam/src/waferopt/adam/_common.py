"""Declarations every optimizer of the Adam family shares (private)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from waferopt.core import DeclaredOptimizer, Hyperparameter, StateSpec, check_betas
from waferopt.core import check_non_negative as non_negative
from waferopt.core.authoring import scalar, zeros

from .functional import steps_from_powers

__all__ = ["ADAM_HYPERPARAMETERS", "MOMENTS", "PowerStateOptimizer", "as_float", "beta_power"]

ADAM_HYPERPARAMETERS = (
    Hyperparameter("lr", non_negative),
    Hyperparameter("betas", check_betas, kernel_names=("beta1", "beta2")),
    Hyperparameter("eps", non_negative),
    Hyperparameter("weight_decay", non_negative),
)
"""What every Adam-family group has: lr, betas (β1, β2), eps, weight_decay."""

MOMENTS = (StateSpec("exp_avg", zeros), StateSpec("exp_avg_sq", zeros))
"""Adam's first and second moments, zeros in the param's layout."""


def beta_power(index: int, key: str, when: Any = None) -> StateSpec:
    """The ``beta{index+1}_power`` state: β^t before step t, starting at β (packed: an
    eager step writes a group's powers with one fill)."""
    return StateSpec(key, scalar(lambda group: group["betas"][index]), when=when, packed=True)


def as_float(x: Any) -> float:
    """A hyperparameter as a Python float (reads a tensor: outside ``step()`` only)."""
    return float(x.detach().cpu()) if isinstance(x, Tensor) else float(x)


class PowerStateOptimizer(DeclaredOptimizer):
    """An optimizer whose state holds its step as ``beta1_power`` / ``beta2_power``
    (the Cerebras layout): the host copy of the step is read back from them."""

    host_step = True

    def host_step_from_state(self, group: Mapping[str, Any], p: Tensor) -> int | None:
        state = self.state[p]
        if "step" in state:
            return super().host_step_from_state(group, p)
        betas = group["betas"]
        pairs = [
            ([state[key]], betas[i])
            for i, key in ((1, "beta2_power"), (0, "beta1_power"))
            if key in state
        ]
        if not pairs:
            return None
        t = float(steps_from_powers(pairs)[0])
        return int(t) - 1 if t != float("inf") else None
