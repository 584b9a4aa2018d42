"""``configure_optimizer`` and ``configure_optimizer_params`` (docs/explanation/semantics.md#semantics-5)."""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from waferopt.core import Kind, Optimizer

from .config_keys import Role, keys_with_role, pair_aliases, renamed_aliases
from .discovery import get_registry
from .errors import ConfigError, closest_one
from .normalize import coerce_number, coerce_numbers, translate_deprecated

__all__ = ["OptimizerTypeError", "configure_optimizer", "configure_optimizer_params"]

logger = logging.getLogger(__name__)

_NOT_ARGUMENTS = keys_with_role(Role.SELECTOR, Role.TRAINER, Role.GROUPING)
"""Keys of a Model Zoo ``optimizer:`` block meant for the trainer, not the optimizer."""


class OptimizerTypeError(RuntimeError, TypeError):
    """An optimizer constructor's ``TypeError`` (``params`` that is not an iterable of
    tensors or of param-group dicts, a value of the wrong type), raised by
    :func:`configure_optimizer` as ``"Failed to configure X optimizer: ..."``.

    A ``RuntimeError`` as Cerebras raises it, and still a ``TypeError``, as it is one.
    """


_RENAMED = renamed_aliases()
_PAIRS = pair_aliases()
_PLACEHOLDER_LR = 0.1


def _translate_pairs(
    kwargs: dict[str, Any], parameters: Mapping[str, inspect.Parameter]
) -> dict[str, Any]:
    """Fold the deprecated halves of a pair (``beta1``, ``beta2``) into it (``betas``)."""
    out = dict(kwargs)
    for new, (first, second) in _PAIRS.items():
        if new not in parameters or (first not in out and second not in out):
            continue
        if new in out:
            given = [k for k in (first, second) if k in out]
            raise ConfigError(f"both {given} (deprecated) and {new!r} are given; keep only {new!r}")
        default = parameters[new].default
        pair = (
            list(default)
            if isinstance(default, (tuple, list)) and len(default) == 2
            else [None, None]
        )
        for index, old in enumerate((first, second)):
            if old in out:
                warnings.warn(
                    f"{old}: {old!r} is a deprecated name; use {new!r} (element {index})",
                    DeprecationWarning,
                    stacklevel=4,
                )
                pair[index] = out.pop(old)
        if None in pair:
            raise ConfigError(f"{new!r} needs both {first!r} and {second!r}")
        out[new] = tuple(pair)
    return out


def configure_optimizer_params(
    optimizer_type: str, kwargs: Mapping[str, Any]
) -> tuple[type[Optimizer], dict[str, Any]]:
    """Resolve ``optimizer_type`` and pick, from ``kwargs``, the arguments its class takes.

    Names are matched case-insensitively (``"adamw"``, ``"AdamW"``). The constructor
    signature is inspected: keys it takes are passed; ``learning_rate`` (or ``lr``)
    becomes ``lr`` when it is a number (an ``int`` too) or a numeric string, and is
    left to the scheduler when it is a schedule (a required ``lr`` then gets a
    placeholder that the LR scheduler overwrites). Deprecated 1.x names (``beta1``,
    ``weight_decay_rate``, ``eps1`` ...) are translated with a ``DeprecationWarning``.
    Keys the class does not take are dropped, each reported once: a near-miss of a
    real parameter with a ``UserWarning`` naming both, the others in one warning-level
    log line (Cerebras's "got N unexpected and unused parameters"); trainer keys are
    logged at info level. ``kwargs`` is not mutated.

    Returns:
        the optimizer class and the keyword arguments for it (without ``params``).
    """
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"optimizer arguments must be a mapping, got {type(kwargs).__name__}")
    cls = get_registry().resolve(optimizer_type, Kind.OPTIMIZER)
    parameters = dict(inspect.signature(cls).parameters)
    names = list(parameters)
    if not names or names[0] != "params":
        raise ConfigError(f"{cls.__name__}.__init__ must take 'params' first, got {names[:1]}")
    parameters.pop("params")

    remaining = translate_deprecated(kwargs, _RENAMED)
    remaining = _translate_pairs(remaining, parameters)
    remaining.pop("params", None)
    lr_keys = [k for k in ("learning_rate", "lr") if k in remaining]
    if len(lr_keys) > 1:
        raise ConfigError("both 'learning_rate' and 'lr' are given; keep one", "learning_rate")
    learning_rate = remaining.pop(lr_keys[0]) if lr_keys else None
    lr_key = lr_keys[0] if lr_keys else "learning_rate"
    learning_rate = coerce_number(learning_rate, lr_key)
    if isinstance(learning_rate, bool):
        raise ConfigError(f"expected a number or a schedule, got {learning_rate!r}", lr_key)
    is_number = isinstance(learning_rate, (int, float, torch.Tensor))
    if (
        learning_rate is not None
        and not is_number
        and not isinstance(learning_rate, (dict, list, tuple))
    ):
        raise ConfigError(
            f"expected a number or a schedule (a dict or a list of dicts), got {type(learning_rate).__name__} "
            f"{learning_rate!r}",
            lr_key,
        )

    cls_kwargs: dict[str, Any] = {}
    takes_var_kwargs = False
    for name, param in parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            takes_var_kwargs = True
            break
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if name in ("lr", "learning_rate"):
            if is_number:
                cls_kwargs[name] = (
                    float(learning_rate)
                    if not isinstance(learning_rate, torch.Tensor)
                    else learning_rate
                )
            elif param.default is inspect.Parameter.empty:
                logger.info(
                    "%s: 'lr' is required and the learning rate is a schedule; using %s until the "
                    "LR scheduler writes its value",
                    cls.__name__,
                    _PLACEHOLDER_LR,
                )
                cls_kwargs[name] = _PLACEHOLDER_LR
            continue
        if name in remaining:
            cls_kwargs[name] = coerce_numbers(remaining.pop(name), name)
    if takes_var_kwargs:
        cls_kwargs.update({k: coerce_numbers(v, k) for k, v in remaining.items()})
        remaining = {}

    dropped = dict(remaining)
    if dropped:
        trainer = sorted(k for k in dropped if k in _NOT_ARGUMENTS)
        unknown = sorted(k for k in dropped if k not in _NOT_ARGUMENTS)
        if trainer:
            logger.info(
                "%s: keys for the trainer, not passed to the optimizer: %s", cls.__name__, trainer
            )
        # Each unknown key is reported once: a near miss of an argument as a warning
        # that names the argument, the others in the log line Cerebras writes.
        unplaced = []
        for key in unknown:
            close = closest_one(key, [n for n in parameters if n not in cls_kwargs], cutoff=0.75)
            if close:
                warnings.warn(
                    f"{cls.__name__}: unknown key {key!r} was dropped; did you mean {close!r}?",
                    UserWarning,
                    stacklevel=2,
                )
            else:
                unplaced.append(key)
        if unplaced:
            logger.warning(
                "%s got %d unexpected and unused parameters: %s (it takes: %s)",
                cls.__name__,
                len(unplaced),
                unplaced,
                ", ".join(n for n in parameters if n not in ("lr", "learning_rate")),
            )
    return cls, cls_kwargs


def configure_optimizer(
    optimizer_type: str,
    params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    **kwargs: Any,
) -> Optimizer:
    """Build the optimizer named ``optimizer_type`` from Model Zoo style keyword arguments.

    Example:
        >>> import torch
        >>> from waferopt.optim import configure_optimizer
        >>> model = torch.nn.Linear(4, 2)
        >>> opt = configure_optimizer("sgd", model.parameters(), lr=0.1, momentum=0.9)
        >>> type(opt).__name__
        'SGD'

    See :func:`configure_optimizer_params` for how arguments are chosen. A
    ``TypeError`` from the constructor is re-raised as :class:`OptimizerTypeError`
    (a ``RuntimeError``, as in Cerebras, and a ``TypeError``) naming the optimizer;
    a ``ValueError`` (a bad value) propagates as is. A param-group dict without
    ``params`` is a ``ConfigError`` naming it (``params[1]``). Neither ``params``
    nor ``kwargs`` is changed.
    """
    cls, cls_kwargs = configure_optimizer_params(optimizer_type, kwargs)
    if not isinstance(params, Iterable):
        raise OptimizerTypeError(
            f"Failed to configure {cls.__name__} optimizer: params must be an iterable of "
            f"tensors or of param-group dicts, got {type(params).__name__}"
        )
    if not isinstance(params, (torch.Tensor, str, bytes, Mapping)):
        items: list[Any] = list(params)  # once: a generator is read here, not twice
        params = items
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            if "params" not in item:
                raise ConfigError(
                    "a param group needs a 'params' key (the tensors it holds), got keys "
                    f"{sorted(map(str, item))}",
                    f"params[{index}]",
                )
            group_params = item["params"]
            if isinstance(group_params, (str, bytes, Mapping)) or not isinstance(
                group_params, (torch.Tensor, Iterable)
            ):
                raise OptimizerTypeError(
                    f"Failed to configure {cls.__name__} optimizer: params[{index}].params must "
                    f"be a tensor or an iterable of tensors, got {type(group_params).__name__}"
                )
    try:
        return cls(params, **cls_kwargs)
    except TypeError as exc:
        raise OptimizerTypeError(f"Failed to configure {cls.__name__} optimizer: {exc}") from exc
