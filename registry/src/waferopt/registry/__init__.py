"""waferopt registry: plugin discovery and the ``configure_*`` functions.

The front door for users is :mod:`waferopt.optim`; this package is what it is built on.
Discovery and the errors import no torch (``waferopt plugins`` lists names from the
plugins' lazy records); ``configure_optimizer`` and friends are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from waferopt.core._lazy import lazy_exports

from ._version import __version__
from .discovery import Entry, PluginFailure, PluginInfo, Registry, get_registry, reset_registry
from .errors import (
    ConfigError,
    ConfigErrors,
    NotInstalledError,
    PluginConflictError,
    PluginLoadError,
    UnknownNameError,
    WaferoptError,
)

if TYPE_CHECKING:
    from .optimizer_config import configure_optimizer, configure_optimizer_params

_LAZY = {
    "configure_optimizer": ".optimizer_config",
    "configure_optimizer_params": ".optimizer_config",
}

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "Entry",
    "NotInstalledError",
    "PluginConflictError",
    "PluginFailure",
    "PluginInfo",
    "PluginLoadError",
    "Registry",
    "UnknownNameError",
    "WaferoptError",
    "__version__",
    "configure_optimizer",
    "configure_optimizer_params",
    "get_registry",
    "reset_registry",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
