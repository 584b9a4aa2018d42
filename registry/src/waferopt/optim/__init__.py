"""The front door: the API of ``cerebras.pytorch.optim`` on stock PyTorch.

``import waferopt.optim as optim`` can replace ``import cerebras.pytorch.optim as
optim``: the base classes, the ``configure_*`` functions, and every installed
optimizer by name (``optim.AdamW``), resolved through the plugin registry when
accessed. Schedulers are in :mod:`waferopt.optim.lr_scheduler` and
:mod:`waferopt.optim.weight_decay_scheduler`.
"""

from __future__ import annotations

from waferopt.core import Kind, Optimizer
from waferopt.registry.modelzoo import build
from waferopt.registry.optimizer_config import configure_optimizer, configure_optimizer_params
from waferopt.registry.schedulers_config import (
    configure_lr_scheduler,
    configure_scheduler,
    configure_scheduler_params,
)

from . import lr_scheduler, scheduler, weight_decay_scheduler
from ._lazy import lazy_names

__all__ = [
    "Optimizer",
    "build",
    "configure_lr_scheduler",
    "configure_optimizer",
    "configure_optimizer_params",
    "configure_scheduler",
    "configure_scheduler_params",
    "lr_scheduler",
    "scheduler",
    "weight_decay_scheduler",
]

__getattr__, __dir__ = lazy_names(__name__, {Kind.OPTIMIZER}, __all__)
