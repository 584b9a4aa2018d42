"""Cerebras Model Zoo configs: ``optimizer:`` block → optimizer, param groups, schedulers.

``build(model, config)`` reads either config format (legacy ``optimizer_type: X`` and
trainer ``{X: {...}}`` + ``schedulers:``), makes the param groups Model Zoo makes
(weight-decay split, ``adjust_learning_rate`` factors, tagged groups), and returns
the optimizer, its schedulers and the trainer settings. ``waferopt check`` and
``waferopt plot`` (:mod:`.cli`) are built on it. Importing this package imports
neither PyYAML nor matplotlib.
"""

from __future__ import annotations

from .build import BuildResult, Report, build, inspect_config
from .formats import OptimizerSpec, load_config, parse_config
from .param_groups import (
    DEFAULT_LR_ADJUSTMENT_GROUPS,
    NORM_TYPES,
    ParamGroupInfo,
    build_param_groups,
    is_no_decay,
)

__all__ = [
    "DEFAULT_LR_ADJUSTMENT_GROUPS",
    "NORM_TYPES",
    "BuildResult",
    "OptimizerSpec",
    "ParamGroupInfo",
    "Report",
    "build",
    "build_param_groups",
    "inspect_config",
    "is_no_decay",
    "load_config",
    "parse_config",
]
