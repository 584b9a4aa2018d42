"""waferopt Adam family: ``AdamBase``, ``Adam``, ``AdamW``, ``Adamax``, ``NAdam``, ``RAdam``, ``Lamb``."""

from ._version import __version__
from .adam import Adam, AdamBase, AdamW
from .adamax import Adamax
from .lamb import Lamb
from .nadam import NAdam
from .radam import RAdam

__all__ = ["Adam", "AdamBase", "AdamW", "Adamax", "Lamb", "NAdam", "RAdam", "__version__"]
