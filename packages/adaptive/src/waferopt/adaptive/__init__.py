"""waferopt adaptive family: ``Adadelta``, ``Adagrad``, ``Adafactor`` and ``RMSprop``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from waferopt.core._lazy import lazy_exports

from ._version import __version__

if TYPE_CHECKING:
    from .adadelta import Adadelta
    from .adafactor import Adafactor
    from .adagrad import Adagrad
    from .rmsprop import RMSprop

__all__ = ["Adadelta", "Adafactor", "Adagrad", "RMSprop", "__version__"]

# Classes are imported on first use: the plugin module (listing names) needs no torch.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Adadelta": ".adadelta",
        "Adafactor": ".adafactor",
        "Adagrad": ".adagrad",
        "RMSprop": ".rmsprop",
    },
    __all__,
)
