"""Benchmark cases of waferopt-adaptive (format: see benchmarks/_harness.py).

Each case is ``(label, our factory, {torch flavour: torch factory})``. Adagrad's torch
twins get ``eps=1e-10`` on both sides (torch's default; ours is 1e-6). Adafactor has no
torch twin with the same rule: torch's own ``torch.optim.Adafactor`` (a different
variant) and ``torch.optim.Adam`` (foreach) are yardsticks.
"""

from __future__ import annotations

import torch
from _harness import compiled_case, limit_case

from waferopt.adaptive import Adadelta, Adafactor, Adagrad, RMSprop

CASES = [
    (
        "Adagrad",
        lambda ps: Adagrad(ps, lr=1e-2, eps=1e-10),
        {
            "fused": lambda ps: torch.optim.Adagrad(ps, lr=1e-2, eps=1e-10, fused=True),
            "foreach": lambda ps: torch.optim.Adagrad(ps, lr=1e-2, eps=1e-10, foreach=True),
            "forloop": lambda ps: torch.optim.Adagrad(ps, lr=1e-2, eps=1e-10, foreach=False),
        },
    ),
    (
        "Adagrad lr_decay wd",
        lambda ps: Adagrad(ps, lr=1e-2, lr_decay=1e-3, weight_decay=1e-4, eps=1e-10),
        {
            "fused": lambda ps: torch.optim.Adagrad(
                ps, lr=1e-2, lr_decay=1e-3, weight_decay=1e-4, eps=1e-10, fused=True
            ),
            "foreach": lambda ps: torch.optim.Adagrad(
                ps, lr=1e-2, lr_decay=1e-3, weight_decay=1e-4, eps=1e-10, foreach=True
            ),
            "forloop": lambda ps: torch.optim.Adagrad(
                ps, lr=1e-2, lr_decay=1e-3, weight_decay=1e-4, eps=1e-10, foreach=False
            ),
        },
    ),
    (
        "Adadelta",
        lambda ps: Adadelta(ps, lr=1.0, weight_decay=1e-4),
        {
            "foreach": lambda ps: torch.optim.Adadelta(ps, lr=1.0, weight_decay=1e-4, foreach=True),
            "forloop": lambda ps: torch.optim.Adadelta(
                ps, lr=1.0, weight_decay=1e-4, foreach=False
            ),
        },
    ),
    (
        "RMSprop",
        lambda ps: RMSprop(ps, lr=1e-2),
        {
            "foreach": lambda ps: torch.optim.RMSprop(ps, lr=1e-2, foreach=True),
            "forloop": lambda ps: torch.optim.RMSprop(ps, lr=1e-2, foreach=False),
        },
    ),
    (
        "RMSprop centered momentum",
        lambda ps: RMSprop(ps, lr=1e-2, momentum=0.9, centered=True, weight_decay=1e-4),
        {
            "foreach": lambda ps: torch.optim.RMSprop(
                ps, lr=1e-2, momentum=0.9, centered=True, weight_decay=1e-4, foreach=True
            ),
            "forloop": lambda ps: torch.optim.RMSprop(
                ps, lr=1e-2, momentum=0.9, centered=True, weight_decay=1e-4, foreach=False
            ),
        },
    ),
    (
        "Adafactor",
        lambda ps: Adafactor(ps, lr=1e-2),
        {
            "Adam foreach (yardstick)": lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True),
            "torch Adafactor foreach (other variant)": lambda ps: torch.optim.Adafactor(
                ps, lr=1e-2, foreach=True
            ),
        },
    ),
]
CASES += compiled_case(
    "Adagrad",
    lambda ps: Adagrad(ps, lr=1e-2, eps=1e-10),
    {"torch": lambda ps: torch.optim.Adagrad(ps, lr=1e-2, eps=1e-10)},
)
CASES += compiled_case(
    "Adadelta",
    lambda ps: Adadelta(ps, lr=1.0, weight_decay=1e-4),
    {"torch": lambda ps: torch.optim.Adadelta(ps, lr=1.0, weight_decay=1e-4)},
)
CASES += compiled_case(
    "RMSprop",
    lambda ps: RMSprop(ps, lr=1e-2),
    {"torch": lambda ps: torch.optim.RMSprop(ps, lr=1e-2)},
)
# Adafactor (factored matrices): a first pass reads p, g and writes the update's square
# into the row and column statistics (small); a second reads p, g and writes p. Vectors
# keep a full second moment: counted as for the matrices (a floor, not an exact figure).
CASES += limit_case("Adafactor", lambda ps: Adafactor(ps, lr=1e-2), [(2, 0), (2, 1)])
