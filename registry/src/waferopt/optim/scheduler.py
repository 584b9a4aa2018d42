"""``optim.scheduler``: the ``Scheduler`` base and every installed scheduler class by name."""

from __future__ import annotations

from waferopt.core import Kind, Scheduler

from ._lazy import lazy_names

__all__ = ["Scheduler"]

__getattr__, __dir__ = lazy_names(
    __name__, {Kind.SCHEDULER, Kind.LR_SCHEDULER, Kind.WD_SCHEDULER}, __all__
)
