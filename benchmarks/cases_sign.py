"""Benchmark cases of waferopt-sign (format: see benchmarks/_harness.py).

Each case is ``(label, our factory, {torch flavour: torch factory})``. Lion has no
torch twin: ``torch.optim.Adam`` (foreach) is the yardstick.
"""

from __future__ import annotations

import torch
from _harness import limit_case

from waferopt.sign import Lion, Rprop

try:
    import pytorch_optimizer as pto
except ImportError:  # installed by `nox -s bench`; without it, its rows are left out
    pto = None

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
            **(
                {
                    "pytorch_optimizer foreach": lambda ps: pto.Lion(
                        ps, lr=1e-4, weight_decay=0.1, foreach=True
                    ),
                    "pytorch_optimizer forloop": lambda ps: pto.Lion(
                        ps, lr=1e-4, weight_decay=0.1, foreach=False
                    ),
                }
                if pto is not None
                else {}
            ),
        },
    ),
]
# Lion: one pass reads p, g, m and writes p, m.
CASES += limit_case("Lion", lambda ps: Lion(ps, lr=1e-4, weight_decay=0.1), [(3, 2)])
