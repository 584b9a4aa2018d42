"""Schedulers one after another, switching at milestones."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from waferopt.core import Optimizer, Scheduler

from ._base import Composite, composite_bindings


class SequentialScheduler(Composite):
    r"""Runs ``schedulers`` one after another, switching at ``milestones``.

    .. math::
        v(t) = S_k(t - m_k), \quad k = \#\{i : m_i \le t\},\ m_0 = 0

    Each child sees its own local step, starting at 0 at its milestone (as
    ``torch.optim.lr_scheduler.SequentialLR``). A step evaluates one child on the
    host (eager) or every child once (traced): O(len(schedulers)) at most, whatever
    the step count.

    The duration (``total_iters``) is the last milestone plus the last child's
    ``total_iters`` (None if that is None), so a sequence can itself be a non-final
    member of another sequence.

    Args:
        optimizer: the optimizer every child drives.
        schedulers: the schedulers, all of the same param-group key and tags.
        milestones: ``len(schedulers) - 1`` non-decreasing non-negative ints.
        last_epoch: the step before the first one.
        param_group_tags: the children's tags (adopted from them when None).
    """

    composite: ClassVar[str | None] = "sequential"
    state_keys = (*Composite.state_keys, "_milestones")

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[Scheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        optimizer, key, tags = self._check_children(optimizer, schedulers, param_group_tags)
        milestones = self._checked_milestones(milestones, len(schedulers), type(self).__name__)
        self._schedulers = list(schedulers)
        self._milestones = milestones
        last = self._schedulers[-1].total_iters
        total = None if last is None else (self._milestones[-1] if self._milestones else 0) + last
        super().__init__(optimizer, key, total, last_epoch=last_epoch, param_group_tags=tags)

    @staticmethod
    def _checked_milestones(milestones: Any, children: int, where: str) -> list[int]:
        if hasattr(milestones, "tolist") and not isinstance(milestones, (list, tuple)):
            milestones = milestones.tolist()
        if not isinstance(milestones, (list, tuple)) or any(
            isinstance(m, bool) or not isinstance(m, int) for m in milestones
        ):
            raise TypeError(f"{where}: milestones must be a list of ints, got {milestones!r}")
        if len(milestones) != children - 1:
            raise ValueError(
                f"{where}: expected len(milestones) == len(schedulers) - 1 = "
                f"{children - 1}, got {len(milestones)} milestones"
            )
        if any(m < 0 for m in milestones) or any(b < a for a, b in itertools.pairwise(milestones)):
            raise ValueError(
                f"{where}: milestones must be non-negative and non-decreasing, got {list(milestones)}"
            )
        return list(milestones)

    def _check_hyperparameters(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        if "_milestones" not in state_dict:
            return {}
        where = f"{type(self).__name__}.load_state_dict: _milestones"
        return {
            "_milestones": self._checked_milestones(
                state_dict["_milestones"], len(self._schedulers), where
            )
        }

    def _value_host(self, step: int) -> float:
        milestones = self._milestones
        k = bisect.bisect_right(milestones, step)
        if k == 0:
            return self._schedulers[0]._value_host(step)
        return self._schedulers[k]._value_host(step - milestones[k - 1])

    def _value_tensor(self, step: torch.Tensor) -> torch.Tensor:
        dtype = self.compute_dtype
        value = self._schedulers[0]._value_tensor(step).to(dtype)
        for child, milestone in zip(self._schedulers[1:], self._milestones):
            local = child._value_tensor(torch.clamp(step - milestone, min=0)).to(dtype)
            value = torch.where(step >= milestone, local, value)
        return value

    def _get_closed_form(self) -> torch.Tensor:
        return self._value_tensor(self.last_epoch)


SequentialLR, SequentialWD = composite_bindings(
    SequentialScheduler,
    "Runs learning-rate schedulers one after another, switching at ``milestones``.\n\n"
    "Similar to ``torch.optim.lr_scheduler.SequentialLR``; see :class:`SequentialScheduler`.",
    "Runs weight-decay schedulers one after another, switching at ``milestones``.\n\n"
    "Similar to ``torch.optim.lr_scheduler.SequentialLR``; see :class:`SequentialScheduler`.",
)
