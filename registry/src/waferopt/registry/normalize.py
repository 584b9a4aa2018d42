"""Normalisation of Model Zoo style values shared by every ``configure_*`` path.

Decision 11: YAML loads ``1e-06`` (no dot) as a string; such numeric strings are
converted, with a warning. Decision 12: the deprecated 1.x names are translated,
with a ``DeprecationWarning`` naming the new key.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, join_path

__all__ = ["coerce_number", "coerce_numbers", "translate_deprecated"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def coerce_number(value: Any, path: str = "") -> Any:
    """Return ``value`` with a numeric string turned into an ``int`` or ``float``.

    Anything else is returned unchanged. A conversion warns (``UserWarning``) naming
    the key path.
    """
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        text = value.strip()
        number: int | float = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        warnings.warn(
            f"{path or 'value'}: the string {value!r} was converted to the number {number!r} "
            "(YAML reads exponents without a dot, such as 1e-06, as strings)",
            UserWarning,
            stacklevel=3,
        )
        return number
    return value


def coerce_numbers(value: Any, path: str = "") -> Any:
    """:func:`coerce_number` applied through lists and tuples (``eps: ['1e-30', 1e-3]``)."""
    if isinstance(value, (list, tuple)):
        return type(value)(coerce_numbers(v, f"{path}[{i}]") for i, v in enumerate(value))
    return coerce_number(value, path)


def translate_deprecated(
    kwargs: Mapping[str, Any], aliases: Mapping[str, str], path: str = ""
) -> dict[str, Any]:
    """Rename deprecated keys: ``aliases`` maps an old key to its new one.

    Returns a new dict. Raises :class:`ConfigError` when the old and the new key are
    both given.
    """
    out = dict(kwargs)
    for old, new in aliases.items():
        if old not in out:
            continue
        if new in out:
            raise ConfigError(
                f"both {old!r} (deprecated) and {new!r} are given; keep only {new!r}",
                join_path(path, old),
            )
        warnings.warn(
            f"{join_path(path, old)}: {old!r} is a deprecated name; use {new!r}",
            DeprecationWarning,
            stacklevel=3,
        )
        out[new] = out.pop(old)
    return out
