"""The classes of every shape and composite, gathered from their own files.

Nothing here names a shape: the lists come from :data:`shapes.SCHEDULES` and
:data:`composites.COMPOSITES`, so adding a shape file (and its entry in
``shapes/__init__.py``) is all it takes.
"""

from __future__ import annotations

from .composites import COMPOSITES
from .shapes import SCHEDULES

# (LR class, WD class, any-key class, one-line description, LR aliases)
ENTRIES: list[tuple[type, type, type, str, tuple[str, ...]]] = [
    (*s.bindings, s.summary.rstrip("."), s.lr_aliases) for s in SCHEDULES
]
ENTRIES += [(lr, wd, generic, description, ()) for lr, wd, generic, description in COMPOSITES]
# ChainedLR is also registered as ChainedScheduler (the spec's name).
ENTRIES = [
    (lr, wd, g, d, ("ChainedScheduler",) if lr.__name__ == "ChainedLR" else a)
    for lr, wd, g, d, a in ENTRIES
]


def namespace(which: int) -> dict[str, type]:
    """``{name: class}`` of the LR (0), WD (1) or any-key (2) classes."""
    classes: list[type] = [entry[which] for entry in ENTRIES]  # type: ignore[misc]
    return {cls.__name__: cls for cls in classes}
