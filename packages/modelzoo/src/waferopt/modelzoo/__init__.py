"""Cerebras Model Zoo configs: ``optimizer:`` block → optimizer, param groups, schedulers.

``build(model, config)`` reads either config format (legacy ``optimizer_type: X`` and
trainer ``{X: {...}}`` + ``schedulers:``), makes the param groups Model Zoo makes
(weight-decay split, ``adjust_learning_rate`` factors, tagged groups), and returns
the optimizer, its schedulers and the trainer settings. ``waferopt check`` and
``waferopt plot`` (:mod:`.cli`) are built on it. The keys of the optimizer block and
their roles are one table, :mod:`waferopt.registry.config_keys` (re-exported here as
``KEYS``).

Names are imported on first use: importing this package (or its ``waferopt``
plugin) imports neither torch, PyYAML nor matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from waferopt.core._lazy import lazy_exports
from waferopt.registry.config_keys import KEYS, ConfigKey, Role

from ._version import __version__

if TYPE_CHECKING:
    from .builder import BuildResult, Report, build, inspect_config
    from .formats import OptimizerSpec, load_config, parse_config
    from .param_groups import (
        DEFAULT_LR_ADJUSTMENT_GROUPS,
        LR_FACTOR_KEY,
        NORM_TYPES,
        ParamGroupInfo,
        build_param_groups,
        is_no_decay,
    )

_LAZY = {
    "BuildResult": ".builder",
    "Report": ".builder",
    "build": ".builder",
    "inspect_config": ".builder",
    "OptimizerSpec": ".formats",
    "load_config": ".formats",
    "parse_config": ".formats",
    "DEFAULT_LR_ADJUSTMENT_GROUPS": ".param_groups",
    "LR_FACTOR_KEY": ".param_groups",
    "NORM_TYPES": ".param_groups",
    "ParamGroupInfo": ".param_groups",
    "build_param_groups": ".param_groups",
    "is_no_decay": ".param_groups",
}

__all__ = [
    "DEFAULT_LR_ADJUSTMENT_GROUPS",
    "KEYS",
    "LR_FACTOR_KEY",
    "NORM_TYPES",
    "BuildResult",
    "ConfigKey",
    "OptimizerSpec",
    "ParamGroupInfo",
    "Report",
    "Role",
    "__version__",
    "build",
    "build_param_groups",
    "inspect_config",
    "is_no_decay",
    "load_config",
    "parse_config",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
