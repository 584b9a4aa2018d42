"""waferopt schedulers: every learning-rate, weight-decay and generic scheduler.

Each schedule shape lives in one file of :mod:`waferopt.schedulers.shapes`: its
formula (a pure function of the step), its arguments and the three classes derived
from it by :mod:`waferopt.core.schedule`: ``XLR`` drives ``"lr"``, ``XWD``
``"weight_decay"``, and the generic ``XScheduler`` any key given as
``param_group_key`` (``"momentum"``, ``"betas[0]"``, ...). The schedulers built from
other schedulers (Sequential, Chained, ScalePerParam) live in
:mod:`waferopt.schedulers.composites`.
"""

from typing import Any

from . import composites as composites
from . import lr_scheduler as lr_scheduler
from . import scheduler as scheduler
from . import shapes as shapes
from . import weight_decay_scheduler as weight_decay_scheduler
from ._index import namespace
from ._version import __version__ as __version__

_CLASSES = {**namespace(0), **namespace(1), **namespace(2)}
globals().update(_CLASSES)
ChainedScheduler = _CLASSES["ChainedLR"]
LRScheduler = lr_scheduler.LRScheduler
WeightDecayScheduler = weight_decay_scheduler.WeightDecayScheduler

__all__ = sorted(
    {
        *_CLASSES,
        "ChainedScheduler",
        "LRScheduler",
        "WeightDecayScheduler",
        "__version__",
        "composites",
        "lr_scheduler",
        "scheduler",
        "shapes",
        "weight_decay_scheduler",
    }
)


def __getattr__(name: str) -> Any:  # for type checkers: the names above are dynamic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
