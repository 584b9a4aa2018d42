"""The waferopt plugin module of this distribution (entry point ``waferopt: example``).

Each hook returns records naming classes lazily (``"module:Class"``), so that
listing what is installed (``waferopt plugins``) imports nothing heavy.
"""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl


@hookimpl
def register_optimizers() -> list[Registration]:
    return [
        Registration(
            "Adan",
            Kind.OPTIMIZER,
            "waferopt_example_plugin.adan:Adan",
            description="Adaptive Nesterov momentum (Xie et al. 2022)",
        )
    ]


@hookimpl
def register_schedulers() -> list[Registration]:
    return [
        Registration(
            "WarmupStableDecayLR",
            Kind.LR_SCHEDULER,
            "waferopt_example_plugin.wsd:WarmupStableDecayLR",
            aliases=("WSDLR",),
            description="Linear warmup, constant, then a 1-sqrt / linear / cosine cooldown",
        )
    ]
