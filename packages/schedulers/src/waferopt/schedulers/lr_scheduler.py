"""Learning-rate schedulers: every shape and composite bound to the ``"lr"`` key.

The classes are defined once, each in its shape's file under
:mod:`waferopt.schedulers.shapes` (or :mod:`waferopt.schedulers.composites`), with the
argument names of ``cerebras.pytorch.optim.lr_scheduler`` (``initial_learning_rate``,
``end_learning_rate``, ``learning_rate``, ``learning_rates``, ``base_lr``,
``max_lr``); the generic names (``initial_val``, ``end_val``, ...) are properties
over them. Values are written into the param groups as 0-d float32 tensors, in place
once a tensor is there.
"""

from __future__ import annotations

from typing import Any

from waferopt.core import LRScheduler as LRScheduler

from ._index import namespace

_CLASSES = namespace(0)
globals().update(_CLASSES)
ChainedScheduler = _CLASSES["ChainedLR"]
"""Alias of ``ChainedLR`` (``cerebras.pytorch.optim.lr_scheduler.ChainedScheduler``)."""

__all__ = sorted([*_CLASSES, "ChainedScheduler", "LRScheduler"])


def __getattr__(name: str) -> Any:  # for type checkers: the names above are dynamic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
