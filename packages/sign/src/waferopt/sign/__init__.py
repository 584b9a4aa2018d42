"""waferopt sign family: ``Lion`` and ``Rprop``, optimizers driven by the sign of the gradient."""

from ._version import __version__
from .lion import Lion
from .rprop import Rprop

__all__ = ["Lion", "Rprop", "__version__"]
