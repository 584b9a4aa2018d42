"""``waferopt check`` and ``waferopt plot``: a Model Zoo config, checked or drawn.

``waferopt check CONFIG.yaml [--model NAME]`` prints what :func:`build` would make
(optimizer class and arguments, each param group with its size, tags, LR factor and
weight decay, each scheduler with its milestones, the trainer settings), or every
problem in the config with its key path. Exit status 0 when it builds, 1 otherwise.

``waferopt plot CONFIG.yaml --steps N -o schedule.png [--model NAME]`` draws the
learning rate and weight decay of every param group over N steps, milestones marked.
It needs matplotlib (``pip install 'waferopt-registry[plot]'``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any, TextIO

from ..errors import ConfigError
from .build import Report, inspect_config
from .describe import describe_errors, describe_result, milestones, trace
from .models import MODELS, make_model

__all__ = ["add_commands", "check_command", "plot_command", "plot_schedule"]

_MODEL_HELP = (
    f"the model whose parameters are grouped: {', '.join(MODELS)} (built-in stand-ins "
    "named like Model Zoo's; default gpt) or package.module:factory"
)


def add_commands(subparsers: Any) -> None:
    """Add ``check`` and ``plot`` to the ``waferopt`` console script."""
    check = subparsers.add_parser(
        "check",
        help="show what a Model Zoo config builds (optimizer, param groups, schedulers) or every problem in it",
    )
    check.add_argument("config", help="a Model Zoo YAML config (either optimizer format)")
    check.add_argument("--model", default="gpt", help=_MODEL_HELP)
    check.set_defaults(func=_run_check)

    plot = subparsers.add_parser(
        "plot", help="plot the LR and weight decay of every param group of a Model Zoo config"
    )
    plot.add_argument("config", help="a Model Zoo YAML config (either optimizer format)")
    plot.add_argument("--steps", type=int, required=True, help="number of steps to draw")
    plot.add_argument(
        "-o", "--output", default="schedule.png", help="image file (default schedule.png)"
    )
    plot.add_argument("--model", default="gpt", help=_MODEL_HELP)
    plot.set_defaults(func=_run_plot)


def _inspect(config: str, model_name: str) -> tuple[Report, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = make_model(model_name)
        except ConfigError as exc:
            return Report(None, [ConfigError(exc.message, "--model")]), []
        report = inspect_config(model, config)
    notes = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in notes:
            notes.append(text)
    return report, notes


def check_command(config: str, model_name: str = "gpt", out: TextIO | None = None) -> int:
    """Run ``waferopt check``; returns the exit status."""
    out = out or sys.stdout
    report, notes = _inspect(config, model_name)
    print(f"config: {config} (model: {model_name})", file=out)
    if report.ok:
        assert report.result is not None
        for line in describe_result(report.result):
            print(line, file=out)
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
    return 0 if report.ok else 1


def _run_check(args: argparse.Namespace) -> int:
    return check_command(args.config, args.model)


def plot_schedule(result: Any, steps: int, output: str, title: str = "") -> None:
    """Draw the LR and WD of every param group of ``result`` over ``steps`` steps into ``output``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "waferopt plot needs matplotlib: pip install 'waferopt-registry[plot]'"
        ) from exc

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


def plot_command(
    config: str, steps: int, output: str, model_name: str = "gpt", out: TextIO | None = None
) -> int:
    """Run ``waferopt plot``; returns the exit status."""
    out = out or sys.stdout
    if steps < 1:
        print("--steps must be >= 1", file=out)
        return 1
    report, notes = _inspect(config, model_name)
    if not report.ok:
        for line in describe_errors(report.errors):
            print(line, file=out)
        return 1
    assert report.result is not None
    plot_schedule(
        report.result,
        steps,
        output,
        title=f"{config} ({report.result.format} format, model {model_name})",
    )
    print(
        f"wrote {output}: lr and weight_decay of {len(report.result.param_groups)} param groups over {steps} steps",
        file=out,
    )
    for note in notes:
        print(f"  - {note}", file=out)
    return 0


def _run_plot(args: argparse.Namespace) -> int:
    return plot_command(args.config, args.steps, args.output, args.model)
