"""waferopt adaptive family: ``Adadelta``, ``Adagrad``, ``Adafactor`` and ``RMSprop``."""

from ._version import __version__
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .rmsprop import RMSprop

__all__ = ["Adadelta", "Adafactor", "Adagrad", "RMSprop", "__version__"]
