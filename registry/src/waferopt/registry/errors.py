"""Errors of the registry and of the ``configure_*`` functions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "NotInstalledError",
    "PluginConflictError",
    "PluginLoadError",
    "UnknownNameError",
    "WaferoptError",
    "closest",
    "closest_one",
    "join_path",
]


def closest(name: str, candidates: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The (at most ``n``) candidates closest to ``name``, ignoring case, best first.

    The one did-you-mean rule of the registry and of Model Zoo support: names of
    optimizers and schedulers, constructor arguments, layer types. Returns the
    candidates' own spellings.
    """
    lowered = {c.lower(): c for c in candidates}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=cutoff)
    return [lowered[m] for m in matches]


def closest_one(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The one candidate closest to ``name`` (see :func:`closest`), or None."""
    return next(iter(closest(name, candidates, 1, cutoff)), None)


def join_path(prefix: str, path: str) -> str:
    """``join_path("optimizer", "lr")`` is ``"optimizer.lr"``; ``("a", "[0]")`` is ``"a[0]"``."""
    if not prefix:
        return path
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


class WaferoptError(Exception):
    """Base class of every waferopt registry error."""


class ConfigError(WaferoptError, ValueError):
    """A configuration problem, located by ``path`` (``"learning_rate[1].total_iters"``).

    Args:
        message: what is wrong and what was expected.
        path: where in the configuration; empty for the top level.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

    def at(self, prefix: str) -> ConfigError:
        """The same error with ``prefix`` put before its path."""
        return type(self)(self.message, join_path(prefix, self.path))


class ConfigErrors(ConfigError):
    """Several configuration problems at once; ``errors`` holds each of them."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"{len(self.errors)} problems in the configuration:\n{lines}")

    def at(self, prefix: str) -> ConfigErrors:
        return ConfigErrors([e.at(prefix) for e in self.errors])

    @classmethod
    def raise_if_any(cls, errors: Iterable[ConfigError]) -> None:
        """Raise the single error, or all of them together, if there are any."""
        errors = list(errors)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise cls(errors)


class UnknownNameError(ConfigError, KeyError):
    """A name that no installed plugin registers (the message lists the closest ones)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return ConfigError.__str__(self)


class NotInstalledError(UnknownNameError):
    """A first-party name whose distribution is not installed (the message names it)."""


class PluginConflictError(WaferoptError, ValueError):
    """Two plugins register the same name; the message names both distributions."""


class PluginLoadError(WaferoptError, ImportError):
    """A registered class could not be imported."""
