"""The waferopt plugin module of this distribution (entry point ``waferopt: example``).

Each hook returns records naming classes lazily (``"module:Class"``), so that
listing what is installed (``waferopt plugins``) imports nothing heavy.
"""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl

_REX = "Reflected-exponential decay for budgeted training (REX, Chen et al. 2022)"


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
    module = "waferopt_example_plugin.rex"
    return [
        Registration(
            "RexLR",
            Kind.LR_SCHEDULER,
            f"{module}:RexLR",
            aliases=("ReflectedExponentialLR",),
            description=f"{_REX} (learning rate)",
        ),
        Registration(
            "RexWD", Kind.WD_SCHEDULER, f"{module}:RexWD", description=f"{_REX} (weight decay)"
        ),
        Registration(
            "RexScheduler",
            Kind.SCHEDULER,
            f"{module}:RexScheduler",
            description=f"{_REX} (any param-group key)",
        ),
    ]
