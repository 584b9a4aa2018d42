"""Plugin discovery: entry points of group ``waferopt`` → a name index.

The registry owns the loading loop (not pluggy's ``load_setuptools_entrypoints``):
each entry point is imported and each hook called in its own ``try``, so one broken
plugin is reported and every other still works. Hooks return
:class:`~waferopt.core.Registration` records whose classes load lazily, so listing
names imports no optimizer. Two plugins that register one name make that name an
error naming both; other names are unaffected.

Environment variable ``WAFEROPT_PLUGINS``: a comma-separated list of distribution
(or entry-point) names; when set, only those plugins are loaded (for debugging a
broken environment).
"""

from __future__ import annotations

import importlib.metadata as importlib_metadata
import logging
import os
import threading
import traceback
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from waferopt.core.plugins import ENTRY_POINT_GROUP, PROJECT_NAME, HookSpecs, Kind, Registration

from ._catalogue import canonical_name, distribution_for
from .errors import (
    NotInstalledError,
    PluginConflictError,
    PluginLoadError,
    UnknownNameError,
    closest,
)
from .install import install_hint

__all__ = ["Entry", "PluginFailure", "PluginInfo", "Registry", "get_registry", "reset_registry"]

logger = logging.getLogger(__name__)

ENV_ONLY = "WAFEROPT_PLUGINS"
_HOOKS = ("register_optimizers", "register_schedulers")
_KIND_LABEL = {
    Kind.OPTIMIZER: "optimizer",
    Kind.LR_SCHEDULER: "LR scheduler",
    Kind.WD_SCHEDULER: "WD scheduler",
    Kind.SCHEDULER: "scheduler",
}


@dataclass(frozen=True)
class PluginInfo:
    """Where a registration comes from."""

    distribution: str
    version: str
    entry_point: str
    value: str

    @property
    def label(self) -> str:
        return (
            f"{self.distribution} {self.version} (entry point {self.entry_point!r} = {self.value})"
        )


RUNTIME = PluginInfo("<runtime>", "", "<runtime>", "Registry.add")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded: which one, at which stage, and why."""

    plugin: PluginInfo
    stage: str
    error: str
    traceback: str = field(repr=False, default="")


@dataclass(frozen=True)
class Entry:
    """A registered name and the plugin that provides it."""

    registration: Registration
    plugin: PluginInfo

    @property
    def name(self) -> str:
        return self.registration.name

    @property
    def kind(self) -> Kind:
        return self.registration.kind

    def load(self) -> type:
        """Import the class, checking it is the kind it was registered as."""
        try:
            cls = self.registration.load()
        except Exception as exc:
            raise PluginLoadError(
                f"{self.name!r} from {self.plugin.label} could not be imported "
                f"({self.registration.target_path}): {type(exc).__name__}: {exc}"
            ) from exc
        from waferopt.core import Optimizer, Scheduler  # imports torch: only when a class is used

        base = Optimizer if self.kind is Kind.OPTIMIZER else Scheduler
        if not issubclass(cls, base):
            raise PluginLoadError(
                f"{self.name!r} from {self.plugin.label} is registered as {_KIND_LABEL[self.kind]} "
                f"but {cls.__module__}.{cls.__qualname__} is not a subclass of "
                f"waferopt.core.{base.__name__}"
            )
        return cls


def _entry_points() -> list[importlib_metadata.EntryPoint]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        key = (dist.metadata["Name"] if dist else "", ep.name)
        if key in seen:  # the same distribution twice on sys.path
            continue
        seen.add(key)
        unique.append(ep)
    return unique


def _plugin_info(ep: importlib_metadata.EntryPoint) -> PluginInfo:
    dist = getattr(ep, "dist", None)
    name = dist.metadata["Name"] if dist is not None else "<unknown>"
    version = dist.version if dist is not None else ""
    return PluginInfo(name, version, ep.name, ep.value)


def _normalize_dist(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


class Registry:
    """The name index of every installed waferopt plugin.

    Discovery runs once, lazily and thread-safely, on first use.

    Args:
        entry_points: a callable returning the entry points to load (for tests);
            defaults to those of group ``waferopt`` in the environment.
        only: load only these distributions / entry points; defaults to the
            ``WAFEROPT_PLUGINS`` environment variable, if set.
    """

    def __init__(
        self,
        entry_points: Callable[[], Iterable[Any]] | None = None,
        only: Collection[str] | None = None,
    ) -> None:
        self._entry_points = entry_points or _entry_points
        if only is None and os.environ.get(ENV_ONLY):
            only = [n for n in os.environ[ENV_ONLY].split(",") if n.strip()]
        self._only = None if only is None else {_normalize_dist(n) for n in only}
        self._lock = threading.RLock()
        self._plugins_loaded = False
        self._loaded = False
        self._entries: list[Entry] = []
        self._index: dict[str, list[Entry]] = {}
        self._failures: list[PluginFailure] = []
        self._plugins: list[PluginInfo] = []
        self._infos: dict[str, PluginInfo] = {}
        self.plugin_manager = pluggy.PluginManager(PROJECT_NAME)
        self.plugin_manager.add_hookspecs(HookSpecs)

    # ------------------------------------------------------------------ loading
    def _ensure_plugins(self) -> None:
        """Import every plugin module and register it with pluggy (once)."""
        if self._plugins_loaded:
            return
        with self._lock:
            if not self._plugins_loaded:
                self._load_plugins()
                self._plugins_loaded = True

    def _ensure_loaded(self) -> None:
        """Load the plugins, then collect their records (once)."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._ensure_plugins()
            self._collect_records()
            self._loaded = True

    def _load_plugins(self) -> None:
        for ep in self._entry_points():
            info = _plugin_info(ep)
            if (
                self._only is not None
                and not {
                    _normalize_dist(info.distribution),
                    _normalize_dist(info.entry_point),
                }
                & self._only
            ):
                continue
            try:
                module = ep.load()
            except Exception as exc:
                self._fail(info, "import", exc)
                continue
            plugin_name = f"{info.distribution}:{info.entry_point}"
            try:
                self.plugin_manager.register(module, name=plugin_name)
            except Exception as exc:
                self._fail(info, "register", exc)
                continue
            self._plugins.append(info)
            self._infos[plugin_name] = info

    def _collect_records(self) -> None:
        for plugin_name, info in self._infos.items():
            for hook_name in _HOOKS:
                for impl in getattr(self.plugin_manager.hook, hook_name).get_hookimpls():
                    if impl.plugin_name != plugin_name:
                        continue
                    try:
                        records = impl.function()
                        self._add_records(records, info, hook_name)
                    except Exception as exc:
                        self._fail(info, f"hook {hook_name}", exc)

    def call_hook(
        self, hook_name: str, **kwargs: Any
    ) -> tuple[list[tuple[PluginInfo, Any]], list[PluginFailure]]:
        """Call ``hook_name`` of every loaded plugin that implements it, each on its own.

        Only the plugin modules are loaded for it, not their records (so a hook such as
        ``register_cli_commands`` runs without importing any optimizer). A plugin whose
        implementation raises is recorded in :attr:`failures` (stage ``hook <name>``)
        and skipped; the others still run. Returns each plugin's result, in discovery
        order, and the failures of this call.
        """
        self._ensure_plugins()
        results: list[tuple[PluginInfo, Any]] = []
        failures: list[PluginFailure] = []
        impls = getattr(self.plugin_manager.hook, hook_name).get_hookimpls()
        order = list(self._infos)
        for impl in sorted(impls, key=lambda i: order.index(i.plugin_name)):
            info = self._infos[impl.plugin_name]
            try:
                results.append((info, impl.function(**kwargs)))
            except Exception as exc:
                with self._lock:
                    failures.append(self._fail(info, f"hook {hook_name}", exc))
        return results, failures

    def _fail(self, info: PluginInfo, stage: str, exc: BaseException) -> PluginFailure:
        failure = PluginFailure(
            info, stage, f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc))
        )
        self._failures.append(failure)
        logger.warning("waferopt plugin %s failed at %s: %s", info.label, stage, failure.error)
        return failure

    def _add_records(self, records: Any, info: PluginInfo, hook_name: str) -> None:
        if records is None:
            return
        if isinstance(records, Registration):
            records = [records]
        records = list(records)
        for record in records:
            if not isinstance(record, Registration):
                raise TypeError(f"{hook_name} must return Registration records, got {record!r}")
        optimizers = hook_name == "register_optimizers"
        for record in records:
            if optimizers and record.kind is not Kind.OPTIMIZER:
                raise TypeError(f"{hook_name} returned {record.name!r} of kind {record.kind.value}")
            if not optimizers and record.kind is Kind.OPTIMIZER:
                raise TypeError(f"{hook_name} returned optimizer {record.name!r}")
        for record in records:
            self._index_entry(Entry(record, info))

    def _index_entry(self, entry: Entry) -> None:
        self._entries.append(entry)
        for name in (entry.name, *entry.registration.aliases):
            bucket = self._index.setdefault(name.lower(), [])
            if entry not in bucket:
                bucket.append(entry)

    def add(self, registration: Registration | type, *, kind: Kind | None = None) -> Entry:
        """Register a class at run time (a notebook's own optimizer, say).

        ``registration`` may be a class: its name is the class name and its kind is
        inferred from its base class unless ``kind`` is given.
        """
        self._ensure_loaded()
        if isinstance(registration, type):
            registration = Registration(
                registration.__name__,
                kind or _infer_kind(registration),
                registration,
                description=next(iter((registration.__doc__ or "").strip().splitlines()), ""),
            )
        entry = Entry(registration, RUNTIME)
        entry.load()
        with self._lock:
            self._index_entry(entry)
        return entry

    # ------------------------------------------------------------------ queries
    @property
    def entries(self) -> list[Entry]:
        """Every registration of every loaded plugin, in discovery order."""
        self._ensure_loaded()
        return list(self._entries)

    @property
    def failures(self) -> list[PluginFailure]:
        """Plugins that failed to import or whose hooks raised."""
        self._ensure_loaded()
        return list(self._failures)

    @property
    def plugins(self) -> list[PluginInfo]:
        """Plugins that loaded."""
        self._ensure_loaded()
        return list(self._plugins)

    def conflicts(self) -> dict[str, list[Entry]]:
        """Names that more than one registration claims."""
        self._ensure_loaded()
        return {name: list(es) for name, es in self._index.items() if _conflicting(es)}

    def names(self, kinds: Collection[Kind] | Kind | None = None) -> list[str]:
        """Registered names (not aliases), sorted, optionally of some kinds only."""
        kinds = _kinds(kinds)
        return sorted(
            {e.name for e in self.entries if kinds is None or e.kind in kinds}, key=str.lower
        )

    def find(self, name: str, kinds: Collection[Kind] | Kind | None = None) -> Entry | None:
        """The entry registered under ``name`` (case-insensitive), or None.

        Raises :class:`PluginConflictError` if several plugins register it.
        """
        self._ensure_loaded()
        if not isinstance(name, str):
            return None
        kinds = _kinds(kinds)
        bucket = [e for e in self._index.get(name.lower(), []) if kinds is None or e.kind in kinds]
        if not bucket:
            return None
        if _conflicting(bucket):
            providers = ", ".join(
                f"{e.registration.target_path} from {e.plugin.label}" for e in bucket
            )
            raise PluginConflictError(
                f"{name!r} is registered by more than one plugin: {providers}. "
                f"Uninstall one of them, or set {ENV_ONLY} to choose."
            )
        return bucket[0]

    def resolve(self, name: str, kinds: Collection[Kind] | Kind | None = None) -> type:
        """The class registered under ``name`` (case-insensitive).

        Raises :class:`NotInstalledError` naming the distribution to install for a
        first-party name, :class:`UnknownNameError` listing the closest installed
        names otherwise, and :class:`PluginConflictError` if two plugins claim it.
        """
        entry = self.find(name, kinds)
        if entry is None:
            raise self.unknown(name, kinds)
        return entry.load()

    def unknown(
        self, name: Any, kinds: Collection[Kind] | Kind | None = None, path: str = ""
    ) -> UnknownNameError:
        """The error for a name that is not registered (with install hint or suggestions)."""
        kinds = _kinds(kinds)
        what = (
            " or ".join(_KIND_LABEL[k] for k in sorted(kinds, key=list(Kind).index))
            if kinds
            else "name"
        )
        if not isinstance(name, str):
            return UnknownNameError(
                f"expected the name of an {what} as a string, got {name!r}", path
            )
        dist = distribution_for(name)
        other = self.find(name) if kinds is not None else None
        if other is not None:
            return UnknownNameError(
                f"{name!r} is registered as {_article(_KIND_LABEL[other.kind])}, not as {_article(what)}",
                path,
            )
        if dist is not None:
            return NotInstalledError(
                f"{canonical_name(name)!r} is provided by the distribution {dist!r}, which is not "
                f"installed: {install_hint(dist)}",
                path,
            )
        candidates = self.names(kinds)
        close = closest(name, candidates, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(candidates) if candidates else "none installed"
        failed = (
            f" ({len(self.failures)} plugin(s) failed to load: run `waferopt plugins`)"
            if self.failures
            else ""
        )
        return UnknownNameError(
            f"unknown {what} {name!r}.{hint} Installed: {listing}{failed}", path
        )


def _conflicting(entries: Iterable[Entry]) -> bool:
    """Whether ``entries`` (of one name) come from more than one plugin or class."""
    return len({(e.plugin, e.registration.target_path) for e in entries}) > 1


def _article(label: str) -> str:
    return f"an {label}" if label[:1] in "aeioLN" else f"a {label}"


def _kinds(kinds: Collection[Kind] | Kind | None) -> frozenset[Kind] | None:
    if kinds is None:
        return None
    if isinstance(kinds, Kind):
        return frozenset({kinds})
    return frozenset(Kind(k) for k in kinds)


def _infer_kind(cls: type) -> Kind:
    from waferopt.core import LRScheduler, Optimizer, Scheduler, WeightDecayScheduler

    if issubclass(cls, Optimizer):
        return Kind.OPTIMIZER
    if issubclass(cls, LRScheduler):
        return Kind.LR_SCHEDULER
    if issubclass(cls, WeightDecayScheduler):
        return Kind.WD_SCHEDULER
    if issubclass(cls, Scheduler):
        return Kind.SCHEDULER
    raise TypeError(f"{cls.__qualname__} is neither a waferopt Optimizer nor a Scheduler")


_registry: Registry | None = None
_registry_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry (created, not yet loaded, on first call)."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = Registry()
    return _registry


def reset_registry(registry: Registry | None = None) -> Registry:
    """Replace the process-wide registry (after installing a plugin, or in tests)."""
    global _registry
    with _registry_lock:
        _registry = registry if registry is not None else Registry()
    return _registry
