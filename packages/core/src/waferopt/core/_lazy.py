"""Module attributes imported on first use (PEP 562), for light package ``__init__``\\ s.

A plugin module is imported to list what is installed (``waferopt plugins``), and
importing it runs its package's ``__init__``: packages keep that cheap (no torch) by
exporting their classes lazily::

    __getattr__, __dir__ = lazy_exports(__name__, {"SGD": ".sgd", "ASGD": ".asgd"}, __all__)

(with the same names imported under ``if TYPE_CHECKING:`` for type checkers).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    module_name: str, table: Mapping[str, str], public: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for module ``module_name``.

    Args:
        module_name: the package's ``__name__``.
        table: attribute name → the (relative) module that defines it; a name that
            maps to its own submodule (``"functional": ".functional"``) is that module.
        public: the package's ``__all__`` (listed by ``dir()``).

    The first access imports the defining module and caches the value in the
    package's namespace, so later accesses cost nothing.
    """
    names = dict(table)
    listed = set(public)

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module = importlib.import_module(where, module_name)
        value = module if where == f".{name}" else getattr(module, name)
        setattr(sys.modules[module_name], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[module_name])) | listed | set(names))

    return __getattr__, __dir__
