"""waferopt schedulers: every learning-rate, weight-decay and generic scheduler.

Each schedule shape lives in one file of :mod:`waferopt.schedulers.shapes`: its
formula (a pure function of the step), its arguments and the three classes derived
from it by :mod:`waferopt.core.schedule`: ``XLR`` drives ``"lr"``, ``XWD``
``"weight_decay"``, and the generic ``XScheduler`` any key given as
``param_group_key`` (``"momentum"``, ``"betas[0]"``, ...). The schedulers built from
other schedulers (Sequential, Chained, ScalePerParam) live in
:mod:`waferopt.schedulers.composites`.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__ as __version__

_SUBMODULES = ("composites", "lr_scheduler", "scheduler", "shapes", "weight_decay_scheduler")
_loaded: dict[str, Any] = {}


def _load() -> dict[str, Any]:
    """Every class and submodule, imported on first use: the plugin module, which lists
    names from lazy records, needs no torch."""
    if not _loaded:
        import importlib

        from ._index import namespace

        modules = {m: importlib.import_module(f".{m}", __name__) for m in _SUBMODULES}
        classes = {**namespace(0), **namespace(1), **namespace(2)}
        values: dict[str, Any] = {**modules, **classes}
        values["ChainedScheduler"] = classes["ChainedLR"]
        values["LRScheduler"] = modules["lr_scheduler"].LRScheduler
        values["WeightDecayScheduler"] = modules["weight_decay_scheduler"].WeightDecayScheduler
        values["__all__"] = sorted({*values, "__version__"})
        globals().update(values)
        _loaded.update(values)
    return _loaded


def __getattr__(name: str) -> Any:  # also for type checkers: the names are dynamic
    if name.startswith("__") and name != "__all__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    values = _load()
    if name not in values:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return values[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_load()["__all__"]))
