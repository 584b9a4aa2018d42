"""Param groups as Cerebras Model Zoo builds them (``common/optim_utils.py``).

Three splits, in Model Zoo's order, so that the groups come out in the same number
and order (a Model Zoo checkpoint's optimizer state then lines up group by group):

1. **Tags** (``params: [{params: [globs], tag: name}, ...]`` in the optimizer block):
   every trainable parameter collects the tag of each filter with a glob that matches
   its name; one group per distinct *set* of tags, in the order parameters first
   reach it. Parameters no filter matches form one untagged group. A glob that
   matches no parameter is an error naming it.
2. **Weight decay**: each group splits into ``weight_decay = λ`` and
   ``weight_decay = 0``. Biases (``"bias"`` in the parameter name, as Model Zoo
   tests it) and parameters of normalization layers (LayerNorm, BatchNorm1d/2d/3d,
   InstanceNorm1d/2d/3d, GroupNorm, SyncBatchNorm, RMSNorm, and any class whose name
   ends in ``RMSNorm``) go to the zero group. With tags, empty groups are dropped;
   without, they are kept (Model Zoo keeps them).
3. **adjust_learning_rate** (``{embedding: 2.0, decoder_kernel: 0.25, "*proj*": 0.5}``):
   each group splits once more by layer type. ``embedding`` and ``decoder_kernel``
   use Model Zoo's default patterns (``*embedding*weight``; ``*decoder*dense*weight``,
   ``*decoder*linear*weight``), or the model's own ``lr_adjustment_groups``; any other
   key is itself a glob. Factors equal to 1 make no group; layer types with equal
   factors share one. Every resulting group carries its factor under the key
   ``adjust_learning_rate`` (1.0 for the rest), which ``ScalePerParamLR`` reads.

Globs: a tag glob matches when it matches the end of a name (Model Zoo searches with
``fnmatch.translate``: ``"encoder.*"`` matches ``"student.encoder.w"``); a layer-type
glob must match the whole name.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from waferopt.registry.errors import ConfigError, ConfigErrors, closest_one, join_path
from waferopt.registry.normalize import coerce_number

__all__ = [
    "DEFAULT_LR_ADJUSTMENT_GROUPS",
    "LR_FACTOR_KEY",
    "NORM_TYPES",
    "ParamGroupInfo",
    "build_param_groups",
    "is_no_decay",
]

LR_FACTOR_KEY = "adjust_learning_rate"
"""The param-group key that holds a group's LR factor: what ``ScalePerParamLR``
(``waferopt-schedulers``) reads, named like the config key that sets it."""

DEFAULT_LR_ADJUSTMENT_GROUPS: dict[str, tuple[str, ...]] = {
    "embedding": ("*embedding*weight",),
    "decoder_kernel": ("*decoder*dense*weight", "*decoder*linear*weight"),
}
"""Model Zoo's default ``adjust_learning_rate`` layer types and their name globs."""

NORM_TYPES: tuple[type[torch.nn.Module], ...] = tuple(
    t
    for t in (
        torch.nn.LayerNorm,
        torch.nn.BatchNorm1d,
        torch.nn.BatchNorm2d,
        torch.nn.BatchNorm3d,
        torch.nn.InstanceNorm1d,
        torch.nn.InstanceNorm2d,
        torch.nn.InstanceNorm3d,
        torch.nn.GroupNorm,
        torch.nn.SyncBatchNorm,
        getattr(torch.nn, "RMSNorm", None),
    )
    if t is not None
)
"""Modules whose parameters get no weight decay (besides classes named ``*RMSNorm``)."""


@dataclass(frozen=True)
class ParamGroupInfo:
    """What one param group holds, for reports (``waferopt check``) and tests.

    Attributes:
        index: the group's position in ``optimizer.param_groups``.
        names: the names of its parameters, in model order.
        numel: the number of scalars in them.
        tags: its tags, or None (untagged).
        weight_decay: its weight decay.
        adjust_learning_rate: its learning-rate factor, or None when the config has
            no ``adjust_learning_rate`` (the group then has no such key).
        decayed: False for the weight_decay=0 split (biases and normalization layers).
    """

    index: int
    names: tuple[str, ...]
    numel: int
    tags: frozenset[str] | None
    weight_decay: float
    adjust_learning_rate: float | None
    decayed: bool = True

    @property
    def size(self) -> int:
        """The number of parameters (tensors) in the group."""
        return len(self.names)


def is_no_decay(model: torch.nn.Module, name: str, norm_types: Sequence[type] = NORM_TYPES) -> bool:
    """Whether Model Zoo puts parameter ``name`` of ``model`` in the weight_decay=0 group.

    True for a name containing ``"bias"`` and for a parameter of a normalization
    module (one of ``norm_types``, or a class whose name ends in ``RMSNorm``): the
    module owning it, or one of that module's ancestors.
    """
    if "bias" in name:
        return True
    parts = name.split(".")[:-1]
    for depth in range(len(parts), -1, -1):
        try:
            module = model.get_submodule(".".join(parts[:depth]))
        except AttributeError:
            continue
        if isinstance(module, tuple(norm_types)) or type(module).__name__.lower().endswith(
            "rmsnorm"
        ):
            return True
    return False


def _glob(glob: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(glob))


def _sample(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _parse_tag_filters(
    filters: Any, path: str, names: Sequence[str], errors: list[ConfigError]
) -> dict[str, list[str]]:
    """Each parameter name → the tags it collects (in filter order)."""
    tags_of: dict[str, list[str]] = {n: [] for n in names}
    if filters is None:
        return tags_of
    if isinstance(filters, Mapping):
        filters = [filters]
    if not isinstance(filters, (list, tuple)):
        errors.append(
            ConfigError(
                f"expected a list of {{params: [globs], tag: name}} mappings, got {type(filters).__name__}",
                path,
            )
        )
        return tags_of
    for index, item in enumerate(filters):
        item_path = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            errors.append(
                ConfigError(
                    f"expected a mapping {{params: [globs], tag: name}}, got {item!r}", item_path
                )
            )
            continue
        unknown = sorted(set(map(str, item)) - {"params", "tag"})
        if unknown:
            errors.append(
                ConfigError(
                    f"unknown key(s) {unknown}; a filter takes 'params' and 'tag'", item_path
                )
            )
        tag = item.get("tag")
        if "tag" not in item:
            errors.append(ConfigError("missing 'tag' (the name of the group)", item_path))
        elif not isinstance(tag, str) or not tag:
            errors.append(
                ConfigError(
                    f"expected a tag name (a string), got {tag!r}", join_path(item_path, "tag")
                )
            )
            tag = None
        if "params" not in item:
            errors.append(ConfigError("missing 'params' (a glob or a list of globs)", item_path))
            continue
        globs = item["params"]
        globs_path = join_path(item_path, "params")
        listed = isinstance(globs, (list, tuple))
        if not listed:
            globs = [globs]
        if not globs:
            errors.append(ConfigError("expected at least one glob", globs_path))
        for g_index, glob in enumerate(globs):
            glob_path = f"{globs_path}[{g_index}]" if listed else globs_path
            if not isinstance(glob, str) or not glob:
                errors.append(ConfigError(f"expected a glob (a string), got {glob!r}", glob_path))
                continue
            pattern = _glob(glob)
            hits = [n for n in names if pattern.search(n)]
            if not hits:
                errors.append(
                    ConfigError(
                        f"the glob {glob!r} (tag {tag!r}) matches no trainable parameter; "
                        f"names look like: {_sample(names)}",
                        glob_path,
                    )
                )
            if tag is None:
                continue
            for n in hits:
                if tag not in tags_of[n]:
                    tags_of[n].append(tag)
    return tags_of


def _model_adjustment_groups(
    model: torch.nn.Module, override: Mapping[str, Any] | None
) -> dict[str, tuple[tuple[str, ...], float]]:
    """Layer type → (globs, default factor), from ``override``, the model, or Model Zoo."""
    source: Any = override
    if source is None:
        source = getattr(model, "lr_adjustment_groups", None)
    if source is None:
        source = DEFAULT_LR_ADJUSTMENT_GROUPS
    out: dict[str, tuple[tuple[str, ...], float]] = {}
    for key, value in dict(source).items():
        scale = 1.0
        if hasattr(value, "param_filter_patterns"):  # Model Zoo's LRAdjustmentGroup
            scale = float(getattr(value, "scale", 1.0) or 1.0)
            value = value.param_filter_patterns
        if isinstance(value, str):
            value = (value,)
        out[str(key)] = (tuple(value), scale)
    return out


def _adjustment_partition(
    model: torch.nn.Module,
    names: Sequence[str],
    adjust: Any,
    path: str,
    lr_adjustment_groups: Mapping[str, Any] | None,
    errors: list[ConfigError],
) -> list[tuple[float, set[str]]]:
    """[(factor, names)] for each distinct factor != 1, in Model Zoo's order."""
    if adjust is None:
        return []
    if not isinstance(adjust, Mapping):
        errors.append(
            ConfigError(
                "expected a mapping {layer type or glob: factor}, e.g. {decoder_kernel: 0.25}, "
                f"got {type(adjust).__name__} {adjust!r}",
                path,
            )
        )
        return []
    known = _model_adjustment_groups(model, lr_adjustment_groups)
    factors: dict[str, float] = {}
    for key, value in adjust.items():
        key_path = join_path(path, str(key))
        value = coerce_number(value, key_path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(
                ConfigError(f"expected a number (the LR factor), got {value!r}", key_path)
            )
            continue
        if value < 0:
            errors.append(ConfigError(f"the LR factor must be >= 0, got {value!r}", key_path))
            continue
        factors[str(key)] = float(value)

    # Model Zoo walks the model's layer types in their own order, then ours (globs).
    layer_types: list[tuple[str, tuple[str, ...], float]] = []
    for key, (globs, default) in known.items():
        layer_types.append((key, globs, factors.get(key, default)))
    for key, factor in factors.items():
        if key not in known:
            layer_types.append((key, (key,), factor))

    scales: list[float] = []
    members: list[set[str]] = []
    owner: dict[str, tuple[str, float]] = {}
    conflicts: dict[tuple[str, float, str, float], list[str]] = {}
    for key, globs, factor in layer_types:
        patterns = [_glob(g) for g in globs]
        hits = {n for n in names if any(p.fullmatch(n) for p in patterns)}
        if key not in known and not hits:
            close = closest_one(key, known, cutoff=0.75)
            hint = f" Did you mean {close!r}?" if close else ""
            errors.append(
                ConfigError(
                    f"{key!r} is neither a layer type of the model ({', '.join(known) or 'none'}) "
                    f"nor a glob matching a trainable parameter.{hint} Names look like: "
                    f"{_sample(names)}",
                    join_path(path, key),
                )
            )
            continue
        if factor == 1.0:
            continue
        for n in sorted(hits):
            if n in owner and owner[n][1] != factor:
                conflicts.setdefault((*owner[n], key, factor), []).append(n)
            owner.setdefault(n, (key, factor))
        if factor in scales:
            members[scales.index(factor)] |= hits
        else:
            scales.append(factor)
            members.append(set(hits))
    for (first, first_factor, second, factor), clashing in conflicts.items():
        errors.append(
            ConfigError(
                f"{_sample(clashing)} match(es) both {first!r} (factor {first_factor}) "
                f"and {second!r} (factor {factor}); a parameter has one LR factor",
                join_path(path, second),
            )
        )
    return list(zip(scales, members))


def build_param_groups(
    model: torch.nn.Module,
    *,
    weight_decay: float = 0.0,
    adjust_learning_rate: Any = None,
    tag_filters: Any = None,
    lr_adjustment_groups: Mapping[str, Any] | None = None,
    norm_types: Iterable[type] | None = None,
    path: str = "optimizer",
    adjust_learning_rate_path: str | None = None,
    tag_filters_path: str | None = None,
) -> tuple[list[dict[str, Any]], list[ParamGroupInfo]]:
    """Split ``model``'s trainable parameters into param groups the Model Zoo way.

    Args:
        model: the model; only parameters with ``requires_grad`` are grouped.
        weight_decay: λ of the decayed groups.
        adjust_learning_rate: ``{layer type or glob: factor}``, or None.
        tag_filters: ``[{params: [globs], tag: name}, ...]`` (or one such mapping), or None.
        lr_adjustment_groups: layer type → glob(s), replacing the model's
            ``lr_adjustment_groups`` attribute and Model Zoo's defaults.
        norm_types: normalization module classes whose parameters get no weight
            decay (default :data:`NORM_TYPES`).
        path: the key path of the optimizer block, for error messages.

    Returns:
        the param groups (dicts with ``params``, ``weight_decay`` and, where they
        apply, ``tags`` and ``adjust_learning_rate``) and a :class:`ParamGroupInfo`
        for each.

    Raises:
        ConfigError: one problem (``ConfigErrors`` when several), each naming its path.
    """
    errors: list[ConfigError] = []
    norm = tuple(norm_types) if norm_types is not None else NORM_TYPES
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    names = [n for n, _ in named]
    by_name = dict(named)

    # 1. tags
    tags_of = _parse_tag_filters(
        tag_filters, tag_filters_path or join_path(path, "params"), names, errors
    )
    tag_groups: dict[frozenset[str], list[str]] = {}
    for n in names:
        tag_groups.setdefault(frozenset(tags_of[n]), []).append(n)
    tagged = tag_filters is not None and any(tag_groups)

    # 2. weight decay
    wd_groups: list[tuple[frozenset[str], float, bool, list[str]]] = []
    for tags, members in tag_groups.items():
        zero = [is_no_decay(model, n, norm) for n in members]
        decay = [n for n, z in zip(members, zero) if not z]
        no_decay = [n for n, z in zip(members, zero) if z]
        wd_groups.append((tags, float(weight_decay), True, decay))
        wd_groups.append((tags, 0.0, False, no_decay))
    if tagged:
        wd_groups = [g for g in wd_groups if g[3]]

    # 3. learning-rate factors
    partition = _adjustment_partition(
        model,
        names,
        adjust_learning_rate,
        adjust_learning_rate_path or join_path(path, "adjust_learning_rate"),
        lr_adjustment_groups,
        errors,
    )
    final: list[tuple[frozenset[str], float, bool, float | None, list[str]]] = []
    for tags, wd, decayed, members in wd_groups:
        if not partition:
            final.append((tags, wd, decayed, None, members))
            continue
        pieces: list[tuple[float, list[str]]] = [(scale, []) for scale, _ in partition]
        rest: list[str] = []
        for n in members:
            for i, (_, hits) in enumerate(partition):
                if n in hits:
                    pieces[i][1].append(n)
                    break
            else:
                rest.append(n)
        pieces.append((1.0, rest))
        final.extend((tags, wd, decayed, scale, ms) for scale, ms in pieces if ms)

    ConfigErrors.raise_if_any(errors)

    groups: list[dict[str, Any]] = []
    infos: list[ParamGroupInfo] = []
    for index, (tags, wd, decayed, scale, members) in enumerate(final):
        group: dict[str, Any] = {"params": [by_name[n] for n in members], "weight_decay": wd}
        if tags:
            group["tags"] = set(tags)
        if scale is not None:
            group[LR_FACTOR_KEY] = scale
        groups.append(group)
        infos.append(
            ParamGroupInfo(
                index=index,
                names=tuple(members),
                numel=sum(by_name[n].numel() for n in members),
                tags=frozenset(tags) if tags else None,
                weight_decay=wd,
                adjust_learning_rate=scale,
                decayed=decayed,
            )
        )
    return groups, infos
