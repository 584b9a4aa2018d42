"""Benchmark cases of waferopt-adam (format: see benchmarks/_harness.py).

Each case is ``(label, our factory, {torch flavour: torch factory})``. eps is passed
explicitly to both sides (ours defaults to 1e-6, torch to 1e-8; for Adam / AdamW
eps also sits elsewhere, which costs nothing). Our side is always the default eager
step. Lamb has no torch twin.
"""

from __future__ import annotations

import torch
from _harness import compiled_case, limit_case

from waferopt.adam import Adam, Adamax, AdamW, Lamb, NAdam, RAdam

try:
    import pytorch_optimizer as pto
except ImportError:  # installed by `nox -s bench`; without it, its rows are left out
    pto = None


def _pto_lamb(foreach: bool):
    """pytorch_optimizer's Lamb at our settings (no pre-norm), one of its two flavours."""
    return lambda ps: pto.Lamb(ps, lr=1e-3, weight_decay=1e-2, eps=1e-6, foreach=foreach)


def _flavours(cls, fused: bool = False, **kw):
    out = {}
    if fused:
        out["fused"] = lambda ps: cls(ps, fused=True, **kw)
    out["foreach"] = lambda ps: cls(ps, foreach=True, **kw)
    out["forloop"] = lambda ps: cls(ps, foreach=False, **kw)
    return out


CASES = [
    (
        "Adam",
        lambda ps: Adam(ps, lr=1e-3, eps=1e-6),
        _flavours(torch.optim.Adam, fused=True, lr=1e-3, eps=1e-6),
    ),
    (
        "Adam wd amsgrad",
        lambda ps: Adam(ps, lr=1e-3, eps=1e-6, weight_decay=1e-2, amsgrad=True),
        _flavours(torch.optim.Adam, fused=True, lr=1e-3, eps=1e-6, weight_decay=1e-2, amsgrad=True),
    ),
    (
        "AdamW",
        lambda ps: AdamW(ps, lr=1e-3, eps=1e-6, weight_decay=1e-2),
        _flavours(torch.optim.AdamW, fused=True, lr=1e-3, eps=1e-6, weight_decay=1e-2),
    ),
    (
        "Adamax",
        lambda ps: Adamax(ps, lr=2e-3, eps=1e-6, weight_decay=1e-4),
        _flavours(torch.optim.Adamax, lr=2e-3, eps=1e-6, weight_decay=1e-4),
    ),
    (
        "NAdam",
        lambda ps: NAdam(ps, lr=2e-3, weight_decay=1e-4),
        _flavours(torch.optim.NAdam, lr=2e-3, weight_decay=1e-4),
    ),
    (
        "RAdam",
        lambda ps: RAdam(ps, lr=1e-3, eps=1e-6, weight_decay=1e-4),
        _flavours(torch.optim.RAdam, lr=1e-3, eps=1e-6, weight_decay=1e-4),
    ),
    (
        "Lamb",
        lambda ps: Lamb(ps, lr=1e-3, weight_decay=1e-2),
        (
            {
                "pytorch_optimizer foreach": _pto_lamb(True),
                "pytorch_optimizer forloop": _pto_lamb(False),
            }
            if pto is not None
            else {}
        ),
    ),
]
for _label, _ours, _theirs in [
    ("Adam", Adam, torch.optim.Adam),
    ("AdamW", AdamW, torch.optim.AdamW),
    ("NAdam", NAdam, torch.optim.NAdam),
    ("RAdam", RAdam, torch.optim.RAdam),
    ("Adamax", Adamax, torch.optim.Adamax),
]:
    _kw = {"lr": 1e-3, "eps": 1e-6, "weight_decay": 1e-4}
    CASES += compiled_case(
        _label,
        lambda ps, c=_ours, kw=_kw: c(ps, **kw),
        {"torch": lambda ps, c=_theirs, kw=_kw: c(ps, **kw)},
    )
# Lamb: a first pass reads p, g, m, v and writes m, v (and takes the norms); a second
# reads p, m, v and writes p.
CASES += limit_case("Lamb", lambda ps: Lamb(ps, lr=1e-3, weight_decay=1e-2), [(4, 2), (3, 1)])
