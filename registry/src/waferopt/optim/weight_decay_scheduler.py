"""``optim.weight_decay_scheduler``: the ``WeightDecayScheduler`` base and every installed wd_scheduler class by name."""

from __future__ import annotations

from waferopt.core import Kind, WeightDecayScheduler

from ._lazy import lazy_names

__all__ = ["WeightDecayScheduler"]

__getattr__, __dir__ = lazy_names(__name__, {Kind.WD_SCHEDULER}, __all__)
