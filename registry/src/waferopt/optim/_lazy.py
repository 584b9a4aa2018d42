"""Module-level ``__getattr__`` / ``__dir__`` that resolve registered names on access."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from waferopt.core import Kind


def lazy_names(
    module_name: str, kinds: Collection[Kind], static: Collection[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build ``__getattr__`` and ``__dir__`` for a front-door module.

    Attribute access is exact-case (``optim.AdamW``); an unknown or uninstalled name
    raises ``AttributeError`` with the registry's hint (what to install, or the
    closest names).
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        from waferopt.registry import UnknownNameError, get_registry

        registry = get_registry()
        entry = registry.find(name, kinds)
        if entry is None or (entry.name != name and name not in entry.registration.aliases):
            hint = registry.unknown(name, kinds)
            if entry is not None:
                hint = UnknownNameError(f"{name!r} is spelled {entry.name!r}")
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}: {hint}")
        return entry.load()

    def __dir__() -> list[str]:
        from waferopt.registry import get_registry

        names = set(static)
        for entry in get_registry().entries:
            if entry.kind in kinds:
                names.add(entry.name)
                names.update(entry.registration.aliases)
        return sorted(names)

    return __getattr__, __dir__
