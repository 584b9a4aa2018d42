"""waferopt core: the base optimizer, the scheduler machinery and the plugin interface.

Every other waferopt distribution depends on this one alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__
from .plugins import (
    ENTRY_POINT_GROUP,
    PROJECT_NAME,
    HookSpecs,
    Kind,
    Registration,
    hookimpl,
    hookspec,
)

if TYPE_CHECKING:
    from .authoring import (
        DeclaredOptimizer,
        GroupState,
        Hyperparameter,
        StateSpec,
    )
    from .checkpoint import (
        CheckpointError,
        load_checkpoint,
        save_checkpoint,
    )
    from .optimizer import (
        Optimizer,
    )
    from .schedule import (
        Arg,
        Schedule,
        ScheduleScheduler,
    )
    from .scheduler import (
        LRScheduler,
        ScheduledValueError,
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

# Imported on first use, so that a plugin module (``from waferopt.core import
# hookimpl``) and ``waferopt --help`` do not import torch.
_LAZY = {
    "DeclaredOptimizer": ".authoring",
    "GroupState": ".authoring",
    "Hyperparameter": ".authoring",
    "StateSpec": ".authoring",
    "CheckpointError": ".checkpoint",
    "load_checkpoint": ".checkpoint",
    "save_checkpoint": ".checkpoint",
    "Optimizer": ".optimizer",
    "Arg": ".schedule",
    "Schedule": ".schedule",
    "ScheduleScheduler": ".schedule",
    "LRScheduler": ".scheduler",
    "ScheduledValueError": ".scheduler",
    "Scheduler": ".scheduler",
    "WeightDecayScheduler": ".scheduler",
    "group_matches": ".scheduler",
    "normalize_tags": ".scheduler",
    "parse_group_key": ".scheduler",
    "read_group_value": ".scheduler",
    "write_group_value": ".scheduler",
    "check_betas": ".validation",
    "check_finite": ".validation",
    "check_non_negative": ".validation",
    "check_params_not_empty": ".validation",
    "check_sparse": ".validation",
    "check_unit_interval": ".validation",
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "Arg",
    "CheckpointError",
    "DeclaredOptimizer",
    "GroupState",
    "HookSpecs",
    "Hyperparameter",
    "Kind",
    "LRScheduler",
    "Optimizer",
    "Registration",
    "Schedule",
    "ScheduleScheduler",
    "ScheduledValueError",
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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
