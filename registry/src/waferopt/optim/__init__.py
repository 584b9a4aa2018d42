"""The front door: the API of ``cerebras.pytorch.optim`` on stock PyTorch.

``import waferopt.optim as optim`` can replace ``import cerebras.pytorch.optim as
optim``: the base classes, the ``configure_*`` functions, and every installed
optimizer by name (``optim.AdamW``), resolved through the plugin registry when
accessed. Schedulers are in :mod:`waferopt.optim.lr_scheduler` and
:mod:`waferopt.optim.weight_decay_scheduler`.
"""

from __future__ import annotations

from typing import Any

from waferopt.core import Kind, Optimizer
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


def build(model: Any, config: Any, **kwargs: Any) -> Any:
    """Build the optimizer, param groups and schedulers of a Model Zoo config.

    :func:`waferopt.modelzoo.build`, from the distribution ``waferopt-modelzoo``; see it
    for the arguments. Raises ``ModuleNotFoundError`` saying what to install when that
    distribution is not installed.
    """
    from waferopt.registry.install import require_module

    modelzoo = require_module("waferopt.modelzoo", "waferopt-modelzoo", what="optim.build")
    return modelzoo.build(model, config, **kwargs)


__getattr__, __dir__ = lazy_names(__name__, {Kind.OPTIMIZER}, __all__)
