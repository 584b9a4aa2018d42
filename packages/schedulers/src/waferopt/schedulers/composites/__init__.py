"""Composites: schedulers built from other schedulers (Sequential, Chained, ScalePerParam).

Each evaluates its children through their pure closed forms, never by changing them.
"""

from __future__ import annotations

from .chained import ChainedGenericScheduler, ChainedLR, ChainedScheduler, ChainedWD
from .scale_per_param import ScalePerParamLR, ScalePerParamScheduler, ScalePerParamWD
from .sequential import SequentialLR, SequentialScheduler, SequentialWD

COMPOSITES: tuple[tuple[type, type, type, str, tuple[str, ...]], ...] = (
    (
        SequentialLR,
        SequentialWD,
        SequentialScheduler,
        "Schedulers one after another at milestones",
        (),
    ),
    (
        ChainedLR,
        ChainedWD,
        ChainedGenericScheduler,
        "Product of schedulers relative to their initial values",
        ("ChainedScheduler",),  # the spec's name
    ),
    (
        ScalePerParamLR,
        ScalePerParamWD,
        ScalePerParamScheduler,
        "A scheduler scaled per param group",
        (),
    ),
)
"""(LR class, WD class, any-key class, one-line description, other names the registry
accepts for the LR class) of each composite; the plugin reads this table from the
source (:mod:`waferopt.schedulers._names`), so its entries stay literals."""

__all__ = [
    "ChainedGenericScheduler",
    "ChainedLR",
    "ChainedScheduler",
    "ChainedWD",
    "ScalePerParamLR",
    "ScalePerParamScheduler",
    "ScalePerParamWD",
    "SequentialLR",
    "SequentialScheduler",
    "SequentialWD",
]
