"""``build(model, config)``: a Model Zoo ``optimizer:`` block → optimizer, param groups, schedulers."""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from waferopt.core import Kind, LRScheduler, Optimizer, Scheduler
from waferopt.registry import configure_optimizer_params, get_registry
from waferopt.registry.config_keys import pair_aliases
from waferopt.registry.errors import ConfigError, ConfigErrors, UnknownNameError, join_path
from waferopt.registry.normalize import coerce_numbers
from waferopt.registry.schedulers_config import configure_lr_scheduler, configure_scheduler
from waferopt.registry.stand_in import StandInOptimizer

from .formats import OptimizerSpec, load_config, parse_config
from .param_groups import LR_FACTOR_KEY, ParamGroupInfo, build_param_groups

__all__ = ["BuildResult", "Report", "build", "inspect_config"]

_DEPRECATED_OPTIMIZER_KEYS = {old for pair in pair_aliases().values() for old in pair}


@dataclass
class BuildResult:
    """What :func:`build` returns.

    Attributes:
        optimizer: the optimizer, over the param groups Model Zoo would make.
        schedulers: its schedulers, in config order (step each once per optimizer step).
        trainer_settings: the trainer keys of the optimizer block (``max_gradient_norm``,
            ``loss_scaling_factor``, ``grad_accum_steps``, ``log_summaries``, ...), which
            the optimizer does not take and waferopt does not apply.
        param_groups: one :class:`ParamGroupInfo` per optimizer param group.
        format: ``"legacy"`` or ``"trainer"``.
        optimizer_kwargs: the arguments the optimizer class was given (without params).
        ignored_keys: optimizer-block keys the optimizer class does not take (dropped).
        stand_in: True when built without a model, over stand-in parameters (one group
            per declared tag): for checks and plots, not for training.
    """

    optimizer: Optimizer
    schedulers: list[Scheduler]
    trainer_settings: dict[str, Any]
    param_groups: list[ParamGroupInfo]
    format: str = "trainer"
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    ignored_keys: list[str] = field(default_factory=list)
    stand_in: bool = False

    def step_schedulers(self) -> None:
        """Step every scheduler once (after ``optimizer.step()``)."""
        for scheduler in self.schedulers:
            scheduler.step()

    @property
    def lr_schedulers(self) -> list[Scheduler]:
        """The schedulers that drive the learning rate."""
        return [s for s in self.schedulers if s.param_group_key == "lr"]


@dataclass
class Report:
    """The outcome of :func:`inspect_config`: a build, or every problem found."""

    result: BuildResult | None
    errors: list[ConfigError]
    spec: OptimizerSpec | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.result is not None


_STAND_IN_LR = 0.1
"""The learning rate of stand-in groups (an LR scheduler overwrites it)."""


def _stand_in_groups(spec: OptimizerSpec) -> tuple[list[dict[str, Any]], list[ParamGroupInfo]]:
    """Param groups over stand-in parameters, when there is no model (or its groups
    failed): an untagged group and one per declared tag, each with, when the block has
    ``adjust_learning_rate``, the LR factor 1.0 (the optimizer's arguments give the
    rest, its weight decay included)."""
    filters = spec.tag_filters
    if isinstance(filters, Mapping):
        filters = [filters]
    tags: list[str] = []
    if isinstance(filters, (list, tuple)):
        tags = [
            f["tag"] for f in filters if isinstance(f, Mapping) and isinstance(f.get("tag"), str)
        ]
    factor = 1.0 if spec.adjust_learning_rate else None
    groups: list[dict[str, Any]] = []
    infos: list[ParamGroupInfo] = []
    for tag in [None, *dict.fromkeys(tags)]:
        group: dict[str, Any] = {"params": [torch.zeros(1, requires_grad=True)]}
        if tag is not None:
            group["tags"] = {tag}
        if factor is not None:
            group[LR_FACTOR_KEY] = factor
        infos.append(
            ParamGroupInfo(
                index=len(groups),
                names=(),
                numel=0,
                tags=None if tag is None else frozenset({tag}),
                weight_decay=spec.weight_decay,
                adjust_learning_rate=factor,
            )
        )
        groups.append(group)
    return groups, infos


def _stand_in_optimizer(groups: list[dict[str, Any]]) -> StandInOptimizer:
    """A never-stepped optimizer over ``groups``, to check the schedulers on."""
    return StandInOptimizer([{"lr": 0.1, "weight_decay": 0.0, **g} for g in groups])


def _relocate(
    exc: ConfigError, prefix: str, *, key_paths: Mapping[str, str] | None = None
) -> list[ConfigError]:
    """``exc`` (or each error of a ``ConfigErrors``) with its path put under ``prefix``.

    With ``key_paths``, a path whose first key is known is re-rooted at that key's path
    (keys that came from ``optim_params`` keep theirs).
    """
    if isinstance(exc, ConfigErrors):
        return [e for inner in exc.errors for e in _relocate(inner, prefix, key_paths=key_paths)]
    path = exc.path
    if key_paths and path:
        head = re.match(r"[^.\[]*", path).group(0)  # type: ignore[union-attr]
        if head in key_paths:
            return [type(exc)(exc.message, key_paths[head] + path[len(head) :])]
    return [exc.at(prefix)]


def _as_config_error(exc: BaseException, path: str) -> ConfigError:
    return ConfigError(str(exc) or type(exc).__name__, path)


def _constructor_error_path(
    spec: OptimizerSpec, cls_kwargs: Mapping[str, Any], message: str
) -> str:
    """Guess which argument a constructor's ValueError is about, from its message."""
    lowered = message.lower()
    for key in sorted(cls_kwargs, key=len, reverse=True):
        if key in ("lr", "learning_rate"):
            if "learning rate" in lowered or "(lr)" in lowered or " lr " in lowered:
                return spec.learning_rate_path
            continue
        if (
            f" {key}" in lowered
            or f"{key} " in lowered
            or f"{key}[" in lowered
            or f"{key}:" in lowered
        ):
            return spec.key_path(key)
    return spec.path or "optimizer"


def _is_schedule(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def _build_schedulers(
    optimizer: Optimizer, spec: OptimizerSpec, errors: list[ConfigError]
) -> list[Scheduler]:
    schedulers: list[Scheduler] = []
    adjusted = any(LR_FACTOR_KEY in g for g in optimizer.param_groups)
    lr = spec.learning_rate
    if spec.schedulers is not None and spec.learning_rate is not None and _is_schedule(lr):
        errors.append(
            ConfigError(
                f"the learning rate is a schedule and '{spec.schedulers_path}' is given too; "
                "keep one of them",
                spec.schedulers_path,
            )
        )
        return schedulers

    if spec.schedulers is None:
        # Model Zoo's legacy flow: the learning_rate value is the schedule (a number is a
        # ConstantLR); the trainer's a schedule written in place of a number likewise.
        if lr is None or (spec.format == "trainer" and not _is_schedule(lr)):
            if adjusted and spec.format == "trainer":
                warnings.warn(
                    f"{spec.adjust_learning_rate_path}: the param groups carry LR factors but no "
                    "LR scheduler applies them (Model Zoo applies them through ScalePerParamLR); "
                    "add a schedulers: entry",
                    UserWarning,
                    stacklevel=4,
                )
            return schedulers
        if not _is_schedule(lr) and any(e.path == spec.learning_rate_path for e in errors):
            return schedulers  # a bad number, reported once (not again by its ConstantLR)
        try:
            scheduler = configure_lr_scheduler(optimizer, lr, adjusted or None)
        except ConfigError as exc:  # paths start at "learning_rate"
            key_paths = {"learning_rate": spec.learning_rate_path}
            errors.extend(_relocate(exc, spec.learning_rate_path, key_paths=key_paths))
            return schedulers
        except (ValueError, TypeError, RuntimeError, AssertionError) as exc:
            errors.append(_as_config_error(exc, spec.learning_rate_path))
            return schedulers
        if scheduler is not None:
            schedulers.append(scheduler)
        return schedulers

    scale_per_param = None
    if adjusted:
        try:
            scale_per_param = get_registry().resolve("ScalePerParamLR", Kind.LR_SCHEDULER)
        except ConfigError as exc:
            errors.append(exc.at(spec.schedulers_path))
            return schedulers
    for index, item in enumerate(spec.schedulers):
        item_path = f"{spec.schedulers_path}[{index}]"
        try:
            scheduler = configure_scheduler(optimizer, item)
        except ConfigError as exc:
            errors.extend(_relocate(exc, item_path))
            continue
        except (ValueError, TypeError, RuntimeError, AssertionError) as exc:
            errors.append(_as_config_error(exc, item_path))
            continue
        if (
            scale_per_param is not None
            and isinstance(scheduler, LRScheduler)
            and not isinstance(scheduler, scale_per_param)
        ):
            scheduler = scale_per_param(optimizer, scheduler)
        schedulers.append(scheduler)
    return schedulers


def _warn_zero_groups_overwritten(schedulers: list[Scheduler], infos: list[ParamGroupInfo]) -> None:
    """Warn when a weight-decay scheduler writes the weight_decay=0 split (as Model Zoo does)."""
    for scheduler in schedulers:
        if scheduler.param_group_key != "weight_decay":
            continue
        hit = [
            info.index
            for info, group in zip(infos, scheduler.optimizer.param_groups)
            if not info.decayed and info.names and scheduler._should_apply_to_param_group(group)
        ]
        if hit:
            warnings.warn(
                f"{type(scheduler).__name__} writes the weight decay of param groups {hit}, which "
                "hold biases and normalization-layer parameters (weight_decay 0 otherwise); as in "
                "Model Zoo, a weight-decay scheduler applies to every group its param_group_tags "
                "match. Tag the parameters to decay and give the scheduler that tag to leave "
                "them out.",
                UserWarning,
                stacklevel=4,
            )


def _ignored_keys(spec: OptimizerSpec, cls: type) -> list[str]:
    parameters = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    taken = set(parameters) | {"learning_rate", "lr"} | _DEPRECATED_OPTIMIZER_KEYS
    return sorted(k for k in spec.kwargs if k not in taken)


def inspect_config(
    model: torch.nn.Module | None,
    config: Any,
    *,
    lr_adjustment_groups: Mapping[str, Any] | None = None,
    norm_types: Iterable[type] | None = None,
) -> Report:
    """Build what ``config`` asks for, collecting every problem instead of stopping.

    When the optimizer cannot be built, its schedulers are still checked, against a
    stand-in optimizer with the same param groups. With ``model=None`` the optimizer is
    built over stand-in parameters, one group per declared tag (the arguments and the
    schedules are checked; globs cannot be, and the result's
    :attr:`BuildResult.stand_in` is True). See :func:`build`.
    """
    errors: list[ConfigError] = []
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        return Report(None, [exc])
    spec, parse_errors = parse_config(loaded)
    errors.extend(parse_errors)
    if spec is None:
        return Report(None, errors)

    groups: list[dict[str, Any]] | None = None
    infos: list[ParamGroupInfo] = []
    if model is None:
        groups, infos = _stand_in_groups(spec)
    elif not isinstance(model, torch.nn.Module):
        errors.append(ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}"))
    else:
        try:
            groups, infos = build_param_groups(
                model,
                weight_decay=spec.weight_decay,
                adjust_learning_rate=spec.adjust_learning_rate,
                tag_filters=spec.tag_filters,
                lr_adjustment_groups=lr_adjustment_groups,
                norm_types=norm_types,
                path=spec.path,
                adjust_learning_rate_path=spec.adjust_learning_rate_path or None,
                tag_filters_path=spec.tag_filters_path or None,
            )
        except ConfigError as exc:
            errors.extend(exc.errors if isinstance(exc, ConfigErrors) else [exc])

    optimizer: Optimizer | None = None
    cls_kwargs: dict[str, Any] = {}
    ignored: list[str] = []
    if isinstance(spec.name, str) and spec.name:
        try:
            cls, cls_kwargs = configure_optimizer_params(spec.name, spec.kwargs)
            ignored = _ignored_keys(spec, cls)
        except UnknownNameError as exc:
            errors.append(type(exc)(exc.message, spec.name_path))
            cls = None
        except ConfigError as exc:
            key_paths = {**spec.key_paths, "learning_rate": spec.learning_rate_path}
            errors.extend(_relocate(exc, spec.path, key_paths=key_paths))
            cls = None
        if cls is not None and groups is not None and not any(g["params"] for g in groups):
            errors.append(ConfigError("the model has no trainable parameters", spec.path))
        elif cls is not None:
            # Without the real groups (they failed), the arguments are still checked, on
            # stand-in parameters, so that their problems are reported too.
            real = groups is not None
            params = groups if groups is not None else _stand_in_groups(spec)[0]
            try:
                built = cls(params, **cls_kwargs)
            except (ValueError, TypeError) as exc:
                path = _constructor_error_path(spec, cls_kwargs, str(exc))
                errors.append(ConfigError(f"{cls.__name__}: {exc}", path))
            else:
                optimizer = built if real else None

    if optimizer is not None:
        target: Optimizer = optimizer
    else:
        target = _stand_in_optimizer(groups or _stand_in_groups(spec)[0])
    schedulers = _build_schedulers(target, spec, errors)

    if optimizer is not None:
        _warn_zero_groups_overwritten(schedulers, infos)
    settings = {
        k: coerce_numbers(v, join_path(spec.path, k)) for k, v in spec.trainer_settings.items()
    }
    if errors or optimizer is None:
        return Report(None, errors, spec)
    result = BuildResult(
        optimizer=optimizer,
        schedulers=schedulers,
        trainer_settings=settings,
        param_groups=infos,
        format=spec.format,
        optimizer_kwargs=cls_kwargs,
        ignored_keys=ignored,
        stand_in=model is None,
    )
    return Report(result, [], spec)


def build(
    model: torch.nn.Module,
    config: Any,
    *,
    lr_adjustment_groups: Mapping[str, Any] | None = None,
    norm_types: Iterable[type] | None = None,
) -> BuildResult:
    """Build the optimizer, its param groups and its schedulers from a Model Zoo config.

    ``config`` is a whole Model Zoo YAML config (a mapping, or the path of a YAML
    file), or its ``optimizer:`` block alone, in either format:

    * legacy: ``optimizer: {optimizer_type: AdamW, learning_rate: <number or
      schedule>, weight_decay: ..., adjust_learning_rate: {...}, params: [...]}``;
    * trainer: ``optimizer: {AdamW: {...}}`` with ``schedulers: [{Name: {...}}, ...]``
      (at the top level or under ``trainer.init``).

    Param groups are made as Model Zoo makes them (see
    :mod:`waferopt.modelzoo.param_groups`); LR schedulers are wrapped in
    ``ScalePerParamLR`` when the groups carry ``adjust_learning_rate`` factors.
    Trainer keys are returned in :attr:`BuildResult.trainer_settings`. Deprecated
    1.x names are translated with a ``DeprecationWarning``, YAML numeric strings
    converted with a warning, and ``config`` is not mutated.

    Example:
        >>> import torch
        >>> from waferopt.optim import build
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
        >>> built = build(model, {"optimizer": {"optimizer_type": "SGD", "learning_rate": 0.1,
        ...                                     "weight_decay": 1e-4, "max_gradient_norm": 1.0}})
        >>> [g["weight_decay"] for g in built.optimizer.param_groups]
        [0.0001, 0.0]
        >>> built.trainer_settings
        {'max_gradient_norm': 1.0}

    Args:
        model: the model whose trainable parameters to optimize.
        config: the config mapping or YAML path.
        lr_adjustment_groups: layer type → glob(s) for ``adjust_learning_rate`` keys
            (default: the model's ``lr_adjustment_groups`` attribute, else Model Zoo's
            ``embedding`` and ``decoder_kernel``).
        norm_types: normalization module classes whose parameters get no weight decay.

    Raises:
        ConfigError: for one problem, :class:`~waferopt.registry.ConfigErrors` for
            several; each names its key path (``optimizer.learning_rate[1].total_iters``).
    """
    report = inspect_config(
        model, config, lr_adjustment_groups=lr_adjustment_groups, norm_types=norm_types
    )
    ConfigErrors.raise_if_any(report.errors)
    assert report.result is not None
    return report.result
