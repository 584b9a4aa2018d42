"""waferopt SGD family: ``SGD`` and ``ASGD``."""

from ._version import __version__
from .asgd import ASGD
from .sgd import SGD

__all__ = ["ASGD", "SGD", "__version__"]
