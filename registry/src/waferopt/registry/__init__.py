"""waferopt registry: plugin discovery and the ``configure_*`` functions.

The front door for users is :mod:`waferopt.optim`; this package is what it is built on.
"""

from __future__ import annotations

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
from .optimizer_config import configure_optimizer, configure_optimizer_params

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
