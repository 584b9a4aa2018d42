"""What the four optimizers of this package share: core's authoring API and group scalars."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import DeclaredOptimizer, check_non_negative
from waferopt.core import foreach as F
from waferopt.core.coefficients import coefficient_dtype

__all__ = ["GroupStepOptimizer", "check_choice", "check_int", "check_positive"]


def check_positive(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0."""
    check_non_negative(name, value)
    if float(value) == 0.0:
        raise ValueError(f"Invalid {name} value: {value} (expected a finite number > 0)")


def check_int(name: str, value: Any, minimum: int = 0) -> None:
    """Raise ``ValueError`` unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"Invalid {name} value: {value!r} (expected an int >= {minimum})")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(
            f"Invalid {name}: {value!r} (expected one of {', '.join(map(repr, choices))})"
        )


class GroupStepOptimizer(DeclaredOptimizer):
    """core's :class:`~waferopt.core.DeclaredOptimizer` plus 0-d running scalars per group.

    The classes declare their ``hyperparameters`` and ``param_state`` as core's
    authoring API asks, and core creates the state and checks every group. Their rules
    also keep running scalars per group (step counts, schedule-free's weight sum),
    declared by :meth:`group_scalars` and created here at construction; those advance
    once per group step, so :meth:`update` gets a whole group (the kernels split it
    by device and dtype themselves) instead of one run.
    """

    def group_scalars(self, group: dict[str, Any]) -> dict[str, float]:
        """``{group key: initial value}`` of the group's 0-d running scalars."""
        return {}

    def preinitialize(self) -> None:
        """Core's declared state, then every missing group scalar (float64 0-d tensors)."""
        super().preinitialize()
        for group in self.param_groups:
            if not group["params"]:
                continue
            device = group["params"][0].device
            for key, value in self.group_scalars(group).items():
                if not isinstance(group.get(key), Tensor):
                    group[key] = torch.tensor(value, dtype=coefficient_dtype(device), device=device)

    def gather(
        self, group: dict[str, Any]
    ) -> tuple[list[Tensor], list[Tensor], dict[str, list[Tensor]]]:
        """Params of ``group`` with a gradient, their gradients and their declared state
        lists; advances the global step of those params when it is kept."""
        keys = tuple(spec.name for spec in self.state_specs(group))
        params, grads, states = F.collect(type(self).__name__, group, self.state, keys)
        if self.enable_global_step and params:
            torch._foreach_add_([self.state[p]["step"] for p in params], 1.0)
        return params, grads, dict(zip(keys, states))

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = F.run_closure(closure)
        for group in self.param_groups:
            params, grads, state = self.gather(group)
            self.update(group, params, grads, state)
        return loss
