"""The product of schedulers, each after the first relative to its initial value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from waferopt.core import Scheduler

from ._base import Composite, composite_bindings


class ChainedGenericScheduler(Composite):
    r"""Multiplies schedulers together.

    .. math::
        v(t) = S_0(t) \prod_{i \ge 1} \frac{S_i(t)}{S_i.initial\_val}

    The first scheduler gives the value; each further one acts as a factor relative to
    its own ``initial_val`` (which must exist and be non-zero). The key is the
    children's. ``ChainedLR`` / ``ChainedWD`` are this class for ``"lr"`` and
    ``"weight_decay"``.

    Args:
        schedulers: the schedulers, all of one optimizer, key and tags.
        param_group_tags: the children's tags (adopted from them when None).
    """

    composite: ClassVar[str | None] = "chained"

    def __init__(self, schedulers: Sequence[Scheduler], param_group_tags: Any = None) -> None:
        optimizer, key, tags = self._check_children(None, schedulers, param_group_tags)
        self._schedulers = list(schedulers)
        for index, child in enumerate(self._schedulers[1:], start=1):
            initial = getattr(child, "initial_val", None)
            if isinstance(initial, bool) or not isinstance(initial, (int, float)):
                raise ValueError(
                    f"{type(self).__name__}: schedulers[{index}] ({type(child).__name__}) has no "
                    f"numeric initial_val, so it cannot act as a factor; only schedulers[0] may"
                )
            if initial == 0:
                raise ValueError(
                    f"{type(self).__name__}: schedulers[{index}] ({type(child).__name__}) has "
                    f"initial_val 0 and cannot act as a factor"
                )
        super().__init__(optimizer, key, None, param_group_tags=tags)

    def _value_host(self, step: int) -> float:
        children = self._schedulers
        value = children[0]._value_host(step)
        for child in children[1:]:
            value = value * (child._value_host(step) / child.initial_val)  # type: ignore[attr-defined]
        return value

    def _value_tensor(self, step: torch.Tensor) -> torch.Tensor:
        dtype = self.compute_dtype
        value = self._schedulers[0]._value_tensor(step).to(dtype)
        for child in self._schedulers[1:]:
            value = value * (child._value_tensor(step).to(dtype) / child.initial_val)  # type: ignore[attr-defined]
        return value

    def _get_closed_form(self) -> torch.Tensor:
        return self._value_tensor(self.last_epoch)


ChainedLR, ChainedWD = composite_bindings(
    ChainedGenericScheduler,
    "Chains learning-rate schedulers: their values multiply, relative to their ``initial_val``.\n\n"
    "The first scheduler gives the value; each further one multiplies it by its own\n"
    "value divided by its ``initial_val``. See :class:`ChainedGenericScheduler`.",
    "Chains weight-decay schedulers: their values multiply, relative to their ``initial_val``.\n\n"
    "The first scheduler gives the value; each further one multiplies it by its own\n"
    "value divided by its ``initial_val``. See :class:`ChainedGenericScheduler`.",
)

ChainedScheduler = ChainedLR
"""Alias of :class:`ChainedLR` (``cerebras.pytorch.optim.lr_scheduler.ChainedScheduler``)."""
