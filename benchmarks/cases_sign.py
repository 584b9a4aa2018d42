"""Benchmark cases of waferopt-sign (format: see benchmarks/_harness.py).

Each case is ``(label, our factory, {torch flavour: torch factory})``. Lion has no
torch twin: ``torch.optim.Adam`` (foreach) is the yardstick.
"""

from __future__ import annotations

import torch

from waferopt.sign import Lion, Rprop

CASES = [
    (
        "Rprop",
        lambda ps: Rprop(ps, lr=1e-3),
        {
            "foreach": lambda ps: torch.optim.Rprop(ps, lr=1e-3, foreach=True),
            "forloop": lambda ps: torch.optim.Rprop(ps, lr=1e-3, foreach=False),
        },
    ),
    (
        "Lion",
        lambda ps: Lion(ps, lr=1e-4, weight_decay=0.1),
        {
            "Adam foreach (yardstick)": lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True),
        },
    ),
]
