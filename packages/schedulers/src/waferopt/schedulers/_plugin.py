"""The waferopt plugin of this distribution (entry point ``waferopt: schedulers``).

The records come from the shape and composite files read as text
(:mod:`waferopt.schedulers._names`: their class names, aliases and one-line
summaries), so listing them imports neither a shape nor torch; each names its class
lazily as ``"module:Class"``.
"""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl

_M = "waferopt.schedulers"


@hookimpl
def register_schedulers() -> list[Registration]:
    from ._names import entries

    records: list[Registration] = []
    for lr, wd, generic, description, lr_aliases in entries():
        records.append(
            Registration(
                lr,
                Kind.LR_SCHEDULER,
                f"{_M}.lr_scheduler:{lr}",
                aliases=lr_aliases,
                description=f"{description} (learning rate)",
            )
        )
        records.append(
            Registration(
                wd,
                Kind.WD_SCHEDULER,
                f"{_M}.weight_decay_scheduler:{wd}",
                description=f"{description} (weight decay)",
            )
        )
        records.append(
            Registration(
                generic,
                Kind.SCHEDULER,
                f"{_M}.scheduler:{generic}",
                description=f"{description} (any param-group key)",
            )
        )
    return records
