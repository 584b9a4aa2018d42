"""waferopt Adam family: ``AdamBase``, ``Adam``, ``AdamW``, ``Adamax``, ``NAdam``, ``RAdam``, ``Lamb``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from waferopt.core._lazy import lazy_exports

from ._version import __version__

if TYPE_CHECKING:
    from .adam import Adam, AdamBase, AdamW
    from .adamax import Adamax
    from .lamb import Lamb
    from .nadam import NAdam
    from .radam import RAdam

__all__ = ["Adam", "AdamBase", "AdamW", "Adamax", "Lamb", "NAdam", "RAdam", "__version__"]

# Classes are imported on first use: the plugin module (listing names) needs no torch.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Adam": ".adam",
        "AdamBase": ".adam",
        "AdamW": ".adam",
        "Adamax": ".adamax",
        "Lamb": ".lamb",
        "NAdam": ".nadam",
        "RAdam": ".radam",
    },
    __all__,
)
