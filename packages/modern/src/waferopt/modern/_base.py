"""What the four optimizers of this package share: declared state, created up front.

A class lists the state each parameter gets (:meth:`DeclaredOptimizer.param_state`)
and the 0-d running scalars each group keeps (:meth:`DeclaredOptimizer.group_scalars`:
step counts, schedule-free's weight sum, Prodigy's distance estimate). Both are
created in ``preinitialize`` when the optimizer is built (and for a group added
later); ``step()`` gathers the lists and calls the family's functional kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty
from waferopt.core import foreach as F

from .functional import compute_dtype

__all__ = ["DeclaredOptimizer", "check_choice", "check_int", "check_positive", "zeros_like"]


def zeros_like(p: Tensor) -> Tensor:
    """A moment buffer's initial value: zeros in ``p``'s layout."""
    return torch.zeros_like(p, memory_format=torch.preserve_format)


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


class DeclaredOptimizer(Optimizer):
    """A waferopt optimizer whose state is declared, created once, and updated by a kernel.

    Subclasses implement :meth:`param_state`, :meth:`group_scalars` (optional) and
    ``step``.
    """

    def __init__(
        self,
        params: Any,
        defaults: dict[str, Any],
        *,
        enable_global_step: bool = False,
    ) -> None:
        super().__init__(check_params_not_empty(params), defaults, enable_global_step)

    def param_state(self, group: dict[str, Any], p: Tensor) -> dict[str, Callable[[], Tensor]]:
        """``{state key: factory}`` of the state ``p`` gets in ``group``."""
        raise NotImplementedError

    def group_scalars(self, group: dict[str, Any]) -> dict[str, float]:
        """``{group key: initial value}`` of the group's 0-d running scalars."""
        return {}

    def preinitialize(self) -> None:
        """Create every missing per-parameter state tensor and group scalar."""
        for group in self.param_groups:
            if not group["params"]:
                continue
            device = group["params"][0].device
            for key, value in self.group_scalars(group).items():
                if not isinstance(group.get(key), Tensor):
                    group[key] = torch.tensor(value, dtype=compute_dtype(device), device=device)
            for p in group["params"]:
                state = self.state[p]
                for key, make in self.param_state(group, p).items():
                    if key not in state:
                        state[key] = make()

    def gather(
        self, group: dict[str, Any], keys: Iterable[str]
    ) -> tuple[list[Tensor], list[Tensor], list[list[Tensor]]]:
        """Params of ``group`` with a gradient, their gradients and the state lists;
        advances the global step of those params when it is enabled."""
        params, grads, states = F.collect(type(self).__name__, group, self.state, tuple(keys))
        if self.enable_global_step and params:
            torch._foreach_add_([self.state[p]["step"] for p in params], 1.0)
        return params, grads, states

    @staticmethod
    def run_closure(closure: Callable[[], Any] | None) -> Any:
        return F.run_closure(closure)
