"""waferopt sign family: ``Lion`` and ``Rprop``, optimizers driven by the sign of the gradient."""

from __future__ import annotations

from typing import TYPE_CHECKING

from waferopt.core._lazy import lazy_exports

from ._version import __version__

if TYPE_CHECKING:
    from .lion import Lion
    from .rprop import Rprop

__all__ = ["Lion", "Rprop", "__version__"]

# Classes are imported on first use: the plugin module (listing names) needs no torch.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Lion": ".lion",
        "Rprop": ".rprop",
    },
    __all__,
)
