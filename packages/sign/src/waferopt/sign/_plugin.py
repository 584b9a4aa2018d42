"""The waferopt plugin of this distribution (entry point ``waferopt: sign``)."""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl


@hookimpl
def register_optimizers() -> list[Registration]:
    """The two optimizers of waferopt-sign, imported lazily on first use."""
    return [
        Registration(
            "Lion",
            Kind.OPTIMIZER,
            "waferopt.sign.lion:Lion",
            description="Lion: sign of an interpolated momentum, decoupled weight decay",
        ),
        Registration(
            "Rprop",
            Kind.OPTIMIZER,
            "waferopt.sign.rprop:Rprop",
            description="Rprop: resilient backpropagation with per-coordinate step sizes",
        ),
    ]
