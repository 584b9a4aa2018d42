"""The classes of every shape and composite, gathered from their own files.

Nothing here names a shape: the lists come from :data:`shapes.SCHEDULES` and
:data:`composites.COMPOSITES`, so adding a shape file is all it takes. The plugin's
records do not come from here (that would import torch) but from the same files read
as text (:mod:`waferopt.schedulers._names`); a test checks that both agree.
"""

from __future__ import annotations

from .composites import COMPOSITES
from .shapes import SCHEDULES

# (LR class, WD class, any-key class, one-line description, LR aliases)
ENTRIES: list[tuple[type, type, type, str, tuple[str, ...]]] = [
    (*s.bindings, s.summary.rstrip("."), s.lr_aliases) for s in SCHEDULES
]
ENTRIES += COMPOSITES


def namespace(which: int) -> dict[str, type]:
    """``{name: class}`` of the LR (0), WD (1) or any-key (2) classes."""
    classes: list[type] = [entry[which] for entry in ENTRIES]  # type: ignore[misc]
    return {cls.__name__: cls for cls in classes}
