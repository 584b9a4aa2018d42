"""The ``waferopt`` console script.

``waferopt plugins [--json]`` lists every registered name with its kind,
distribution and version, every name two plugins claim, and every plugin that failed
to load, with why.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .discovery import Registry, get_registry

__all__ = ["main", "plugins_report"]


def plugins_report(registry: Registry) -> dict[str, Any]:
    """What ``waferopt plugins --json`` prints, as a dict."""
    return {
        "names": [
            {
                "name": e.name,
                "kind": e.kind.value,
                "aliases": list(e.registration.aliases),
                "target": e.registration.target_path,
                "distribution": e.plugin.distribution,
                "version": e.plugin.version,
                "description": e.registration.description,
            }
            for e in sorted(registry.entries, key=lambda e: (e.kind.value, e.name.lower()))
        ],
        "conflicts": {
            name: [f"{e.plugin.distribution} ({e.registration.target_path})" for e in entries]
            for name, entries in sorted(registry.conflicts().items())
        },
        "failures": [
            {
                "distribution": f.plugin.distribution,
                "version": f.plugin.version,
                "entry_point": f.plugin.entry_point,
                "value": f.plugin.value,
                "stage": f.stage,
                "error": f.error,
            }
            for f in registry.failures
        ],
    }


def _print_table(rows: list[list[str]], out: Any) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=out)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=out)


def _cmd_plugins(args: argparse.Namespace) -> int:
    report = plugins_report(get_registry())
    out = sys.stdout
    if args.json:
        json.dump(report, out, indent=2)
        print(file=out)
        return 1 if report["failures"] or report["conflicts"] else 0
    rows = [["name", "kind", "distribution", "version"]]
    for item in report["names"]:
        name = item["name"] + (f" ({', '.join(item['aliases'])})" if item["aliases"] else "")
        rows.append([name, item["kind"], item["distribution"], item["version"]])
    if len(rows) > 1:
        _print_table(rows, out)
    else:
        print(
            "no waferopt plugins installed (pip install waferopt-sgd, waferopt-adam, ...)", file=out
        )
    if report["conflicts"]:
        print("\nnames registered by more than one plugin (an error when used):", file=out)
        for name, providers in report["conflicts"].items():
            print(f"  {name}: {'; '.join(providers)}", file=out)
    if report["failures"]:
        print("\nplugins that failed to load:", file=out)
        for f in report["failures"]:
            print(
                f"  {f['distribution']} {f['version']} entry point {f['entry_point']!r} "
                f"({f['value']}) at {f['stage']}: {f['error']}",
                file=out,
            )
    return 1 if report["failures"] or report["conflicts"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waferopt", description="waferopt optimizers and schedulers"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    plugins = sub.add_parser(
        "plugins", help="list installed optimizers and schedulers, and broken plugins"
    )
    plugins.add_argument("--json", action="store_true", help="print JSON")
    plugins.set_defaults(func=_cmd_plugins)
    _add_modelzoo_commands(sub)
    return parser


def _add_modelzoo_commands(sub: Any) -> None:
    """``check`` and ``plot`` live with the Model Zoo config support, if present."""
    try:
        from .modelzoo import cli as modelzoo_cli
    except ImportError:
        return
    modelzoo_cli.add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
