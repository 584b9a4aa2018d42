"""An optimizer that holds hyperparameters and no real parameters, and never steps.

Schedulers are built on one to check a configuration without touching the real
optimizer (``configure_scheduler``'s dry run), or when the real optimizer could not be
built (``waferopt check`` still checks the schedulers).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from waferopt.core import Optimizer

__all__ = ["StandInOptimizer"]


class StandInOptimizer(Optimizer):
    """Param groups with copied hyperparameters and tags, and one empty tensor each.

    Args:
        groups: an optimizer, whose param groups are copied (tensors detached and
            cloned on the CPU), or param-group mappings (their ``params`` ignored).
            Nothing of the source is shared or changed.
    """

    def __init__(self, groups: Optimizer | Sequence[Mapping[str, Any]]) -> None:
        source = groups.param_groups if isinstance(groups, Optimizer) else groups
        clones = []
        for group in source:
            clone = {k: _detached_copy(v) for k, v in group.items() if k != "params"}
            clone["params"] = [torch.empty(0)]
            clones.append(clone)
        super().__init__(clones, {})
        self._source = groups if isinstance(groups, Optimizer) else None

    def check_scheduled_value(self, group_index: int, key: str, value: float) -> None:
        """The bounds of the optimizer the groups were copied from (none otherwise)."""
        if self._source is not None:
            self._source.check_scheduled_value(group_index, key, value)

    def preinitialize(self) -> None:
        pass

    def step(self, closure: Any = None) -> Any:  # pragma: no cover - never stepped
        raise RuntimeError("a stand-in optimizer (used to check a configuration) never steps")


def _detached_copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_detached_copy(v) for v in value)
    return copy.deepcopy(value)
