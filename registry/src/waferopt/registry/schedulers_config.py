"""``configure_lr_scheduler``, ``configure_scheduler`` and ``configure_scheduler_params``
(docs/explanation/semantics.md#semantics-5 and the Decisions).

Every path works in three phases, so that a bad configuration fails before the
optimizer is touched:

1. **parse**: resolve every name through the registry, translate deprecated 1.x keys
   (``DeprecationWarning``), convert numeric strings (``UserWarning``), and check each
   scheduler's keys against its constructor (unknown keys, missing arguments). All
   problems found are raised together (:class:`~waferopt.registry.errors.ConfigErrors`).
2. **dry run**: build the whole tree against a *shadow* optimizer (a copy of the param
   groups' hyperparameters and tags, with empty parameters), so that every
   constructor check (types, ranges, tags, milestones) runs on a throwaway object.
3. **build** the same tree on the real optimizer.

Every error is a :class:`~waferopt.registry.errors.ConfigError` (a ``ValueError``)
whose ``path`` locates the key: ``learning_rate[1].total_iters`` for
:func:`configure_lr_scheduler`, ``SequentialLR.schedulers[0].LinearLR.total_iters`` for
:func:`configure_scheduler`. No function mutates its argument.

Composite schedulers are recognised by what their class declares, not by name nor by
their constructor's parameter names, so third-party ones work alike:
``Scheduler.composite`` is ``"sequential"`` (milestones computed from the children's
``total_iters``), ``"chained"`` (takes the children first, no optimizer) or
``"wrapper"`` (wraps one scheduler), and ``Scheduler.children_argument`` names the
argument that takes the children. The keys a scheduler accepts are its constructor's
parameters (every first-party class has a real signature), and the names it also
answers to (``initial_val`` for ``initial_learning_rate``) are its declared
``argument_aliases``, which the error messages use.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from waferopt.core import Kind, Optimizer, Scheduler

from .discovery import get_registry
from .errors import ConfigError, ConfigErrors, NotInstalledError, join_path
from .errors import closest_one as _closest_name
from .normalize import coerce_number, coerce_numbers, translate_deprecated
from .stand_in import StandInOptimizer as _ShadowOptimizer

__all__ = ["configure_lr_scheduler", "configure_scheduler", "configure_scheduler_params"]

_LR = frozenset({Kind.LR_SCHEDULER})
_ANY = frozenset({Kind.LR_SCHEDULER, Kind.WD_SCHEDULER, Kind.SCHEDULER})

_DEPRECATED: dict[str, tuple[str, ...]] = {
    # new key: the 1.x / lower-case names it replaces (Decision 12)
    "total_iters": ("steps", "decay_steps"),
    "initial_learning_rate": ("learning_rate", "base_lr"),
    "base_lr": ("learning_rate", "initial_learning_rate"),
    "learning_rates": ("values",),
    "milestones": ("boundaries",),
    "T_max": ("t_max",),
    "T_0": ("t_0",),
    "T_mult": ("t_mult",),
}

_CHAINED = {"chained", "chainedlr", "chainedscheduler"}
_SEQUENTIAL = {"sequential", "sequentiallr"}


# ---------------------------------------------------------------------------- the tree
@dataclass
class _Node:
    """One scheduler to build: its class, plain arguments and children."""

    cls: type
    kwargs: dict[str, Any]
    path: str
    family: str = "plain"  # "plain", "sequential", "chained", "wrapper"
    children: list[_Node] = field(default_factory=list)
    children_paths: list[str] = field(default_factory=list)


def _parameters(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    """Constructor parameters by name (without ``self``, ``*args``), and whether it
    takes ``**kwargs``."""
    params: dict[str, inspect.Parameter] = {}
    var_kw = False
    for name, p in inspect.signature(cls).parameters.items():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
        elif p.kind is not inspect.Parameter.VAR_POSITIONAL:
            params[name] = p
    return params, var_kw


def _family(cls: type) -> str:
    """What the class declares it is: ``"plain"``, ``"sequential"``, ``"chained"`` or
    ``"wrapper"`` (``Scheduler.composite``)."""
    declared = getattr(cls, "composite", None)
    if declared not in (None, "sequential", "chained", "wrapper"):
        raise ConfigError(
            f"{cls.__name__}.composite is {declared!r}; expected None, 'sequential', "
            "'chained' or 'wrapper'"
        )
    return declared or "plain"


def _children_argument(cls: type) -> str:
    return str(getattr(cls, "children_argument", "schedulers"))


def _close(name: str, candidates: Sequence[str]) -> str:
    match = _closest_name(name, candidates)
    return f" (did you mean {match!r}?)" if match else ""


def _check_kwargs(
    cls: type, kwargs: Mapping[str, Any], path: str, skip: Sequence[str] = ()
) -> tuple[dict[str, Any], list[ConfigError]]:
    """Translate deprecated keys, convert numeric strings, and check the keys against
    the constructor of ``cls`` (``skip``: parameters filled by the caller)."""
    errors: list[ConfigError] = []
    params, var_kw = _parameters(cls)
    out = dict(kwargs)
    for new, olds in _DEPRECATED.items():
        if new not in params:
            continue
        for old in olds:
            if old in out and old not in params:
                try:
                    out = translate_deprecated(out, {old: new}, path)
                except ConfigError as exc:
                    errors.append(exc)
                    out.pop(old, None)
    accepted = [n for n in params if n not in ("optimizer", *skip)]
    suggested: set[str] = set()
    if not var_kw:
        for key in sorted(k for k in out if k not in accepted):
            if key in skip or key == "optimizer":
                message = f"{key!r} is set by the configuration machinery; remove it"
            elif getattr(cls, "argument_aliases", {}).get(key) in accepted:
                own = cls.argument_aliases[key]  # type: ignore[attr-defined]
                suggested.add(own)
                message = (
                    f"{cls.__name__} takes {own!r} (its name for {key!r}); it accepts {accepted}"
                )
            else:
                near = _closest_name(str(key), accepted)
                if near is not None:
                    suggested.add(near)
                message = (
                    f"{cls.__name__} does not take {key!r}{_close(str(key), accepted)}; "
                    f"it accepts {accepted}"
                )
            errors.append(ConfigError(message, join_path(path, str(key))))
            out.pop(key)
    for name in accepted:
        p = params[name]
        # A misspelt key already reported with "did you mean <name>?" is one problem.
        if p.default is inspect.Parameter.empty and name not in out and name not in suggested:
            errors.append(
                ConfigError(
                    f"{cls.__name__} needs {name!r}; it accepts {accepted}", join_path(path, name)
                )
            )
    out = {k: coerce_numbers(v, join_path(path, k)) for k, v in out.items()}
    return out, errors


def _resolve(name: Any, kinds: frozenset[Kind], path: str, lr_suffix: bool) -> type:
    """A scheduler class by name, case-insensitively.

    ``lr_suffix`` (the ``learning_rate`` format): ``"Linear"`` also finds
    ``LinearLR``. Otherwise (``configure_scheduler``) a name that is an LR and a WD
    scheduler once suffixed (``"CosineDecay"``) is an error listing both.
    """
    registry = get_registry()
    if not isinstance(name, str) or not name:
        raise registry.unknown(name, kinds, path)
    entry = registry.find(name, kinds)
    if entry is None and lr_suffix:
        entry = registry.find(f"{name}LR", kinds)
    if entry is None and not lr_suffix:
        found = [
            e for e in (registry.find(f"{name}{s}", kinds) for s in ("LR", "WD")) if e is not None
        ]
        if len(found) > 1:
            raise ConfigError(
                f"{name!r} is ambiguous: it could be {' or '.join(repr(e.name) for e in found)}; "
                "write the full name",
                path,
            )
        entry = found[0] if found else None
    if entry is None:
        if lr_suffix and not name.lower().endswith("lr"):
            # "CosineDecay" of a legacy config: name what to install for "CosineDecayLR".
            suffixed = registry.unknown(f"{name}LR", kinds, path)
            if isinstance(suffixed, NotInstalledError):
                raise suffixed
        raise registry.unknown(name, kinds, path)
    return entry.load()


# ---------------------------------------------------------------------------- parsing
def _parse_lr_item(item: Any, path: str, errors: list[ConfigError]) -> _Node | None:
    """One ``{"scheduler": name, **args}`` dict of the ``learning_rate`` format."""
    if not isinstance(item, Mapping):
        errors.append(
            ConfigError(
                f"expected a dict with a 'scheduler' key and its arguments, got {type(item).__name__} {item!r}",
                path,
            )
        )
        return None
    kwargs = dict(item)
    kwargs.pop("main_scheduler", None)
    if "scheduler" not in kwargs:
        errors.append(
            ConfigError(
                f"missing 'scheduler' (the scheduler's name); got keys {sorted(kwargs)}", path
            )
        )
        return None
    name = kwargs.pop("scheduler")
    try:
        cls = _resolve(name, _LR, join_path(path, "scheduler"), lr_suffix=True)
    except ConfigError as exc:
        errors.append(exc)
        return None
    family = _family(cls)
    if family != "plain":
        hint = {
            "sequential": "write a list of schedulers as learning_rate",
            "chained": "write a list whose items say main_scheduler: ChainedLR",
            "wrapper": "pass adjust_learning_rate instead",
        }[family]
        errors.append(
            ConfigError(
                f"{cls.__name__} takes other schedulers and cannot be named here: {hint}",
                join_path(path, "scheduler"),
            )
        )
        return None
    kwargs, problems = _check_kwargs(cls, kwargs, path)
    errors.extend(problems)
    return _Node(cls, kwargs, path)


def _parse_named(spec: Any, path: str, errors: list[ConfigError]) -> _Node | None:
    """One ``{Name: {args}}`` dict of the ``configure_scheduler`` format."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        keys = sorted(map(str, spec)) if isinstance(spec, Mapping) else None
        errors.append(
            ConfigError(
                "expected a dict with a single key, the scheduler's name, mapping to its arguments "
                "(such as {'CosineDecayLR': {...}}), got "
                + (f"the keys {keys}" if keys is not None else f"{type(spec).__name__} {spec!r}"),
                path,
            )
        )
        return None
    ((name, params),) = spec.items()
    node_path = join_path(path, str(name))
    try:
        cls = _resolve(name, _ANY, node_path, lr_suffix=False)
    except ConfigError as exc:
        errors.append(exc)
        return None
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        errors.append(
            ConfigError(
                f"expected the arguments of {cls.__name__} as a dict, got {params!r}", node_path
            )
        )
        return None
    family = _family(cls)
    kwargs = dict(params)
    if family == "plain":
        kwargs, problems = _check_kwargs(cls, kwargs, node_path)
        errors.extend(problems)
        return _Node(cls, kwargs, node_path)

    child_key = _children_argument(cls)
    skip = (child_key, "milestones") if family == "sequential" else (child_key,)
    raw_children = kwargs.pop(child_key, None)
    if family == "sequential" and "milestones" in kwargs:
        errors.append(
            ConfigError(
                f"{cls.__name__}'s milestones are computed from its schedulers' total_iters; remove 'milestones'",
                join_path(node_path, "milestones"),
            )
        )
        kwargs.pop("milestones")
    kwargs, problems = _check_kwargs(cls, kwargs, node_path, skip=skip)
    errors.extend(problems)
    tags = kwargs.get("param_group_tags")
    child_path = join_path(node_path, child_key)
    if family == "wrapper":
        items, paths = [raw_children], [child_path]
    elif isinstance(raw_children, (list, tuple)) and raw_children:
        items, paths = list(raw_children), [f"{child_path}[{i}]" for i in range(len(raw_children))]
    else:
        errors.append(
            ConfigError(
                f"{cls.__name__} needs a non-empty list of schedulers, got {raw_children!r}",
                child_path,
            )
        )
        return None
    node = _Node(cls, kwargs, node_path, family)
    for item, item_path in zip(items, paths):
        child = _parse_named(item, item_path, errors)
        if child is None:
            continue
        if tags is not None:
            own = child.kwargs.get("param_group_tags")
            if own is not None and own != tags and _as_set(own) != _as_set(tags):
                errors.append(
                    ConfigError(
                        f"its param_group_tags {own!r} differ from the enclosing {cls.__name__}'s {tags!r}; "
                        "tag the enclosing scheduler only",
                        join_path(child.path, "param_group_tags"),
                    )
                )
            elif own is None and "param_group_tags" in _parameters(child.cls)[0]:
                child.kwargs["param_group_tags"] = copy.deepcopy(tags)
        node.children.append(child)
        node.children_paths.append(item_path)
    return node


def _as_set(tags: Any) -> set[Any]:
    return set(tags) if isinstance(tags, (list, tuple, set, frozenset)) else {tags}


# ---------------------------------------------------------------------------- building
_ARG_IN_MESSAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _error_path(node: _Node, message: str) -> str:
    """The key a constructor error is about: the single argument named in its message."""
    words = set(_ARG_IN_MESSAGE.findall(message))
    named = [k for k in node.kwargs if k in words]
    return join_path(node.path, named[0]) if len(named) == 1 else node.path


def _construct(node: _Node, optimizer: Optimizer, *args: Any) -> Scheduler:
    kwargs = _copy_kwargs(node.kwargs)
    try:
        if node.family == "chained":
            return node.cls(*args, **kwargs)
        return node.cls(optimizer, *args, **kwargs)
    except ConfigError:
        raise
    except KeyError as exc:  # a param-group key the groups do not hold
        message = f"{node.cls.__name__}: {exc.args[0] if exc.args else exc}"
        where = "param_group_key" if "param_group_key" in node.kwargs else ""
        raise ConfigError(message, join_path(node.path, where)) from exc
    except (TypeError, ValueError) as exc:
        message = (
            str(exc) if str(exc).startswith(node.cls.__name__) else f"{node.cls.__name__}: {exc}"
        )
        raise ConfigError(message, _error_path(node, str(exc))) from exc


def _copy_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy, or a shallow one where a value holds a function (``lr_lambda``)."""
    has_callable = any(
        callable(v) or (isinstance(v, (list, tuple)) and any(map(callable, v)))
        for v in kwargs.values()
    )
    return dict(kwargs) if has_callable else copy.deepcopy(dict(kwargs))


def _milestones(children: list[Scheduler], node: _Node) -> list[int]:
    milestones: list[int] = []
    total = 0
    for child, path in zip(children[:-1], node.children_paths[:-1]):
        length = child.total_iters
        if length is None:
            raise ConfigError(
                f"{type(child).__name__} has no total_iters, so the scheduler after it cannot be placed; "
                "give it total_iters (only the last scheduler of a sequence may go without)",
                join_path(path, "total_iters"),
            )
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ConfigError(
                f"total_iters must be a non-negative int, got {length!r}",
                join_path(path, "total_iters"),
            )
        total += length
        milestones.append(total)
    return milestones


def _build(node: _Node, optimizer: Optimizer) -> Scheduler:
    if node.family == "plain":
        return _construct(node, optimizer)
    children = [_build(child, optimizer) for child in node.children]
    if node.family == "wrapper":
        return _construct(node, optimizer, children[0])
    if node.family == "chained":
        return _construct(node, optimizer, children)
    return _construct(node, optimizer, children, _milestones(children, node))


def _dry_run_then_build(optimizer: Optimizer, node: _Node) -> Scheduler:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"expected a waferopt Optimizer, got {type(optimizer).__module__}.{type(optimizer).__qualname__}"
        )
    _build(node, _ShadowOptimizer(optimizer))
    return _build(node, optimizer)


# ---------------------------------------------------------------------------- public API
def configure_scheduler_params(learning_rate: Mapping[str, Any]) -> tuple[type, dict[str, Any]]:
    """The LR scheduler class and its arguments from one ``learning_rate`` dict.

    ``learning_rate["scheduler"]`` names an LR scheduler, case-insensitively and with
    an optional ``LR`` suffix (``"Linear"``, ``"linearlr"``, ``"CosineDecay"``); the
    other keys are its arguments. Deprecated 1.x keys (``steps``, ``decay_steps``,
    ``learning_rate`` for ``initial_learning_rate``, ``values``, ``boundaries``,
    ``t_max``...) are translated with a ``DeprecationWarning``; numeric strings are
    converted with a warning. The input is not mutated.

    Raises:
        ConfigError: unknown name (with the closest names), unknown or missing
            argument (naming the accepted ones).
    """
    errors: list[ConfigError] = []
    node = _parse_lr_item(learning_rate, "", errors)
    ConfigErrors.raise_if_any(errors)
    assert node is not None
    return node.cls, _copy_kwargs(node.kwargs)


def configure_lr_scheduler(
    optimizer: Optimizer, learning_rate: Any, adjust_learning_rate: Any = None
) -> Scheduler | None:
    """Build the LR scheduler of a Model Zoo ``learning_rate`` value.

    * a number (an ``int`` too) or a numeric string: ``ConstantLR`` of that value;
    * a dict ``{"scheduler": name, **args}``: that scheduler;
    * a list of such dicts: a ``SequentialLR`` whose milestones are the running sum of
      each item's ``total_iters`` (all but the last must have one), or a ``ChainedLR``
      when an item says ``main_scheduler: ChainedLR`` (or ``chained``);
    * ``None`` or an empty value: ``None`` (no scheduler).

    With a truthy ``adjust_learning_rate`` the result is wrapped in ``ScalePerParamLR``,
    which multiplies each param group's value by the group's ``adjust_learning_rate``.

    The whole configuration is checked before the optimizer is touched; the input is
    not mutated.

    Raises:
        ConfigError: (a ``ValueError``) naming the key, e.g.
            ``learning_rate[1].total_iters``; several at once as ``ConfigErrors``.
    """
    root = "learning_rate"
    if learning_rate is None or (
        isinstance(learning_rate, (str, list, tuple, dict)) and not learning_rate
    ):
        return None
    learning_rate = coerce_number(learning_rate, root)
    if isinstance(learning_rate, bool):
        raise ConfigError(f"expected a number or a schedule, got {learning_rate!r}", root)
    if isinstance(learning_rate, (int, float)):
        if not learning_rate:
            return None
        items: list[Any] = [{"scheduler": "ConstantLR", "learning_rate": float(learning_rate)}]
        paths = [root]
    elif isinstance(learning_rate, Mapping):
        items, paths = [learning_rate], [root]
    elif isinstance(learning_rate, (list, tuple)):
        items, paths = list(learning_rate), [f"{root}[{i}]" for i in range(len(learning_rate))]
    else:
        raise ConfigError(
            "expected a number, a dict with a 'scheduler' key, or a list of such dicts, got "
            f"{type(learning_rate).__name__} {learning_rate!r}",
            root,
        )

    errors: list[ConfigError] = []
    mains: dict[str, str] = {}
    for item, path in zip(items, paths):
        if isinstance(item, Mapping) and "main_scheduler" in item:
            raw = item["main_scheduler"]
            key = str(raw).lower()
            if key in _CHAINED:
                mains[path] = "chained"
            elif key in _SEQUENTIAL:
                mains[path] = "sequential"
            else:
                errors.append(
                    ConfigError(
                        f"unknown main_scheduler {raw!r}; accepted: 'ChainedLR' (or 'chained') and "
                        "'SequentialLR' (the default for a list)",
                        join_path(path, "main_scheduler"),
                    )
                )
    if len(set(mains.values())) > 1:
        errors.append(ConfigError(f"the items disagree on main_scheduler: {mains}", root))
    chained = "chained" in mains.values()
    if chained and adjust_learning_rate:
        errors.append(
            ConfigError(
                "adjust_learning_rate cannot be combined with a chained learning-rate schedule",
                root,
            )
        )
    nodes = [_parse_lr_item(item, path, errors) for item, path in zip(items, paths)]
    registry = get_registry()
    composite: type | None = None
    wrapper: type | None = None
    if not errors:
        try:
            if len(nodes) > 1:
                composite = registry.resolve("ChainedLR" if chained else "SequentialLR", _LR)
            wrapper = registry.resolve("ScalePerParamLR", _LR) if adjust_learning_rate else None
        except ConfigError as exc:
            errors.append(exc.at(root) if not exc.path else exc)
    ConfigErrors.raise_if_any(errors)

    children = [n for n in nodes if n is not None]
    if len(children) == 1:
        node = children[0]
    else:
        assert composite is not None
        node = _Node(composite, {}, root, "chained" if chained else "sequential", children, paths)
    if wrapper is not None:
        node = _Node(wrapper, {}, root, "wrapper", [node], [root])
    return _dry_run_then_build(optimizer, node)


def configure_scheduler(optimizer: Optimizer, schedulers_params: Mapping[str, Any]) -> Scheduler:
    """Build a scheduler of any kind from ``{Name: {args}}``.

    ``Name`` is any installed LR, weight-decay or generic scheduler, matched
    case-insensitively; a short name that is both an LR and a WD scheduler once
    suffixed (``"CosineDecay"``) is an error listing both. Schedulers that take other
    schedulers nest them the same way::

        {"SequentialLR": {"schedulers": [
            {"LinearLR": {"initial_learning_rate": 0.0, "end_learning_rate": 1e-3, "total_iters": 100}},
            {"CosineDecayLR": {"initial_learning_rate": 1e-3, "end_learning_rate": 0.0, "total_iters": 900}},
        ]}}

    Sequential milestones are computed from the children's ``total_iters``; a
    ``param_group_tags`` on the enclosing scheduler is given to its children. The
    generic schedulers take ``param_group_key`` (``{"CosineDecayScheduler":
    {"param_group_key": "momentum", ...}}``). The whole tree is checked before the
    optimizer is touched; the input is not mutated.

    Raises:
        ConfigError: (a ``ValueError``) naming the key, e.g.
            ``SequentialLR.schedulers[1].CosineDecayLR.total_iters``.
    """
    errors: list[ConfigError] = []
    node = _parse_named(schedulers_params, "", errors)
    ConfigErrors.raise_if_any(errors)
    assert node is not None
    return _dry_run_then_build(optimizer, node)
