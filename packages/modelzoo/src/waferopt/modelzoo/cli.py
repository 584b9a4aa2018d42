"""``waferopt check`` and ``waferopt plot``: a Model Zoo config, checked or drawn.

``waferopt check CONFIG.yaml [--model FACTORY] [--strict]`` prints what :func:`build`
would make (optimizer class and arguments, each param group with its size, tags, LR
factor and weight decay, each scheduler with its milestones, the trainer settings), or
every problem in the config with its key path, then every warning :func:`build` gives
(each once). Exit status: 0 when it builds (warnings or not, as :func:`build` does);
1 when it does not, or with ``--strict`` when it warns; 2 when the check cannot be
made (a missing optional dependency, a usage error).

``waferopt plot CONFIG.yaml [--steps N] [-o schedule.png] [--model FACTORY]`` draws
the learning rate and weight decay of every param group, milestones marked, over N
steps: by default as many as the config trains (``max_steps``), else the schedules'
total. It needs matplotlib (``pip install 'waferopt-modelzoo[plot]'``).

``FACTORY`` is ``package.module:callable`` or ``path/to/file.py:callable``, returning
the model whose parameters are grouped. Without it, stand-in parameters are grouped,
one group per declared tag: the arguments and schedules are checked, the globs cannot
be.

Both reach the ``waferopt`` command through the registry's ``register_cli_commands``
hook (:mod:`waferopt.modelzoo._plugin`); torch is imported when they run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from waferopt.registry.errors import ConfigError

from .formats import MissingExtraError

if TYPE_CHECKING:
    from torch import nn

    from .builder import BuildResult, Report

__all__ = [
    "add_commands",
    "check_command",
    "load_model",
    "plot_command",
    "plot_schedule",
    "steps_of",
]

_MODEL_HELP = (
    "the model whose parameters are grouped: package.module:factory or "
    "path/to/file.py:factory (default: stand-in parameters, one group per tag)"
)

MAX_STEPS_PATHS: tuple[tuple[str, ...], ...] = (
    ("trainer", "init", "loop", "max_steps"),
    ("trainer", "fit", "loop", "max_steps"),
    ("runconfig", "max_steps"),
    ("max_steps",),
)
"""Where a Model Zoo config says how many steps it trains, in the order looked at."""


def add_commands(subparsers: Any) -> None:
    """Add ``check`` and ``plot`` to the ``waferopt`` console script."""
    check = subparsers.add_parser(
        "check",
        help="show what a Model Zoo config builds (optimizer, param groups, schedulers) or every problem in it",
    )
    check.add_argument("config", help="a Model Zoo YAML config (either optimizer format)")
    check.add_argument("--model", default=None, help=_MODEL_HELP)
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the config builds with warnings too (unknown or misspelt optimizer "
        "keys, 1.x names, numbers YAML read as text...); default: exit 0, as build() succeeds",
    )
    check.set_defaults(func=_run_check)

    plot = subparsers.add_parser(
        "plot", help="plot the LR and weight decay of every param group of a Model Zoo config"
    )
    plot.add_argument("config", help="a Model Zoo YAML config (either optimizer format)")
    plot.add_argument(
        "--steps",
        type=int,
        default=None,
        help="number of steps to draw (default: the config's max_steps, else the schedules' total)",
    )
    plot.add_argument(
        "-o", "--output", default="schedule.png", help="image file (default schedule.png)"
    )
    plot.add_argument("--model", default=None, help=_MODEL_HELP)
    plot.set_defaults(func=_run_plot)


def load_model(factory: str) -> nn.Module:
    """The model ``factory`` makes: ``package.module:name`` or ``path/to/file.py:name``.

    ``name`` is a callable returning an ``nn.Module`` (called without arguments), or an
    ``nn.Module`` itself. Raises :class:`ConfigError` saying what is wrong.
    """
    from torch import nn

    where, sep, attr = factory.rpartition(":")
    if not sep or not where or not attr:
        raise ConfigError(
            f"expected package.module:factory or path/to/file.py:factory, got {factory!r}"
        )
    try:
        if where.endswith(".py"):
            path = Path(where)
            spec = importlib.util.spec_from_file_location(f"_waferopt_model_{path.stem}", path)
            if spec is None or spec.loader is None or not path.is_file():
                raise ImportError(f"no such file: {where}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        made = getattr(module, attr)
    except (ImportError, AttributeError, SyntaxError) as exc:
        raise ConfigError(f"cannot load the model factory {factory!r}: {exc}") from exc
    model = made() if callable(made) and not isinstance(made, nn.Module) else made
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{factory!r} gave a {type(model).__name__}, not a torch.nn.Module")
    return model


class _NoteHandler(logging.Handler):
    """Keeps the waferopt log records of WARNING and above as notes."""

    def __init__(self, notes: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        self.notes.append(f"{record.levelname.capitalize()}: {record.getMessage()}")


@contextmanager
def captured_notes() -> Iterator[list[str]]:
    """Collect, in order and each once, the warnings and the waferopt log records
    (WARNING and above) given inside the block, instead of printing them: the commands
    print them once, themselves. The list is complete when the block ends."""
    notes: list[str] = []
    log = logging.getLogger("waferopt")
    handler = _NoteHandler(notes)
    propagate = log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, category, *args, **kwargs: notes.append(
                f"{category.__name__}: {message}"
            )
            yield notes
    finally:
        log.removeHandler(handler)
        log.propagate = propagate
        notes[:] = list(dict.fromkeys(notes))


def _inspect(config: Any, model_name: str | None) -> tuple[Report, list[str]]:
    from .builder import Report, inspect_config

    with captured_notes() as notes:
        model = None
        if model_name is not None:
            try:
                model = load_model(model_name)
            except ConfigError as exc:
                return Report(None, [ConfigError(exc.message, "--model")]), []
        report = inspect_config(model, config)
    return report, notes


def _cannot_run(command: str, exc: MissingExtraError) -> int:
    """A missing optional dependency: one line on stderr, exit status 2."""
    print(f"waferopt {command}: {exc}", file=sys.stderr)
    return 2


def _model_label(model_name: str | None) -> str:
    return model_name if model_name is not None else "stand-in parameters, one group per tag"


def check_command(
    config: str,
    model_name: str | None = None,
    out: TextIO | None = None,
    *,
    strict: bool = False,
) -> int:
    """Run ``waferopt check``; returns the exit status (see the module docstring).

    ``strict``: a config that builds with warnings fails (status 1).
    """
    from .describe import describe_errors, describe_result

    out = out or sys.stdout
    try:
        report, notes = _inspect(config, model_name)
    except MissingExtraError as exc:
        return _cannot_run("check", exc)
    print(f"config: {config} (model: {_model_label(model_name)})", file=out)
    if report.ok:
        assert report.result is not None
        for line in describe_result(report.result):
            print(line, file=out)
        if report.result.stand_in:
            print(
                "  (no --model: the groups hold stand-in parameters, so the tag and "
                "adjust_learning_rate globs were not matched; give --model to check them)",
                file=out,
            )
    else:
        for line in describe_errors(report.errors):
            print(line, file=out)
        if any("matches no trainable parameter" in e.message for e in report.errors):
            print(
                f"  (the parameters are those of the model {model_name!r}; choose another with --model)",
                file=out,
            )
    if notes:
        print(f"warnings: {len(notes)}", file=out)
        for note in notes:
            print(f"  - {note}", file=out)
    if not report.ok:
        return 1
    if strict and notes:
        print(f"--strict: {len(notes)} warning(s) count as problems", file=out)
        return 1
    return 0


def _run_check(args: argparse.Namespace) -> int:
    return check_command(args.config, args.model, strict=args.strict)


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or :class:`MissingExtraError`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingExtraError(
            "waferopt plot needs matplotlib, which is not installed: "
            "pip install 'waferopt-modelzoo[plot]'"
        ) from exc
    return plt


def plot_schedule(result: Any, steps: int, output: str, title: str = "") -> None:
    """Draw the LR and WD of every param group of ``result`` over ``steps`` steps into
    ``output``. Raises :class:`~waferopt.modelzoo.formats.MissingExtraError` without
    matplotlib."""
    plt = _pyplot()
    from .describe import milestones, trace

    marks = [m for s in result.schedulers for m in milestones(s)]
    series = trace(result, steps)
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True, constrained_layout=True)
    styles = ["-", "--", "-.", ":"]
    keys = (("lr", "learning rate"), ("weight_decay", "weight decay"))
    for ax, (key, label) in zip(axes, keys):
        for index, values in enumerate(series[key]):
            info = result.param_groups[index]
            name = f"group {index}"
            extra = []
            if info.tags:
                extra.append("tags " + ",".join(sorted(info.tags)))
            if info.adjust_learning_rate is not None:
                extra.append(f"lr x{info.adjust_learning_rate:g}")
            if not info.decayed:
                extra.append("biases, norms")
            extra.append(f"{info.size} params")
            ax.plot(
                range(steps),
                values,
                styles[index % len(styles)],
                linewidth=1.6,
                label=f"{name} ({'; '.join(extra)})",
            )
        key_marks = [m for m in marks if m.key == key and 0 < m.step < steps]
        for m in key_marks:
            ax.axvline(m.step, color="0.45", linestyle=":", linewidth=1.0)
        top = ax.get_ylim()[1]
        for m in key_marks:
            ax.annotate(
                f"{m.step}",
                (m.step, top),
                xytext=(2, -10),
                textcoords="offset points",
                fontsize=8,
                color="0.3",
            )
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    axes[-1].set_xlabel("step")
    axes[0].set_title(title or "schedule per param group (dotted lines: milestones)")
    fig.savefig(output, dpi=120)
    plt.close(fig)


def steps_of(config: Mapping[str, Any], result: BuildResult) -> int | None:
    """How many steps ``config`` trains: its ``max_steps`` (see :data:`MAX_STEPS_PATHS`),
    else where its schedules end (the last milestone), else None."""
    from .describe import milestones

    for path in MAX_STEPS_PATHS:
        node: Any = config
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, int) and not isinstance(node, bool) and node > 0:
            return node
    ends = [m.step for s in result.schedulers for m in milestones(s)]
    return max(ends) if ends and max(ends) > 0 else None


def plot_command(
    config: str,
    steps: int | None,
    output: str,
    model_name: str | None = None,
    out: TextIO | None = None,
) -> int:
    """Run ``waferopt plot``; returns the exit status. ``steps=None``: from the config."""
    from .describe import describe_errors
    from .formats import load_config

    out = out or sys.stdout
    if steps is not None and steps < 1:
        print("--steps must be >= 1", file=out)
        return 1
    try:
        loaded = load_config(config)
        report, notes = _inspect(loaded, model_name)
    except MissingExtraError as exc:
        return _cannot_run("plot", exc)
    except ConfigError as exc:
        for line in describe_errors([exc]):
            print(line, file=out)
        return 1
    if not report.ok:
        for line in describe_errors(report.errors):
            print(line, file=out)
        return 1
    assert report.result is not None
    source = "--steps"
    if steps is None:
        steps = steps_of(loaded, report.result)
        source = "from the config"
        if steps is None:
            print(
                "the config has no max_steps and its schedules never end: give --steps N",
                file=out,
            )
            return 1
    try:
        plot_schedule(
            report.result,
            steps,
            output,
            title=f"{config} ({report.result.format} format, model {_model_label(model_name)})",
        )
    except MissingExtraError as exc:
        return _cannot_run("plot", exc)
    print(
        f"wrote {output}: lr and weight_decay of {len(report.result.param_groups)} param groups "
        f"over {steps} steps ({source})",
        file=out,
    )
    for note in notes:
        print(f"  - {note}", file=out)
    return 0


def _run_plot(args: argparse.Namespace) -> int:
    return plot_command(args.config, args.steps, args.output, args.model)
