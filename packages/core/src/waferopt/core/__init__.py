"""waferopt core: the base optimizer, the scheduler machinery and the plugin interface.

Every other waferopt distribution depends on this one alone.
"""

from __future__ import annotations

from ._version import __version__
from .authoring import DeclaredOptimizer, Hyperparameter, StateSpec
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .optimizer import Optimizer
from .plugins import (
    ENTRY_POINT_GROUP,
    PROJECT_NAME,
    HookSpecs,
    Kind,
    Registration,
    hookimpl,
    hookspec,
)
from .schedule import Arg, Schedule, ScheduleScheduler
from .scheduler import (
    LRScheduler,
    Scheduler,
    WeightDecayScheduler,
    group_matches,
    normalize_tags,
    parse_group_key,
    read_group_value,
    write_group_value,
)
from .validation import (
    check_betas,
    check_finite,
    check_non_negative,
    check_params_not_empty,
    check_sparse,
    check_unit_interval,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "Arg",
    "CheckpointError",
    "DeclaredOptimizer",
    "HookSpecs",
    "Hyperparameter",
    "Kind",
    "LRScheduler",
    "Optimizer",
    "Registration",
    "Schedule",
    "ScheduleScheduler",
    "Scheduler",
    "StateSpec",
    "WeightDecayScheduler",
    "__version__",
    "check_betas",
    "check_finite",
    "check_non_negative",
    "check_params_not_empty",
    "check_sparse",
    "check_unit_interval",
    "group_matches",
    "hookimpl",
    "hookspec",
    "load_checkpoint",
    "normalize_tags",
    "parse_group_key",
    "read_group_value",
    "save_checkpoint",
    "write_group_value",
]
