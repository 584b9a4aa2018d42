"""waferopt modern family: ``Muon``, ``AdamWScheduleFree``, ``Prodigy`` and ``AdEMAMix``.

Each update rule is also a function over lists of tensors in
:mod:`waferopt.modern.functional`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from waferopt.core._lazy import lazy_exports

from ._version import __version__

if TYPE_CHECKING:
    from . import functional
    from .ademamix import AdEMAMix
    from .muon import Muon, muon_param_groups
    from .prodigy import Prodigy
    from .schedule_free import AdamWScheduleFree

__all__ = [
    "AdEMAMix",
    "AdamWScheduleFree",
    "Muon",
    "Prodigy",
    "__version__",
    "functional",
    "muon_param_groups",
]

# Imported on first use: the plugin module (listing names) needs no torch.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "functional": ".functional",
        "AdEMAMix": ".ademamix",
        "Muon": ".muon",
        "muon_param_groups": ".muon",
        "Prodigy": ".prodigy",
        "AdamWScheduleFree": ".schedule_free",
    },
    __all__,
)
