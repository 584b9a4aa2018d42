"""The waferopt plugin of this distribution (entry point ``waferopt: modern``)."""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl


@hookimpl
def register_optimizers() -> list[Registration]:
    """The four optimizers of waferopt-modern, imported lazily on first use."""
    return [
        Registration(
            "Muon",
            Kind.OPTIMIZER,
            "waferopt.modern.muon:Muon",
            description="Muon: Newton-Schulz orthogonalized momentum for matrices, AdamW groups for the rest",
        ),
        Registration(
            "AdamWScheduleFree",
            Kind.OPTIMIZER,
            "waferopt.modern.schedule_free:AdamWScheduleFree",
            description="Schedule-free AdamW: iterate averaging instead of an LR decay, train()/eval()",
        ),
        Registration(
            "Prodigy",
            Kind.OPTIMIZER,
            "waferopt.modern.prodigy:Prodigy",
            description="Prodigy: Adam with a learning rate estimated from the distance to the solution",
        ),
        Registration(
            "AdEMAMix",
            Kind.OPTIMIZER,
            "waferopt.modern.ademamix:AdEMAMix",
            description="AdEMAMix: Adam with a mixture of a fast and a slow gradient average",
        ),
    ]
