"""One scheduler scaled per param group by the group's factor."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from waferopt.core import Optimizer, Scheduler
from waferopt.core.schedule import checks

from ._base import Composite, composite_bindings

_number = checks.number()


class ScalePerParamScheduler(Composite):
    """Scales one scheduler's value by a per-group factor.

    Group ``g`` receives ``S(t) * a_g`` where ``a_g`` is the group's
    ``adjust_learning_rate`` (or ``adjust_val``) at construction, 1.0 if it has none;
    groups the tags do not match receive nothing.

    Args:
        optimizer: the optimizer the child drives.
        scheduler: the scheduler to scale.
        param_group_tags: the child's tags (adopted from it when None).
    """

    composite: ClassVar[str | None] = "wrapper"
    children_argument: ClassVar[str] = "scheduler"
    _children_attr: ClassVar[str] = "_scheduler"
    _factor_keys: tuple[str, ...] = ("adjust_learning_rate", "adjust_val")
    state_keys = (*Composite.state_keys, "lr_adjustment_scalars")

    def __init__(
        self, optimizer: Optimizer, scheduler: Scheduler, param_group_tags: Any = None
    ) -> None:
        if not isinstance(scheduler, Scheduler):
            raise TypeError(
                f"{type(self).__name__}: scheduler must be a waferopt Scheduler, got {type(scheduler).__name__}"
            )
        optimizer, key, tags = self._check_children(optimizer, [scheduler], param_group_tags)
        self._scheduler = scheduler
        self.lr_adjustment_scalars = [
            self._read_factor(index, g) for index, g in enumerate(optimizer.param_groups)
        ]
        super().__init__(optimizer, key, scheduler.total_iters, param_group_tags=tags)

    def _read_factor(self, index: int, group: dict[str, Any]) -> float:
        for key in self._factor_keys:
            if key in group:
                return _number(group[key], f"{type(self).__name__}: param_groups[{index}][{key!r}]")  # type: ignore[no-any-return]
        return 1.0

    def _children(self) -> list[Scheduler]:
        return [self._scheduler]

    def _check_hyperparameters(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        if "lr_adjustment_scalars" not in state_dict:
            return {}
        value = state_dict["lr_adjustment_scalars"]
        where = f"{type(self).__name__}.load_state_dict: lr_adjustment_scalars"
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list of numbers, got {value!r}")
        return {"lr_adjustment_scalars": [_number(v, f"{where}[{i}]") for i, v in enumerate(value)]}

    def _value_host(self, step: int) -> float:
        return self._scheduler._value_host(step)

    def _value_tensor(self, step: torch.Tensor) -> torch.Tensor:
        return self._scheduler._value_tensor(step).to(self.compute_dtype)

    def _get_closed_form(self) -> torch.Tensor:
        return self._value_tensor(self.last_epoch)

    def _factor(self, index: int) -> float:
        factors = self.lr_adjustment_scalars
        return factors[index] if index < len(factors) else 1.0

    def _values_host(self, step: int) -> list[float | None]:  # type: ignore[override]
        value = self._value_host(step)
        return [
            value * self._factor(i) if self._should_apply_to_param_group(group) else None
            for i, group in enumerate(self.optimizer.param_groups)
        ]

    def _values_per_group(self) -> list[torch.Tensor | None]:
        value = self._get_closed_form()
        return [
            (value * self._factor(i)).to(self.value_dtype)
            if self._should_apply_to_param_group(group)
            else None
            for i, group in enumerate(self.optimizer.param_groups)
        ]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_scheduler"] = state["_scheduler"][0]
        state["_scheduler"].pop("_get_called_within_step", None)
        return state


ScalePerParamLR, ScalePerParamWD = composite_bindings(
    ScalePerParamScheduler,
    "Scales a learning-rate scheduler per param group by the group's factor.\n\n"
    "The factor is the group's ``adjust_learning_rate`` (or ``adjust_val``), 1 if absent.",
    "Scales a weight-decay scheduler per param group by the group's factor.\n\n"
    "The factor is the group's ``adjust_learning_rate`` (or ``adjust_val``), 1 if absent.",
)
