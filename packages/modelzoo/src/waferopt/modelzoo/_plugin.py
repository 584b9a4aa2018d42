"""The ``waferopt`` plugin of waferopt-modelzoo: the ``check`` and ``plot`` subcommands.

It registers no optimizer or scheduler; it adds subcommands to the registry's
``waferopt`` command through the ``register_cli_commands`` hook, as any plugin can.
Importing it imports neither torch nor the rest of the package.
"""

from __future__ import annotations

from typing import Any

from waferopt.core.plugins import hookimpl


@hookimpl
def register_cli_commands(subparsers: Any) -> None:
    from .cli import add_commands

    add_commands(subparsers)
