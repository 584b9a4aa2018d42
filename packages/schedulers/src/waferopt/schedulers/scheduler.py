"""Generic schedulers: every shape and composite, bound to any param-group key.

Each ``<Name>Scheduler`` takes the key as ``param_group_key`` (``"lr"``,
``"weight_decay"``, ``"momentum"``, ``"betas[0]"``, ...); the ``*LR`` and ``*WD``
classes are its subclasses with the key fixed and the spec's argument names.

Example:
    >>> import torch
    >>> from waferopt.schedulers import CosineDecayScheduler
    >>> # optimizer: any waferopt optimizer whose groups hold "momentum"
    >>> # sched = CosineDecayScheduler(optimizer, "momentum", initial_val=0.95,
    >>> #                              end_val=0.85, total_iters=1000)
"""

from __future__ import annotations

from typing import Any

from ._index import namespace

_CLASSES = namespace(2)
globals().update(_CLASSES)

__all__ = sorted(_CLASSES)


def __getattr__(name: str) -> Any:  # for type checkers: the names above are dynamic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
