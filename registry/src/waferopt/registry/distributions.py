"""The one list of waferopt's first-party distributions.

Everything that needs the list reads it from here: the registry's catalogue (what to
install for a missing name) and its install hints (the folder of each in a checkout),
the version check (``integration_tests/check_versions.py``), the integration tests,
the noxfile (what ``nox -s tests`` installs and tests), the ``waferopt``
meta-distribution's extras and the README's install table (both checked by tests). A
test checks that it names exactly the folders of the repository that hold a
``pyproject.toml``.

Adding a family is one line here (and its names in the catalogue, ``_catalogue.py``).

This module imports only the standard library and nothing relative, so that scripts
can load it by its path without installing anything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["FIRST_PARTY", "Distribution", "Role", "by_name", "with_role"]


class Role(str, enum.Enum):
    """What a first-party distribution is."""

    CORE = "core"
    """The base classes and the plugin interface: every other one depends on it."""
    FAMILY = "family"
    """An optimizer family (a plugin)."""
    SCHEDULERS = "schedulers"
    """The schedulers (a plugin)."""
    REGISTRY = "registry"
    """Discovery, ``configure_*``, ``waferopt.optim`` and the ``waferopt`` command."""
    EXTENSION = "extension"
    """Support built on the registry (Model Zoo configs)."""
    META = "meta"
    """No code: extras that install the usual sets."""


@dataclass(frozen=True)
class Distribution:
    """One first-party distribution.

    Attributes:
        name: the distribution name (``pip install <name>``).
        folder: its folder in a checkout of the repository, relative to the root.
        role: what it is.
        provides: what it gives its users, one line (Markdown).
    """

    name: str
    folder: str
    role: Role
    provides: str

    @property
    def module(self) -> str | None:
        """The module it ships (``waferopt.sgd``), or None for the meta-distribution."""
        if self.role is Role.META:
            return None
        return "waferopt." + self.name.removeprefix("waferopt-")


FIRST_PARTY: tuple[Distribution, ...] = (
    Distribution(
        "waferopt-core",
        "packages/core",
        Role.CORE,
        "`Optimizer`, `Scheduler`, `LRScheduler`, `WeightDecayScheduler`, plugin hooks, "
        "the conformance kit `waferopt.core.testing`",
    ),
    Distribution("waferopt-sgd", "packages/sgd", Role.FAMILY, "`SGD`, `ASGD`"),
    Distribution(
        "waferopt-adam",
        "packages/adam",
        Role.FAMILY,
        "`Adam`, `AdamW`, `AdamBase`, `Adamax`, `NAdam`, `RAdam`, `Lamb`",
    ),
    Distribution(
        "waferopt-adaptive",
        "packages/adaptive",
        Role.FAMILY,
        "`Adadelta`, `Adagrad`, `Adafactor`, `RMSprop`",
    ),
    Distribution("waferopt-sign", "packages/sign", Role.FAMILY, "`Lion`, `Rprop`"),
    Distribution(
        "waferopt-modern",
        "packages/modern",
        Role.FAMILY,
        "`Muon` (with AdamW groups), `AdamWScheduleFree`, `Prodigy`, `AdEMAMix` "
        "([docs](docs/optimizers/modern.md))",
    ),
    Distribution(
        "waferopt-schedulers",
        "packages/schedulers",
        Role.SCHEDULERS,
        "every `*LR` and `*WD` scheduler, and generic schedulers of any param-group key",
    ),
    Distribution(
        "waferopt-registry",
        "registry",
        Role.REGISTRY,
        "plugin discovery, `configure_*`, `waferopt.optim`, the `waferopt` command",
    ),
    Distribution(
        "waferopt-modelzoo",
        "packages/modelzoo",
        Role.EXTENSION,
        "Model Zoo configs: `optim.build`, param groups, `waferopt check`, `waferopt plot`",
    ),
    Distribution(
        "waferopt",
        "packages/waferopt",
        Role.META,
        "no code: `waferopt` installs the registry, every family and the schedulers; "
        "extras `[modelzoo]`, `[plot]`, `[all]`",
    ),
)
"""Every first-party distribution, core first, in dependency order."""


def with_role(*roles: Role) -> tuple[Distribution, ...]:
    """The distributions of those roles, in list order."""
    return tuple(d for d in FIRST_PARTY if d.role in roles)


def by_name(name: str) -> Distribution | None:
    """The distribution called ``name`` (``-``/``_`` and case ignored), if first-party."""
    key = name.lower().replace("_", "-")
    return next((d for d in FIRST_PARTY if d.name == key), None)
