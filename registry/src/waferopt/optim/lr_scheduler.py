"""``optim.lr_scheduler``: the ``LRScheduler`` base and every installed lr_scheduler class by name."""

from __future__ import annotations

from waferopt.core import Kind, LRScheduler

from ._lazy import lazy_names

__all__ = ["LRScheduler"]

__getattr__, __dir__ = lazy_names(__name__, {Kind.LR_SCHEDULER}, __all__)
