"""waferopt modern family: ``Muon``, ``AdamWScheduleFree``, ``Prodigy`` and ``AdEMAMix``.

Each update rule is also a function over lists of tensors in
:mod:`waferopt.modern.functional`.
"""

from . import functional
from ._version import __version__
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
