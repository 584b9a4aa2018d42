"""The waferopt plugin of this distribution (entry point ``waferopt: schedulers``).

The records are derived from the shapes and composites themselves (their class
names, aliases and one-line summaries); each names its class lazily as
``"module:Class"``.
"""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl

_M = "waferopt.schedulers"


@hookimpl
def register_schedulers() -> list[Registration]:
    from ._index import ENTRIES

    records: list[Registration] = []
    for lr, wd, generic, description, lr_aliases in ENTRIES:
        records.append(
            Registration(
                lr.__name__,
                Kind.LR_SCHEDULER,
                f"{_M}.lr_scheduler:{lr.__name__}",
                aliases=lr_aliases,
                description=f"{description} (learning rate)",
            )
        )
        records.append(
            Registration(
                wd.__name__,
                Kind.WD_SCHEDULER,
                f"{_M}.weight_decay_scheduler:{wd.__name__}",
                description=f"{description} (weight decay)",
            )
        )
        records.append(
            Registration(
                generic.__name__,
                Kind.SCHEDULER,
                f"{_M}.scheduler:{generic.__name__}",
                description=f"{description} (any param-group key)",
            )
        )
    return records
