"""An example third-party waferopt plugin: the Adan optimizer and the REX schedule.

It is the template a plugin author copies. Nothing in waferopt names this
package: its ``pyproject.toml`` declares an entry point in the group
``waferopt`` that points at :mod:`waferopt_example_plugin.plugin`, and
``waferopt.optim.configure_optimizer("Adan", ...)`` finds it once installed.
"""

from __future__ import annotations

from .adan import Adan
from .rex import RexLR, RexScheduler, RexWD

__version__ = "0.1.0"

__all__ = ["Adan", "RexLR", "RexScheduler", "RexWD", "__version__"]
