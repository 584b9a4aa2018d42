"""Every key of a Model Zoo ``optimizer:`` block that is more than an optimizer argument.

This is the one table of those keys: what each is for (its :class:`Role`) and its
deprecated 1.x spellings. ``configure_optimizer`` reads it (which keys go to the
trainer, which names to translate) and so does ``waferopt-modelzoo`` (which keys are
trainer settings, which shape the param groups). Any other key of the block is an
argument of the optimizer class, checked against its constructor.

The table lives in the registry, not in ``waferopt-modelzoo``, because the
``configure_*`` functions of the spec need it (a trainer key is dropped quietly, a
1.x name is translated) and the registry must work without Model Zoo support
installed; ``waferopt-modelzoo`` depends on the registry and reads it from here.

Importing this module imports neither torch nor any optimizer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "KEYS",
    "ConfigKey",
    "Role",
    "key_named",
    "keys_with_role",
    "pair_aliases",
    "renamed_aliases",
]


class Role(str, enum.Enum):
    """What a key of the optimizer block is for."""

    SELECTOR = "selector"
    """Names the optimizer (the legacy ``optimizer_type``)."""
    TRAINER = "trainer"
    """A trainer setting (gradient clipping, loss scaling, ...): not applied by the optimizer."""
    GROUPING = "grouping"
    """Shapes the param groups (tags, per-layer LR factors)."""
    NESTING = "nesting"
    """A mapping whose keys are optimizer arguments (flattened into the block)."""
    OPTIMIZER = "optimizer"
    """An argument of the optimizer class (only those with special handling are listed)."""


@dataclass(frozen=True)
class ConfigKey:
    """One key of a Model Zoo ``optimizer:`` block.

    Attributes:
        name: the key as current configs write it.
        role: what it is for.
        description: one line, for reports and docs.
        aliases: deprecated names translated to ``name`` (with a ``DeprecationWarning``).
        parts: deprecated names of the two elements of a pair (``beta1``, ``beta2`` for
            ``betas``), folded into ``name`` with a ``DeprecationWarning``.
    """

    name: str
    role: Role
    description: str
    aliases: tuple[str, ...] = ()
    parts: tuple[str, str] | None = None


KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("optimizer_type", Role.SELECTOR, "the optimizer's name (legacy format)"),
    ConfigKey("log_summaries", Role.TRAINER, "log gradient and weight summaries"),
    ConfigKey("loss_scaling_factor", Role.TRAINER, "static loss scale, or 'dynamic'"),
    ConfigKey("initial_loss_scale", Role.TRAINER, "dynamic loss scaling: the first scale"),
    ConfigKey("steps_per_increase", Role.TRAINER, "dynamic loss scaling: steps between raises"),
    ConfigKey("min_loss_scale", Role.TRAINER, "dynamic loss scaling: the lowest scale"),
    ConfigKey("max_loss_scale", Role.TRAINER, "dynamic loss scaling: the highest scale"),
    ConfigKey("max_gradient_norm", Role.TRAINER, "clip gradients to this global norm"),
    ConfigKey("max_gradient_value", Role.TRAINER, "clip each gradient value to this bound"),
    ConfigKey("grad_accum_steps", Role.TRAINER, "gradient accumulation steps"),
    ConfigKey(
        "params",
        Role.GROUPING,
        "tag filters: [{params: [globs], tag: name}], one param group per set of tags",
    ),
    ConfigKey(
        "adjust_learning_rate",
        Role.GROUPING,
        "per-layer-type LR factors ({embedding: 2.0}), applied through ScalePerParamLR",
    ),
    ConfigKey("optim_params", Role.NESTING, "optimizer arguments nested one level down"),
    ConfigKey(
        "learning_rate",
        Role.OPTIMIZER,
        "the learning rate: a number, or a schedule (legacy format); also spelled lr",
    ),
    ConfigKey(
        "weight_decay",
        Role.OPTIMIZER,
        "weight decay of the decayed param groups (biases and norms get 0)",
        aliases=("weight_decay_rate",),
    ),
    ConfigKey("betas", Role.OPTIMIZER, "moment coefficients", parts=("beta1", "beta2")),
    ConfigKey("eps", Role.OPTIMIZER, "the two epsilons (Adafactor)", parts=("eps1", "eps2")),
    ConfigKey("etas", Role.OPTIMIZER, "step-size factors (Rprop)", parts=("eta1", "eta2")),
    ConfigKey(
        "step_sizes",
        Role.OPTIMIZER,
        "step-size bounds (Rprop)",
        parts=("step_size_min", "step_size_max"),
    ),
)
"""Every special key of the optimizer block, in the order docs list them."""


def keys_with_role(*roles: Role) -> frozenset[str]:
    """The names of the keys whose role is one of ``roles``."""
    return frozenset(k.name for k in KEYS if k.role in roles)


def key_named(name: str) -> ConfigKey:
    """The entry of ``name`` (a current name, not an alias); ``KeyError`` otherwise."""
    for key in KEYS:
        if key.name == name:
            return key
    raise KeyError(name)


def renamed_aliases() -> dict[str, str]:
    """``{deprecated name: current name}`` for every whole-key rename."""
    return {alias: k.name for k in KEYS for alias in k.aliases}


def pair_aliases() -> dict[str, tuple[str, str]]:
    """``{pair name: (deprecated first, deprecated second)}`` for every pair."""
    return {k.name: k.parts for k in KEYS if k.parts is not None}
