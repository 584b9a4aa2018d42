"""The argument checks the optimizers of this package share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from waferopt.core import check_non_negative

__all__ = ["check_choice", "check_int", "check_positive"]


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
