"""Weight-decay schedulers: every shape and composite bound to the ``"weight_decay"`` key.

The classes are defined once, each in its shape's file under
:mod:`waferopt.schedulers.shapes` (or :mod:`waferopt.schedulers.composites`), with the
argument names of ``cerebras.pytorch.optim.weight_decay_scheduler`` (``initial_val``,
``end_val``, ``val``, ``vals``, ``base_val``, ``max_val``).
"""

from __future__ import annotations

from typing import Any

from waferopt.core import WeightDecayScheduler as WeightDecayScheduler

from ._index import namespace

_CLASSES = namespace(1)
globals().update(_CLASSES)

__all__ = sorted([*_CLASSES, "WeightDecayScheduler"])


def __getattr__(name: str) -> Any:  # for type checkers: the names above are dynamic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
