"""Shared machinery: a scheduler bound to a param-group key given at construction,
argument checks that name the argument as the caller spelled it, and child evaluation."""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, ClassVar

import torch

from waferopt.core import Optimizer, Scheduler

__all__ = ["KeyedScheduler", "alias", "evaluate_at"]


def alias(stored: str, doc: str = "") -> property:
    """A read/write property that stores its value under another attribute name.

    The LR classes keep their arguments under the LR names (``initial_learning_rate``)
    and expose the generic names (``initial_val``) as aliases, as Cerebras does, so
    that their ``state_dict`` keys are the LR names.
    """

    def fget(self: Any) -> Any:
        return getattr(self, stored)

    def fset(self: Any, value: Any) -> None:
        setattr(self, stored, value)

    return property(fget, fset, doc=doc or f"Alias of ``{stored}``.")


def evaluate_at(child: Scheduler, step: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Value of ``child`` at ``step``: sets the child's ``last_epoch`` in place, then
    evaluates its closed form (works for any :class:`waferopt.core.Scheduler`)."""
    child.last_epoch.copy_(step)
    return child._get_closed_form().to(dtype)


class KeyedScheduler(Scheduler):
    """A :class:`~waferopt.core.Scheduler` whose param-group key is an argument.

    Subclasses call ``super().__init__(optimizer, param_group_key, total_iters, ...)``
    after setting their own attributes. ``_arg_names`` maps a generic argument name
    (``initial_val``) to the name this class takes (``initial_learning_rate``), so
    that validation errors name the argument the caller wrote.
    """

    _arg_names: ClassVar[dict[str, str]] = {}
    # The key is a constructor argument, not state; a cache of constant tensors is
    # rebuilt on demand (core's state_dict copies tensors).
    _not_saved: tuple[str, ...] = (*Scheduler._not_saved, "_param_group_key", "_tensor_cache")

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        total_iters: int | None,
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        if not isinstance(param_group_key, str):
            raise TypeError(
                f"{type(self).__name__}: param_group_key must be a str such as 'lr', 'momentum' "
                f"or 'betas[0]', got {type(param_group_key).__name__} {param_group_key!r}"
            )
        self._param_group_key = param_group_key
        super().__init__(
            optimizer, total_iters, last_epoch=last_epoch, param_group_tags=param_group_tags
        )

    @property
    def param_group_key(self) -> str:
        return self._param_group_key

    # ------------------------------------------------------------------ argument checks
    def _name(self, generic: str) -> str:
        return self._arg_names.get(generic, generic)

    def _error_prefix(self, generic: str) -> str:
        return f"{type(self).__name__}: {self._name(generic)}"

    def _number(
        self, generic: str, value: Any, *, positive: bool = False, non_negative: bool = False
    ) -> float:
        """A finite real number (a 0-d tensor is read once, here at construction)."""
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
            value = float(value.detach().cpu())
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{self._error_prefix(generic)} must be a number, got {type(value).__name__} {value!r}"
            )
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{self._error_prefix(generic)} must be finite, got {value!r}")
        if positive and not number > 0:
            raise ValueError(f"{self._error_prefix(generic)} must be > 0, got {value!r}")
        if non_negative and not number >= 0:
            raise ValueError(f"{self._error_prefix(generic)} must be >= 0, got {value!r}")
        return number

    def _integer(self, generic: str, value: Any, *, minimum: int = 0) -> int:
        """An int (an integral float such as ``1000.0`` is accepted) >= ``minimum``."""
        if isinstance(value, bool):
            raise TypeError(f"{self._error_prefix(generic)} must be an int, got bool {value!r}")
        if isinstance(value, numbers.Integral) or (
            isinstance(value, numbers.Real)
            and math.isfinite(float(value))
            and float(value).is_integer()
        ):
            number = int(float(value)) if not isinstance(value, numbers.Integral) else int(value)
        elif isinstance(value, numbers.Real):
            raise ValueError(f"{self._error_prefix(generic)} must be an integer, got {value!r}")
        else:
            raise TypeError(
                f"{self._error_prefix(generic)} must be an int, got {type(value).__name__} {value!r}"
            )
        if number < minimum:
            raise ValueError(f"{self._error_prefix(generic)} must be >= {minimum}, got {value!r}")
        return number

    def _flag(self, generic: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError(
                f"{self._error_prefix(generic)} must be a bool, got {type(value).__name__} {value!r}"
            )
        return value

    def _choice(self, generic: str, value: Any, choices: tuple[Any, ...]) -> Any:
        if value not in choices:
            raise ValueError(
                f"{self._error_prefix(generic)} must be one of {list(choices)}, got {value!r}"
            )
        return value

    def _int_list(self, generic: str, value: Any, *, increasing: bool = False) -> list[int]:
        if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"{self._error_prefix(generic)} must be a list of ints, got {type(value).__name__} {value!r}"
            )
        items = [self._integer(f"{generic}[{i}]", v) for i, v in enumerate(value)]
        if increasing and any(b <= a for a, b in itertools.pairwise(items)):
            raise ValueError(
                f"{self._error_prefix(generic)} must be strictly increasing, got {items}"
            )
        return items

    def _number_list(self, generic: str, value: Any) -> list[float]:
        if not isinstance(value, (list, tuple)) or not value:
            raise TypeError(
                f"{self._error_prefix(generic)} must be a non-empty list of numbers, got {value!r}"
            )
        return [self._number(f"{generic}[{i}]", v) for i, v in enumerate(value)]

    # ------------------------------------------------------------------ helpers for shapes
    def _cached_tensor(self, values: list[int] | list[float], dtype: torch.dtype) -> torch.Tensor:
        """``values`` as a tensor of ``dtype`` on the device, cached (not saved)."""
        cache = self.__dict__.setdefault("_tensor_cache", {})
        device = self.device
        key = (dtype, tuple(values), device)
        if key not in cache:
            cache[key] = torch.tensor(values, dtype=dtype, device=device)
        return cache[key]
