"""The two shapes of a Model Zoo ``optimizer:`` block, read into one :class:`OptimizerSpec`.

Legacy (Model Zoo up to 2.3, ``run_cstorch_flow``)::

    optimizer:
      optimizer_type: AdamW
      learning_rate:            # a number, or a schedule (a dict or a list of dicts)
        - {scheduler: Linear, initial_learning_rate: 0.0, end_learning_rate: 1.e-4, total_iters: 100}
        - {scheduler: CosineDecay, initial_learning_rate: 1.e-4, end_learning_rate: 0.0, total_iters: 900}
      weight_decay: 0.01
      adjust_learning_rate: {decoder_kernel: 0.25}
      max_gradient_norm: 1.0    # a trainer key

Trainer (Model Zoo 2.3 ``trainer/``, and the ``trainer: init:`` YAML of later releases)::

    optimizer:
      AdamW: {lr: 1.e-4, weight_decay: 0.01}
    schedulers:
      - SequentialLR: {schedulers: [{LinearLR: {...}}, {CosineDecayLR: {...}}]}
      - CosineDecayWD: {initial_val: 0.04, end_val: 0.4, total_iters: 1000}

Both may sit at the top of a whole Model Zoo YAML file, under ``trainer.init``, or be
given alone (the ``optimizer:`` block itself). Nothing here mutates its input.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from waferopt.registry.config_keys import Role, keys_with_role, renamed_aliases
from waferopt.registry.errors import ConfigError, join_path
from waferopt.registry.normalize import coerce_number, translate_deprecated

__all__ = ["MissingExtraError", "OptimizerSpec", "load_config", "parse_config", "require_yaml"]

SETTINGS_KEYS = keys_with_role(Role.TRAINER)
"""Trainer keys returned as trainer settings (gradient clipping, loss scaling, ...)."""


@dataclass
class OptimizerSpec:
    """What an ``optimizer:`` block asks for, in either format, with the path of each part.

    Attributes:
        format: ``"legacy"`` (``optimizer_type: X``) or ``"trainer"`` (``{X: {...}}``).
        name: the optimizer name as written (resolved later, case-insensitively).
        name_path: where the name is (``"optimizer.optimizer_type"``, ``"optimizer.AdamW"``).
        path: where the optimizer's arguments are.
        kwargs: the optimizer arguments (a copy), without grouping and trainer keys.
        key_paths: the path of every key of ``kwargs`` (``optim_params`` keys keep theirs).
        weight_decay: the weight decay of the decayed groups (0.0 when absent).
        adjust_learning_rate: ``{layer type or glob: factor}``, or None.
        tag_filters: the ``params: [{params: [globs], tag: name}]`` list, or None.
        learning_rate: the ``learning_rate`` (or ``lr``) value: a number, a schedule, or None.
        learning_rate_path: its path.
        schedulers: the trainer ``schedulers:`` list (each a ``{Name: {...}}``), or None.
        schedulers_path: its path.
        trainer_settings: trainer keys found in the block (``max_gradient_norm``, ...).
    """

    format: str
    name: Any
    name_path: str
    path: str
    kwargs: dict[str, Any]
    key_paths: dict[str, str] = field(default_factory=dict)
    weight_decay: Any = 0.0
    adjust_learning_rate: Any = None
    adjust_learning_rate_path: str = ""
    tag_filters: Any = None
    tag_filters_path: str = ""
    learning_rate: Any = None
    learning_rate_path: str = ""
    schedulers: list[Any] | None = None
    schedulers_path: str = "schedulers"
    trainer_settings: dict[str, Any] = field(default_factory=dict)

    def key_path(self, key: str) -> str:
        """The full path of optimizer argument ``key``."""
        return self.key_paths.get(key, join_path(self.path, key))


_MODEL_ZOO_SECTIONS = frozenset(
    {"model", "train_input", "eval_input", "runconfig", "sparsity", "trainer", "precision"}
)


def load_config(source: Any) -> dict[str, Any]:
    """A config as a new dict: from a mapping (deep-copied), or a YAML file path.

    A string that contains a newline is read as YAML text. Reading YAML needs PyYAML (``pip install 'waferopt-modelzoo[yaml]'``).
    """
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        text: str
        from_text = isinstance(source, str) and "\n" in source
        if from_text:
            text = str(source)
        else:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read the config file {str(path)!r}: {exc}") from exc
        where = "<string>" if from_text else str(path)
        loaded = _yaml_load(text, where)
        if loaded is None:
            raise ConfigError(f"{where} holds no YAML document: expected a mapping")
        if not isinstance(loaded, Mapping):
            raise ConfigError(
                f"{where}: the config must be a YAML mapping, got {type(loaded).__name__}"
            )
        return dict(loaded)
    raise ConfigError(
        f"expected a config mapping or the path of a YAML file, got {type(source).__name__}"
    )


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message says what to ``pip install``.

    Raised for PyYAML (reading YAML: the ``[yaml]`` extra) and matplotlib
    (``waferopt plot``: the ``[plot]`` extra); ``waferopt check`` and ``plot`` print it
    as one line.
    """


def require_yaml() -> Any:
    """The ``yaml`` module, or :class:`MissingExtraError` naming the extra to install."""
    try:
        import yaml
    except ImportError as exc:
        raise MissingExtraError(
            "reading YAML configs needs PyYAML, which is not installed: "
            "pip install 'waferopt-modelzoo[yaml]'"
        ) from exc
    return yaml


def _yaml_load(text: str, where: str) -> Any:
    yaml = require_yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_error(exc, where)) from exc


def _yaml_error(exc: Any, where: str) -> str:
    """``file:line:column: not valid YAML: problem (context at line L, column C)``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return f"{where} is not valid YAML: {exc}"
    text = f"{where}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {problem}"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        text += f" ({context}"
        if context_mark is not None:
            text += f" at line {context_mark.line + 1}, column {context_mark.column + 1}"
        text += ")"
    return text


def _locate(config: Mapping[str, Any]) -> tuple[Any, str, Any, str, bool]:
    """Find the optimizer block: (block, its path, schedulers, their path, has_schedulers)."""
    trainer = config.get("trainer")
    if isinstance(trainer, Mapping) and isinstance(trainer.get("init"), Mapping):
        init = trainer["init"]
        if "optimizer" not in init:
            raise ConfigError("no 'optimizer' block", "trainer.init")
        return (
            init["optimizer"],
            "trainer.init.optimizer",
            init.get("schedulers"),
            "trainer.init.schedulers",
            "schedulers" in init,
        )
    if "optimizer" in config:
        return (
            config["optimizer"],
            "optimizer",
            config.get("schedulers"),
            "schedulers",
            "schedulers" in config,
        )
    if "optimizer_type" in config:  # the legacy block on its own
        return config, "", None, "schedulers", False
    sections = set(map(str, config)) - {"schedulers"}
    if len(sections) == 1 and not sections & _MODEL_ZOO_SECTIONS:
        # the trainer block on its own: {AdamW: {...}} (and maybe its schedulers)
        block = {k: v for k, v in config.items() if k != "schedulers"}
        return block, "", config.get("schedulers"), "schedulers", "schedulers" in config
    raise ConfigError(
        "no optimizer found: expected an 'optimizer:' block (legacy 'optimizer_type: X' or "
        "trainer '{X: {...}}'), a 'trainer: init: optimizer:' block, or an optimizer block "
        f"itself; the top-level keys are {sorted(map(str, config))}"
    )


def parse_config(config: Mapping[str, Any]) -> tuple[OptimizerSpec | None, list[ConfigError]]:
    """Read the optimizer block of ``config`` (either format) into an :class:`OptimizerSpec`.

    Returns the spec (None when the block cannot be read at all) and every problem
    found, each naming its key path. Deprecated names are translated with a
    ``DeprecationWarning``; numeric strings are converted with a warning.
    """
    errors: list[ConfigError] = []
    if not isinstance(config, Mapping):
        return None, [ConfigError(f"the config must be a mapping, got {type(config).__name__}")]
    try:
        block, path, schedulers, schedulers_path, has_schedulers = _locate(config)
    except ConfigError as exc:
        return None, [exc]
    if not isinstance(block, Mapping):
        return None, [
            ConfigError(f"the optimizer block must be a mapping, got {type(block).__name__}", path)
        ]
    block = copy.deepcopy(dict(block))

    settings: dict[str, Any] = {}
    if "optimizer_type" in block:
        fmt = "legacy"
        name = block.pop("optimizer_type")
        name_path = join_path(path, "optimizer_type")
        kwargs_path = path
        raw_kwargs = block
    else:
        fmt = "trainer"
        names = [k for k in block if k not in SETTINGS_KEYS]
        for key in [k for k in block if k in SETTINGS_KEYS]:
            settings[key] = block[key]
        if len(names) != 1:
            listing = ", ".join(map(repr, names)) or "none"
            return None, [
                ConfigError(
                    "expected either 'optimizer_type: NAME' (legacy format) or a single "
                    f"optimizer name mapping to its arguments (trainer format); found keys {listing}",
                    path,
                )
            ]
        name = names[0]
        name_path = kwargs_path = join_path(path, str(name))
        raw_kwargs = block[name] if block[name] is not None else {}
        if not isinstance(raw_kwargs, Mapping):
            return None, [
                ConfigError(
                    f"the arguments of {name!r} must be a mapping, got {type(raw_kwargs).__name__}",
                    kwargs_path,
                )
            ]
        raw_kwargs = dict(raw_kwargs)
    if not isinstance(name, str) or not name:
        errors.append(ConfigError(f"expected an optimizer name, got {name!r}", name_path))

    # Model Zoo's config classes nest some arguments under optim_params (flattened).
    key_paths: dict[str, str] = {k: join_path(kwargs_path, str(k)) for k in raw_kwargs}
    nested = raw_kwargs.pop("optim_params", None)
    key_paths.pop("optim_params", None)
    if nested is not None:
        nested_path = join_path(kwargs_path, "optim_params")
        if isinstance(nested, Mapping):
            for key, value in nested.items():
                raw_kwargs[key] = value
                key_paths[key] = join_path(nested_path, str(key))
        else:
            errors.append(
                ConfigError(f"expected a mapping, got {type(nested).__name__}", nested_path)
            )

    for key in [k for k in raw_kwargs if k in SETTINGS_KEYS]:
        settings[key] = raw_kwargs.pop(key)
        key_paths.pop(key, None)

    renamed = renamed_aliases()
    try:
        raw_kwargs = translate_deprecated(raw_kwargs, renamed, kwargs_path)
        for old, new in renamed.items():
            if new in raw_kwargs and old in key_paths:
                key_paths[new] = key_paths.pop(old)
    except ConfigError as exc:
        errors.append(exc)
        for old in renamed:
            raw_kwargs.pop(old, None)

    spec = OptimizerSpec(
        format=fmt,
        name=name,
        name_path=name_path,
        path=kwargs_path,
        kwargs=raw_kwargs,
        key_paths=key_paths,
        schedulers_path=schedulers_path,
        trainer_settings=settings,
    )
    # grouping keys
    if "adjust_learning_rate" in raw_kwargs:
        spec.adjust_learning_rate_path = spec.key_path("adjust_learning_rate")
        spec.adjust_learning_rate = raw_kwargs.pop("adjust_learning_rate")
    if "params" in raw_kwargs:
        spec.tag_filters_path = spec.key_path("params")
        spec.tag_filters = raw_kwargs.pop("params")

    wd = coerce_number(raw_kwargs.get("weight_decay", 0.0), spec.key_path("weight_decay"))
    if "weight_decay" in raw_kwargs:
        raw_kwargs["weight_decay"] = wd
    if wd is None:
        wd = 0.0
    if isinstance(wd, bool) or not isinstance(wd, (int, float)) or wd < 0:
        raw_kwargs.pop("weight_decay", None)  # reported here, not again by the optimizer
    if isinstance(wd, bool) or not isinstance(wd, (int, float)):
        errors.append(
            ConfigError(
                f"expected a number, got {type(wd).__name__} {wd!r}", spec.key_path("weight_decay")
            )
        )
        wd = 0.0
    elif wd < 0:
        errors.append(ConfigError(f"must be >= 0, got {wd!r}", spec.key_path("weight_decay")))
    spec.weight_decay = float(wd)

    lr_keys = [k for k in ("learning_rate", "lr") if k in raw_kwargs]
    if lr_keys:
        spec.learning_rate = raw_kwargs[lr_keys[0]]
        spec.learning_rate_path = spec.key_path(lr_keys[0])
    else:
        spec.learning_rate_path = spec.key_path("learning_rate")

    if has_schedulers:
        if schedulers is None:
            spec.schedulers = []
        elif isinstance(schedulers, Mapping):
            spec.schedulers = [copy.deepcopy(dict(schedulers))]
        elif isinstance(schedulers, (list, tuple)):
            spec.schedulers = copy.deepcopy(list(schedulers))
        else:
            errors.append(
                ConfigError(
                    f"expected a list of {{SchedulerName: {{...}}}} mappings, got {type(schedulers).__name__}",
                    schedulers_path,
                )
            )
            spec.schedulers = []
    return spec, errors
