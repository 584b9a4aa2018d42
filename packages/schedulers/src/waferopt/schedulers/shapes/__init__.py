"""Schedule shapes: one file per shape (or family of shapes), each written once.

Each file holds a shape's formula (a pure function of the step ``t``, written with
:func:`waferopt.core.schedule.ops` so that it runs on Python floats in an eager step
and on tensors under ``torch.compile``), its :class:`~waferopt.core.schedule.Schedule`
(arguments, names, validation) and the three classes derived from it: ``<Name>LR``,
``<Name>WD`` and ``<Name>Scheduler``. Two files hold a pair of related shapes:
``polynomial.py`` (Polynomial and Linear, its power-1 case) and ``cosine_annealing.py``
(CosineAnnealing and CosineAnnealingWarmRestarts). This package finds every
``Schedule`` of its modules (adding a shape is adding its file) and exports the
formulas.

Example:
    >>> import torch
    >>> from waferopt.schedulers import shapes
    >>> t = torch.tensor(50.0, dtype=torch.float64)
    >>> float(shapes.cosine_decay(t, initial=1.0, end=0.0, total_iters=100))
    0.5
    >>> round(shapes.cosine_decay(50.0, initial=1.0, end=0.0, total_iters=100), 12)
    0.5
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from waferopt.core.schedule import Schedule


def _collect() -> tuple[tuple[Schedule, ...], dict[str, Callable[..., Any]]]:
    """Every ``Schedule`` defined in a module of this package (in module order, then
    definition order), and their formulas by name."""
    schedules: list[Schedule] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Schedule) and all(value is not s for s in schedules):
                schedules.append(value)
    formulas = {s.formula.__name__: s.formula for s in schedules}
    return tuple(schedules), formulas


SCHEDULES, _FORMULAS = _collect()
"""Every first-party shape: found in the modules of this package, so that adding a shape
is adding its file."""

globals().update(_FORMULAS)
__all__ = sorted(_FORMULAS)


def __getattr__(name: str) -> Any:  # for type checkers: the formulas above are dynamic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
