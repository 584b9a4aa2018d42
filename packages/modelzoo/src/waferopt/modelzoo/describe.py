"""Human-readable reports of a build, schedule traces and milestones (``check`` / ``plot``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from waferopt.core import Scheduler
from waferopt.registry.cli import table_lines
from waferopt.registry.errors import ConfigError

from .builder import BuildResult
from .param_groups import ParamGroupInfo

__all__ = [
    "Milestone",
    "describe_errors",
    "describe_result",
    "milestones",
    "scheduler_lines",
    "table_lines",
    "trace",
]

_HIDDEN = {
    "last_epoch",
    "_step_count",
    "_last_value",
    "_get_called_within_step",
    "param_group_tags",
    "lr_adjustment_scalars",
}


def _fmt(value: Any) -> str:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_fmt(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return str(value)


def _children(scheduler: Scheduler) -> tuple[list[Scheduler], list[int] | None]:
    """A composite's children and, for a sequence, its milestones."""
    if isinstance(getattr(scheduler, "_scheduler", None), Scheduler):
        return [scheduler._scheduler], None  # type: ignore[attr-defined]
    kids = getattr(scheduler, "_schedulers", None)
    if isinstance(kids, list) and all(isinstance(k, Scheduler) for k in kids):
        ms = getattr(scheduler, "_milestones", None)
        return list(kids), (list(ms) if isinstance(ms, list) else None)
    return [], None


def _arguments(scheduler: Scheduler) -> str:
    state = scheduler.state_dict()
    parts = []
    for key, value in state.items():
        if key in _HIDDEN or key.startswith("_") or isinstance(value, (dict, Scheduler)):
            continue
        if key == "total_iters" and value is None:
            continue
        parts.append(f"{key}={_fmt(value)}")
    return ", ".join(parts)


def scheduler_lines(scheduler: Scheduler, indent: str = "  ", offset: int = 0) -> list[str]:
    """One line per scheduler of a tree: class, key, tags, arguments, and where it runs."""
    tags = scheduler.param_group_tags
    head = f"{type(scheduler).__name__} ({scheduler.param_group_key}"
    head += f", tags {_fmt(tags)})" if tags else ")"
    children, ms = _children(scheduler)
    args = _arguments(scheduler)
    if ms is not None:
        head += f" milestones {[offset + m for m in ms]}"
    elif args:
        head += f" {args}"
    if offset:
        head += f" [from step {offset}]"
    lines = [indent + head]
    starts = [offset] + [offset + m for m in ms] if ms is not None else [offset] * len(children)
    for child, start in zip(children, starts):
        lines.extend(scheduler_lines(child, indent + "    ", start))
    return lines


@dataclass(frozen=True)
class Milestone:
    """A step where a schedule changes phase, for plots."""

    step: int
    label: str
    key: str


def milestones(scheduler: Scheduler, offset: int = 0) -> list[Milestone]:
    """Where each phase of ``scheduler`` starts, and where a finite last phase ends."""
    out: list[Milestone] = []
    children, ms = _children(scheduler)
    key = scheduler.param_group_key
    if ms is not None:
        starts = [offset] + [offset + m for m in ms]
        for child, start in zip(children, starts):
            if start != offset:
                out.append(Milestone(start, f"{type(child).__name__} starts", key))
            out.extend(milestones(child, start))
        return _unique(out)
    if children:
        for child in children:
            out.extend(milestones(child, offset))
        return _unique(out)
    total = scheduler.total_iters
    if total:
        out.append(Milestone(offset + total, f"{type(scheduler).__name__} ends", key))
    for step in getattr(scheduler, "milestones", None) or []:
        if isinstance(step, int):
            out.append(Milestone(offset + step, f"{type(scheduler).__name__} step", key))
    return _unique(out)


def _unique(items: Sequence[Milestone]) -> list[Milestone]:
    seen: dict[tuple[int, str], Milestone] = {}
    for m in items:
        seen.setdefault((m.step, m.key), m)
    return sorted(seen.values(), key=lambda m: (m.step, m.key))


def trace(result: BuildResult, steps: int) -> dict[str, list[list[float]]]:
    """The ``lr`` and ``weight_decay`` of every param group at steps 0 .. steps-1.

    Steps the schedulers only (the optimizer does not step), on the result's own
    schedulers: call it on a fresh build. Returns ``{"lr": [[group 0 at t=0, ...],
    ...], "weight_decay": [...]}``, one list per group.
    """
    groups = result.optimizer.param_groups
    out: dict[str, list[list[float]]] = {
        "lr": [[] for _ in groups],
        "weight_decay": [[] for _ in groups],
    }
    for step in range(steps):
        for key, series in out.items():
            for index, group in enumerate(groups):
                value = group.get(key, math.nan)
                series[index].append(float(value) if value is not None else math.nan)
        if step + 1 < steps:
            result.step_schedulers()
    return out


def _group_line(info: ParamGroupInfo) -> list[str]:
    return [
        str(info.index),
        str(info.size),
        f"{info.numel:,}",
        ", ".join(sorted(info.tags)) if info.tags else "-",
        _fmt(info.adjust_learning_rate) if info.adjust_learning_rate is not None else "-",
        _fmt(info.weight_decay),
    ]


def describe_result(result: BuildResult) -> list[str]:
    """What ``waferopt check`` prints for a config that builds."""
    opt = result.optimizer
    args = ", ".join(f"{k}={_fmt(v)}" for k, v in result.optimizer_kwargs.items())
    lines = [f"format: {result.format}", f"optimizer: {type(opt).__name__}({args})"]
    if result.ignored_keys:
        lines.append(
            f"  ignored keys (not arguments of {type(opt).__name__}): {', '.join(result.ignored_keys)}"
        )
    if result.trainer_settings:
        settings = ", ".join(f"{k}={_fmt(v)}" for k, v in result.trainer_settings.items())
        lines.append(f"trainer settings (not applied by the optimizer): {settings}")
    lines.append(f"param groups: {len(result.param_groups)}")
    rows = [["group", "params", "numel", "tags", "lr factor", "weight_decay"]]
    rows += [_group_line(info) for info in result.param_groups]
    lines += table_lines(rows)
    lines.append(f"schedulers: {len(result.schedulers) or 'none'}")
    for index, scheduler in enumerate(result.schedulers):
        sub = scheduler_lines(scheduler, "    ")
        lines.append(f"  [{index}] " + sub[0].lstrip())
        lines.extend(sub[1:])
    return lines


def describe_errors(errors: Sequence[ConfigError]) -> list[str]:
    """What ``waferopt check`` prints for a config that does not build: every problem."""
    lines = [f"{len(errors)} problem{'s' if len(errors) != 1 else ''}:"]
    for error in errors:
        lines.append(f"  - {error.path}: {error.message}" if error.path else f"  - {error.message}")
    return lines
