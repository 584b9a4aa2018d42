"""The waferopt plugin of this distribution (entry point ``waferopt: adam``)."""

from __future__ import annotations

from waferopt.core import Kind, Registration, hookimpl


@hookimpl
def register_optimizers() -> list[Registration]:
    return [
        Registration(
            "AdamBase",
            Kind.OPTIMIZER,
            "waferopt.adam.adam:AdamBase",
            description="Adam with coupled L2, decoupled decay and optional bias correction",
        ),
        Registration(
            "Adam",
            Kind.OPTIMIZER,
            "waferopt.adam.adam:Adam",
            description="Adam with coupled L2 weight decay, loads torch.optim.Adam checkpoints",
        ),
        Registration(
            "AdamW",
            Kind.OPTIMIZER,
            "waferopt.adam.adam:AdamW",
            description="Adam with decoupled weight decay, loads torch and HuggingFace AdamW checkpoints",
        ),
        Registration(
            "Adamax",
            Kind.OPTIMIZER,
            "waferopt.adam.adamax:Adamax",
            description="Adam with the infinity norm (torch.optim.Adamax)",
        ),
        Registration(
            "NAdam",
            Kind.OPTIMIZER,
            "waferopt.adam.nadam:NAdam",
            description="Adam with Nesterov momentum (torch.optim.NAdam)",
        ),
        Registration(
            "RAdam",
            Kind.OPTIMIZER,
            "waferopt.adam.radam:RAdam",
            description="Rectified Adam (torch.optim.RAdam)",
        ),
        Registration(
            "Lamb",
            Kind.OPTIMIZER,
            "waferopt.adam.lamb:Lamb",
            description="Layer-wise adaptive moments for large-batch training",
        ),
    ]
