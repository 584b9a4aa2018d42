"""waferopt schedulers: every learning-rate, weight-decay and generic scheduler.

Each schedule shape is a pure function of the step (:mod:`waferopt.schedulers.shapes`),
bound to a param-group key by a thin class: the ``*LR`` classes drive ``"lr"``, the
``*WD`` classes ``"weight_decay"``, and the generic ``*Scheduler`` classes any key
given as ``param_group_key`` (``"momentum"``, ``"betas[0]"``, ...).
"""

from . import lr_scheduler as lr_scheduler
from . import shapes as shapes
from . import weight_decay_scheduler as weight_decay_scheduler
from ._version import __version__ as __version__
from .lr_scheduler import *  # noqa: F403
from .lr_scheduler import __all__ as _lr_all
from .scheduler import *  # noqa: F403
from .scheduler import __all__ as _generic_all
from .weight_decay_scheduler import *  # noqa: F403
from .weight_decay_scheduler import __all__ as _wd_all

__all__ = sorted(
    {
        *_lr_all,
        *_wd_all,
        *_generic_all,
        "__version__",
        "lr_scheduler",
        "shapes",
        "weight_decay_scheduler",
    }
)
