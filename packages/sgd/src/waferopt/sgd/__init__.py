"""waferopt SGD family: ``SGD`` and ``ASGD``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from waferopt.core._lazy import lazy_exports

from ._version import __version__

if TYPE_CHECKING:
    from .asgd import ASGD
    from .sgd import SGD

__all__ = ["ASGD", "SGD", "__version__"]

# Classes are imported on first use: the plugin module (listing names) needs no torch.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ASGD": ".asgd",
        "SGD": ".sgd",
    },
    __all__,
)
