"""Subcommands of ``waferopt`` come from plugins, through ``register_cli_commands``."""

from __future__ import annotations

import os
import subprocess
import sys

from waferopt.registry import reset_registry
from waferopt.registry.cli import build_parser, main

HELLO = """
from waferopt.core import hookimpl

def _run(args):
    print(f"hello {args.who}")
    return 3

@hookimpl
def register_cli_commands(subparsers):
    hello = subparsers.add_parser("hello", help="say hello")
    hello.add_argument("who")
    hello.set_defaults(func=_run)
"""

BROKEN = """
from waferopt.core import hookimpl

@hookimpl
def register_cli_commands(subparsers):
    raise RuntimeError("cli hook is broken")
"""

TAKES_PLUGINS = """
from waferopt.core import hookimpl

@hookimpl
def register_cli_commands(subparsers):
    subparsers.add_parser("plugins", help="mine now")
"""


def test_a_third_party_plugin_adds_a_subcommand(site, capsys):
    """A plugin's register_cli_commands adds a subcommand; its exit status is returned."""
    site.add("hello-plugin", {"hello_mod": HELLO}, {"hello": "hello_mod"})
    reset_registry(site.registry())
    assert main(["hello", "world"]) == 3
    assert capsys.readouterr().out == "hello world\n"
    assert "hello" in build_parser().format_help()


def test_a_broken_cli_hook_is_reported_and_the_rest_work(site, capsys):
    """A plugin whose hook raises loses its commands, is listed as failed; others work."""
    site.add("hello-plugin", {"hello_mod": HELLO}, {"hello": "hello_mod"})
    site.add("broken-cli", {"broken_cli": BROKEN}, {"broken": "broken_cli"})
    registry = reset_registry(site.registry())
    assert main(["hello", "you"]) == 3
    captured = capsys.readouterr()
    assert "hello you" in captured.out
    assert "broken-cli" in captured.err and "cli hook is broken" in captured.err
    assert [f.plugin.distribution for f in registry.failures] == ["broken-cli"]
    assert registry.failures[0].stage == "hook register_cli_commands"


def test_a_plugin_cannot_take_a_command_name(site, capsys):
    """A subcommand whose name is taken is refused (the plugin's failure), not replaced."""
    site.add("greedy-plugin", {"greedy_mod": TAKES_PLUGINS}, {"greedy": "greedy_mod"})
    registry = reset_registry(site.registry())
    assert main(["plugins", "--json"]) == 1  # the registry's own command ran: a failure listed
    captured = capsys.readouterr()
    assert "'plugins' is already defined" in captured.err
    assert '"distribution": "greedy-plugin"' in captured.out
    assert registry.failures[0].plugin.distribution == "greedy-plugin"


HEAVY = ("torch", "numpy", "yaml", "matplotlib")


def _heavy_modules_after(argvs: list[list[str]], env: dict[str, str] | None = None) -> str:
    """Run ``waferopt`` with each argv in one fresh process; its stdout, then the heavy
    modules it imported (``HEAVY [...]``)."""
    code = (
        "import sys\n"
        "from waferopt.registry.cli import main\n"
        f"for argv in {argvs!r}:\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return proc.stdout


def test_help_imports_no_torch():
    """`waferopt --help` (and a subcommand's --help) load the plugin modules and their
    CLI hooks only: no optimizer, no schedule, no torch."""
    out = _heavy_modules_after([["--help"], ["plugins", "--help"], ["check", "--help"]])
    assert out.rstrip().endswith("HEAVY []"), out[-2000:]
    assert "plugins" in out and "check" in out


def test_plugins_lists_every_name_without_torch():
    """`waferopt plugins` lists names from the plugins' lazy records: with every
    first-party distribution installed, no optimizer or schedule module and no torch
    (the schedulers' records are read from their files as text)."""
    out = _heavy_modules_after([["plugins"], ["plugins", "--json"]])
    assert out.rstrip().endswith("HEAVY []"), out[-2000:]
    assert "SGD" in out and "CosineDecayLR" in out and "ChainedScheduler" in out
