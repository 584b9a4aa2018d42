"""The waferopt plugin of this distribution (entry point ``waferopt: sgd``)."""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl


@hookimpl
def register_optimizers() -> list[Registration]:
    return [
        Registration(
            "SGD",
            Kind.OPTIMIZER,
            "waferopt.sgd.sgd:SGD",
            description="Stochastic gradient descent with momentum, dampening and Nesterov",
        ),
        Registration(
            "ASGD",
            Kind.OPTIMIZER,
            "waferopt.sgd.asgd:ASGD",
            description="Averaged stochastic gradient descent",
        ),
    ]
