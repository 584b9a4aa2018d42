"""Benchmark cases of waferopt-sgd (format: see benchmarks/_harness.py)."""

from __future__ import annotations

import torch
from _harness import compiled_case

from waferopt.sgd import ASGD, SGD

CASES = [
    (
        "SGD momentum=0.9",
        lambda ps: SGD(ps, lr=1e-2, momentum=0.9, weight_decay=1e-4),
        {
            "fused": lambda ps: torch.optim.SGD(
                ps, lr=1e-2, momentum=0.9, weight_decay=1e-4, fused=True
            ),
            "foreach": lambda ps: torch.optim.SGD(
                ps, lr=1e-2, momentum=0.9, weight_decay=1e-4, foreach=True
            ),
            "forloop": lambda ps: torch.optim.SGD(
                ps, lr=1e-2, momentum=0.9, weight_decay=1e-4, foreach=False
            ),
        },
    ),
    (
        "ASGD",
        lambda ps: ASGD(ps, lr=1e-2, t0=10),
        {
            "foreach": lambda ps: torch.optim.ASGD(ps, lr=1e-2, t0=10, foreach=True),
            "forloop": lambda ps: torch.optim.ASGD(ps, lr=1e-2, t0=10, foreach=False),
        },
    ),
]
CASES += compiled_case(
    "SGD momentum=0.9",
    lambda ps: SGD(ps, lr=1e-2, momentum=0.9, weight_decay=1e-4),
    {"torch": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, weight_decay=1e-4)},
)
CASES += compiled_case(
    "ASGD",
    lambda ps: ASGD(ps, lr=1e-2, t0=10),
    {"torch": lambda ps: torch.optim.ASGD(ps, lr=1e-2, t0=10)},
)
