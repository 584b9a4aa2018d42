"""The plugin interface: hook specifications, the ``hookimpl`` marker and records.

A plugin is a module named by an entry point of group ``waferopt``. It implements
one or both hooks below with :data:`hookimpl` and returns :class:`Registration`
records. Records name their class lazily (``"package.module:Class"``), so listing
what is installed does not import every optimizer.

Example (a plugin module)::

    from waferopt.core import Kind, Registration, hookimpl

    @hookimpl
    def register_optimizers():
        return [Registration("Adan", Kind.OPTIMIZER, "my_pkg.adan:Adan",
                             description="Adaptive Nesterov momentum")]
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass, field
from typing import Any

import pluggy

PROJECT_NAME = "waferopt"
"""The pluggy project name and the entry-point group plugins declare."""

ENTRY_POINT_GROUP = PROJECT_NAME

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Kind(str, enum.Enum):
    """What a registered class is. The value is what ``waferopt plugins`` prints."""

    OPTIMIZER = "optimizer"
    LR_SCHEDULER = "lr_scheduler"
    WD_SCHEDULER = "wd_scheduler"
    SCHEDULER = "scheduler"
    """A scheduler of any other param-group key (momentum, betas[0], ...)."""

    @property
    def is_scheduler(self) -> bool:
        return self is not Kind.OPTIMIZER


@dataclass(frozen=True)
class Registration:
    """One class a plugin provides.

    Args:
        name: the public name (``"AdamW"``, ``"CosineDecayLR"``). Lookup is
            case-insensitive; the spelling given here is the one listed.
        kind: what the class is.
        target: the class itself, or ``"module:QualName"`` to import on first use.
        aliases: other names that resolve to this class (``"ChainedLR"``).
        description: one line for ``waferopt plugins``.
    """

    name: str
    kind: Kind
    target: str | type = field(compare=False)
    aliases: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Registration name must be an identifier, got {self.name!r}")
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "aliases", tuple(self.aliases))
        if isinstance(self.target, str) and ":" not in self.target:
            raise ValueError(
                f"Registration {self.name!r}: target must be a class or 'module:QualName', "
                f"got {self.target!r}"
            )

    @property
    def target_path(self) -> str:
        """``module:QualName`` of the target, without importing it."""
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"

    def load(self) -> type:
        """Import and return the registered class."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, qualname = self.target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        if not isinstance(obj, type):
            raise TypeError(f"{self.target} is not a class (registered as {self.name!r})")
        return obj


class HookSpecs:
    """The hooks a waferopt plugin may implement. Each returns a list of records."""

    @hookspec
    def register_optimizers(self) -> list[Registration]:  # type: ignore[empty-body]
        """Return the optimizers this plugin provides."""

    @hookspec
    def register_schedulers(self) -> list[Registration]:  # type: ignore[empty-body]
        """Return the LR, weight-decay and other schedulers this plugin provides."""

    @hookspec
    def register_cli_commands(self, subparsers: Any) -> None:
        """Add subcommands to the ``waferopt`` console script.

        ``subparsers`` is the ``argparse`` subparsers action of ``waferopt``: call
        ``subparsers.add_parser(name, help=...)``, add its arguments, and
        ``set_defaults(func=run)`` where ``run(args: argparse.Namespace) -> int``
        returns the exit status. Keep this hook cheap (it runs for ``waferopt
        --help``): import heavy modules (torch) inside ``run``, not here.
        """
