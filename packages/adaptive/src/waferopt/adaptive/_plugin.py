"""The waferopt plugin of this distribution (entry point ``waferopt: adaptive``)."""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl


@hookimpl
def register_optimizers() -> list[Registration]:
    """The four optimizers of waferopt-adaptive, imported lazily on first use."""
    return [
        Registration(
            "Adadelta",
            Kind.OPTIMIZER,
            "waferopt.adaptive.adadelta:Adadelta",
            description="Adadelta: step sizes from running averages of squared gradients and updates",
        ),
        Registration(
            "Adagrad",
            Kind.OPTIMIZER,
            "waferopt.adaptive.adagrad:Adagrad",
            description="Adagrad: per-coordinate step sizes from the sum of squared gradients",
        ),
        Registration(
            "Adafactor",
            Kind.OPTIMIZER,
            "waferopt.adaptive.adafactor:Adafactor",
            description="Adafactor: factored second moment, HuggingFace semantics",
        ),
        Registration(
            "RMSprop",
            Kind.OPTIMIZER,
            "waferopt.adaptive.rmsprop:RMSprop",
            description="RMSprop with momentum and centering",
        ),
    ]
