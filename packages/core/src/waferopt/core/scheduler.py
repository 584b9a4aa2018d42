"""Generic schedulers: a value in closed form of the step count, bound to a param-group key.

This module holds the machinery every scheduler shares: the step counter, the
matching of param groups by tags, the writing of values into the groups, the
checkpoint format, and the two ways a step is evaluated:

* **eager** (the usual case): the closed form is evaluated on the host in Python
  floats and each matching group's 0-d tensor is updated with one ``fill_`` (one
  kernel on a GPU, no host sync);
* **traced** (under ``torch.compile`` or while a CUDA graph is being captured): the
  closed form is evaluated with tensor operations from the step counter, a 0-d
  ``int64`` tensor, so that the graph does not depend on the step's value.

Both give the same value to float32 rounding. A scheduler written the spec's way
(a subclass defining ``_get_closed_form`` with tensor ops) always takes the traced
path; one written with :mod:`waferopt.core.schedule` (a formula that accepts a
Python float or a tensor) takes both.
"""

from __future__ import annotations

import abc
import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import torch

from .optimizer import Optimizer
from .validation import FLOAT32_MAX

__all__ = [
    "LRScheduler",
    "ScheduledValueError",
    "Scheduler",
    "WeightDecayScheduler",
    "group_matches",
    "normalize_tags",
    "parse_group_key",
    "read_group_value",
    "write_group_value",
]

_KEY_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d+)\])?$")


def parse_group_key(key: str) -> tuple[str, int | None]:
    """Split a param-group key into ``(name, index)``: ``"lr"`` -> ``("lr", None)``,
    ``"betas[0]"`` -> ``("betas", 0)``.

    Raises:
        ValueError: ``key`` is not a group key nor an element of one.
    """
    match = _KEY_RE.match(key) if isinstance(key, str) else None
    if match is None:
        raise ValueError(
            f"param_group_key must be a group key such as 'lr' or an element of a "
            f"sequence such as 'betas[0]', got {key!r}"
        )
    index = match.group("index")
    return match.group("name"), None if index is None else int(index)


_parse_key = parse_group_key  # the name of the first release


def read_group_value(group: dict[str, Any], key: str) -> Any:
    """Read ``group[key]``; ``key`` may address a sequence element (``"betas[0]"``)."""
    name, index = parse_group_key(key)
    if name not in group:
        raise KeyError(f"param group has no key {name!r} (it has {sorted(group)})")
    value = group[name]
    if index is None:
        return value
    if not isinstance(value, (list, tuple)) or index >= len(value):
        raise KeyError(f"param group key {name!r} holds {value!r}, which has no element {index}")
    return value[index]


def _store(group: dict[str, Any], name: str, index: int | None, fresh: Any) -> None:
    if index is None:
        group[name] = fresh
    else:
        seq = list(group[name])
        seq[index] = fresh
        group[name] = type(group[name])(seq) if isinstance(group[name], tuple) else seq


def write_group_value(group: dict[str, Any], key: str, value: torch.Tensor) -> torch.Tensor:
    """Write a 0-d tensor into ``group[key]``: in place where a tensor is already there.

    Returns the tensor the group holds afterwards.
    """
    name, index = parse_group_key(key)
    current = read_group_value(group, key)
    if isinstance(current, torch.Tensor) and current.dim() == 0:
        current.copy_(value)
        return current
    fresh = value.detach().clone()
    _store(group, name, index, fresh)
    return fresh


def normalize_tags(tags: Any) -> set[Any] | None:
    """``param_group_tags`` as a set: ``None`` stays ``None`` (every group), a list,
    tuple or set becomes a set, any other value ``v`` becomes ``{v}``.

    Raises:
        ValueError: the collection holds duplicates.
    """
    if tags is None:
        return None
    if isinstance(tags, (list, tuple, set, frozenset)):
        as_set = set(tags)
        if len(as_set) != len(tags):
            raise ValueError(f"param_group_tags contains duplicates: {list(tags)}")
        return as_set
    return {tags}


_normalize_scheduler_tags = normalize_tags  # the name of the first release


def group_matches(tags: set[Any] | None, group: dict[str, Any]) -> bool:
    """Whether a scheduler with ``tags`` (normalised) applies to ``group``: every group
    when ``tags`` is None, else the groups whose ``tags`` intersect them."""
    if tags is None:
        return True
    own = group.get("tags")
    if not own:
        return False
    if not isinstance(own, (set, frozenset, list, tuple)):
        own = {own}
    return bool(tags & set(own))


def decisive_steps(total: int | None) -> list[int]:
    """The steps at which a closed form is checked ahead: the first 128, a grid of 256
    steps up to ``total`` or 10**4 (whichever is longer) and the steps around ``total``.
    (The shapes are monotone or periodic between those points, so their extrema are
    among them; a schedule that grows without end is checked over its first 10**4
    steps.)"""
    horizon = max(10_000, 0 if total is None else int(total))
    steps = set(range(129))
    steps.update(range(0, horizon + 1, max(1, horizon // 256)))
    if total is not None:
        steps.update(range(max(0, total - 1), total + 4))
    return sorted(steps)


class ScheduledValueError(ValueError):
    """A value a scheduler computed at a step cannot go into the param group (raised
    at that step, before anything is written; the step count stays where it was)."""


def _value_problem(optimizer: Optimizer, index: int, key: str, value: float) -> str | None:
    """Why ``value`` cannot be written into ``optimizer.param_groups[index][key]``, or None."""
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        return "which is not finite in float32"
    if key in ("lr", "weight_decay") and value < 0:
        return "which is negative"
    try:
        optimizer.check_scheduled_value(index, key, value)
    except (ValueError, TypeError) as exc:
        return f"which the optimizer does not accept ({exc})"
    return None


def _snapshot(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return value


def _host_step_allowed(scheduler: Scheduler) -> bool:
    """Not traced by dynamo, not captured in a CUDA graph: Python may read and branch."""
    if torch.compiler.is_compiling():
        return False
    return not (scheduler._on_cuda and torch.cuda.is_current_stream_capturing())


class Scheduler(abc.ABC):
    """Base class of every scheduler: a value in closed form of the step count.

    A scheduler writes ``value(t)`` into ``group[param_group_key]`` of every param
    group it applies to, where ``t`` is ``last_epoch`` (0 right after construction,
    ``k`` after ``k`` calls to :meth:`step`). Values are 0-d float32 tensors; once a
    group holds a tensor it is updated in place, so a compiled step that reads it
    does not recompile as the value moves.

    Subclasses define :attr:`param_group_key` and :meth:`_get_closed_form`, which
    returns the value at ``self.last_epoch`` using tensor operations only (no
    ``.item()``, no Python branch on tensor values). They set their own attributes
    before calling ``super().__init__``, which evaluates the value at step 0. (The
    public way to write a schedule once and get its LR, weight-decay and any-key
    classes, with a fast eager step, is :mod:`waferopt.core.schedule`.)

    Checkpoints: :meth:`state_dict` holds :attr:`state_keys` (the step machinery)
    and the class's declared hyperparameters (:meth:`hyperparameter_names`); private
    attributes are never saved.

    Args:
        optimizer: the waferopt optimizer whose param groups to drive.
        total_iters: the schedule's duration in steps (used for ``SequentialLR``
            milestones), or ``None`` if it has none.
        last_epoch: the step before the first one; ``-1`` starts at step 0.
        param_group_tags: apply only to groups whose ``tags`` intersect these;
            ``None`` applies to every group.
    """

    value_dtype: torch.dtype = torch.float32
    """dtype of the values written into the param groups."""

    state_keys: ClassVar[tuple[str, ...]] = (
        "total_iters",
        "param_group_tags",
        "_last_value",
        "last_epoch",
        "_step_count",
        "_get_called_within_step",
    )
    """The keys of :meth:`state_dict` every scheduler has (docs/explanation/semantics.md#semantics-3)."""

    composite: ClassVar[str | None] = None
    """What the configuration layer builds this class from: ``None`` (arguments only),
    ``"sequential"`` (an optimizer, children and milestones computed from the
    children's ``total_iters``), ``"chained"`` (children first, no optimizer) or
    ``"wrapper"`` (an optimizer and one child)."""

    children_argument: ClassVar[str] = "schedulers"
    """The constructor argument a composite takes its children by."""

    argument_aliases: ClassVar[Mapping[str, str]] = {}
    """Other names of the constructor's arguments: ``{"initial_val":
    "initial_learning_rate"}`` on an LR class (the generic names are properties)."""

    hyperparameters: ClassVar[tuple[str, ...] | None] = None
    """Attribute names saved besides :attr:`state_keys`; ``None`` (a class written the
    spec's way) saves the public attributes the subclass set."""

    _host_form: ClassVar[bool] = False
    """Whether :meth:`_value_host` evaluates the closed form in Python floats (set by
    :mod:`waferopt.core.schedule`; a subclass overriding ``_get_closed_form`` loses it)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if ("_get_closed_form" in own or "_values_per_group" in own) and "_value_host" not in own:
            cls._host_form = False

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int | None,
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            kind = f"{type(optimizer).__module__}.{type(optimizer).__qualname__}"
            hint = (
                "; build the optimizer from waferopt instead (waferopt.optim.configure_optimizer, "
                "or the class of the same name in waferopt.optim: same arguments), or keep the "
                "torch optimizer and use torch.optim.lr_scheduler"
                if isinstance(optimizer, torch.optim.Optimizer)
                else ""
            )
            raise TypeError(
                f"{type(self).__name__} needs a waferopt.core.Optimizer, got {kind}{hint}"
            )
        if total_iters is not None and (
            isinstance(total_iters, bool) or not isinstance(total_iters, int) or total_iters < 0
        ):
            raise ValueError(f"total_iters must be a non-negative int or None, got {total_iters!r}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int >= -1, got {last_epoch!r}")
        name, index = parse_group_key(self.param_group_key)
        self._key_name, self._key_index = name, index
        self.optimizer = optimizer
        self.total_iters = total_iters
        self.param_group_tags = normalize_tags(param_group_tags)
        self._validate_tags_apply()
        for group in self._matching_groups():
            read_group_value(group, self.param_group_key)
        without_initial_lr = [g for g in optimizer.param_groups if "initial_lr" not in g]
        self._set_initial_lr()
        self._last_value: list[torch.Tensor | None] = [None] * len(optimizer.param_groups)
        self._epoch_t = torch.tensor(last_epoch + 1, dtype=torch.int64, device=self.device)
        self._on_cuda = self._epoch_t.device.type == "cuda"
        self._match: tuple[int, list[int]] | None = None
        self._host_ok = self._compute_host_ok()
        self._epoch_host: int | None = last_epoch + 1
        self._epoch_stale = False
        self._step_override: torch.Tensor | None = None
        # group index -> (the tensor last written there, its version counter after the
        # write): a different version at the next write means someone else wrote it.
        self._written: dict[int, tuple[torch.Tensor, int]] = {}
        self._fight_warned = False
        self._step_count = 1
        self._get_called_within_step = False
        optimizer._schedulers_registry[self] = True
        try:
            self._post_init()
        except BaseException:
            # A check of the first value failed: leave the optimizer as it was.
            optimizer._schedulers_registry.pop(self, None)
            for group in without_initial_lr:
                group.pop("initial_lr", None)
            raise

    def _post_init(self) -> None:
        """Write the value at the current step. Subclasses check consistency first."""
        self._update()

    def _set_initial_lr(self) -> None:
        """Hook for :class:`LRScheduler` (torch's ``initial_lr``); nothing here."""
        return

    # ------------------------------------------------------------------ the step count
    @property
    def last_epoch(self) -> torch.Tensor:
        """The step count, a 0-d ``int64`` tensor on :attr:`device` (the scheduler's
        own: composites never write into their children's)."""
        override = self._step_override
        if override is not None:
            return override
        if self._epoch_stale:
            self._epoch_t.fill_(self._epoch_host)  # type: ignore[arg-type]
            self._epoch_stale = False
        return self._epoch_t

    @last_epoch.setter
    def last_epoch(self, value: Any) -> None:
        current = self.last_epoch
        if value is not current:
            current.copy_(torch.as_tensor(value))
        self._epoch_host = None if not _host_step_allowed(self) else int(current)

    def _host_step(self) -> int | None:
        """The step count as a Python int where it is known on the host (eager)."""
        if self._epoch_host is None and _host_step_allowed(self):
            self._epoch_host = int(self._epoch_t)  # once, after a traced step
            self._written.clear()
        return self._epoch_host

    # ------------------------------------------------------------------ properties
    @property
    @abc.abstractmethod
    def param_group_key(self) -> str:
        """The param-group key this scheduler writes: ``"lr"``, ``"weight_decay"``,
        ``"momentum"``, or a sequence element such as ``"betas[0]"``."""

    @property
    def device(self) -> torch.device:
        """Device of the optimizer's first parameter (where values are computed)."""
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                return p.device
        return torch.device("cpu")

    @property
    def compute_dtype(self) -> torch.dtype:
        """dtype for the closed-form arithmetic: float64 where the device has it."""
        return torch.float32 if self.device.type == "mps" else torch.float64

    def step_as_float(self) -> torch.Tensor:
        """``last_epoch`` as a tensor of :attr:`compute_dtype`."""
        return self.last_epoch.to(self.compute_dtype)

    def constant(self, value: float) -> torch.Tensor:
        """A 0-d tensor of :attr:`compute_dtype` on :attr:`device`."""
        return torch.tensor(value, dtype=self.compute_dtype, device=self.device)

    # ------------------------------------------------------------------ matching
    def _should_apply_to_param_group(self, group: dict[str, Any]) -> bool:
        return group_matches(self.param_group_tags, group)

    def _matching_groups(self) -> Iterable[dict[str, Any]]:
        return (g for g in self.optimizer.param_groups if self._should_apply_to_param_group(g))

    def _validate_tags_apply(self, tags: Any = ...) -> None:
        tags = self.param_group_tags if tags is ... else tags
        if tags is None:
            return
        if not any(group_matches(tags, g) for g in self.optimizer.param_groups):
            available = sorted(
                {str(t) for g in self.optimizer.param_groups for t in (g.get("tags") or ())}
            )
            raise ValueError(
                f"{type(self).__name__}: param_group_tags {sorted(map(str, tags))} "
                f"match no param group; the groups' tags are {available or 'none'}"
            )

    # ------------------------------------------------------------------ values
    @abc.abstractmethod
    def _get_closed_form(self) -> torch.Tensor:
        """The value at ``self.last_epoch``, as a 0-d tensor (tensor ops only)."""

    def _value_tensor(self, step: torch.Tensor) -> torch.Tensor:
        """The closed form at ``step`` (a 0-d int64 tensor), without changing the
        scheduler: composites evaluate their children with it."""
        previous = self._step_override
        self._step_override = step
        try:
            return self._get_closed_form()
        finally:
            self._step_override = previous

    def _value_host(self, step: int) -> float:
        """The closed form at ``step`` in Python floats (only when :attr:`_host_form`)."""
        raise NotImplementedError(f"{type(self).__name__} has no host form")

    def _compute_host_ok(self) -> bool:
        """Whether this instance can take the eager host path (composites: every child)."""
        return self._host_form

    def _values_host(self, step: int) -> float | list[float | None]:
        """The value at ``step`` in Python floats: one number for every matching group,
        or a list with one entry per group (None where unmatched)."""
        return self._value_host(step)

    def get(self) -> list[torch.Tensor | None]:
        """The value for each param group at the current step (None where unmatched)."""
        if not self._get_called_within_step:
            warnings.warn(
                "To get the last value computed by the scheduler, use get_last_value()",
                UserWarning,
                stacklevel=2,
            )
        return self._values_per_group()

    def _values_per_group(self) -> list[torch.Tensor | None]:
        """What :meth:`get` returns, without its warning: the closed form for each
        matching group, None elsewhere. Override to vary the value per group."""
        value = self._get_closed_form().to(self.value_dtype)
        return [
            value if self._should_apply_to_param_group(g) else None
            for g in self.optimizer.param_groups
        ]

    def increment_last_epoch(self) -> None:
        """Advance ``last_epoch`` by one, in place."""
        self.last_epoch.add_(1)

    def step(self, *args: Any, **kwargs: Any) -> None:
        """Advance one step and write the new value into the param groups."""
        if self._host_ok and not torch.compiler.is_compiling():
            host = self._epoch_host
            if host is not None and not (
                self._on_cuda and torch.cuda.is_current_stream_capturing()
            ):
                host += 1
                self._epoch_host = host
                self._epoch_stale = True
                self._step_count += 1
                self._write_host(self._values_host(host))
                return
        self.increment_last_epoch()
        if not _host_step_allowed(self):
            self._epoch_host = None
            self._update()
            return
        # A Python int that changes every step would be a guard of a compiled
        # step and recompile it each time; last_epoch (a tensor) is the count.
        self._step_count += 1
        if self._epoch_host is not None:
            self._epoch_host += 1
        try:
            self._update()
        except ScheduledValueError:
            # The value at the new step is rejected: stay at the step before.
            self.last_epoch.sub_(1)
            self._step_count -= 1
            if self._epoch_host is not None:
                self._epoch_host -= 1
            raise

    def _update(self) -> None:
        """Write the value at the current step: on the host where allowed, else traced."""
        if self._host_ok and _host_step_allowed(self):
            host = self._host_step()
            if host is not None:
                self._write_host(self._values_host(host))
                return
        self._update_traced()

    def _update_traced(self) -> None:
        """Write the value at ``last_epoch`` computed with tensor ops (the compiled path)."""
        self._get_called_within_step = True
        try:
            values = self.get()
        finally:
            self._get_called_within_step = False
        if not self._on_cuda and self._epoch_t.device.type == "cpu" and _host_step_allowed(self):
            # Eager on the CPU, and no host form: values that could not be checked
            # ahead (a LambdaLR's function, a closed form written with tensor ops) are
            # checked as they come, before anything is written. (On an accelerator
            # reading them would wait for the device at every step: not checked there.)
            self._check_values(values)
        self.update_groups(values)

    def _check_ahead(self) -> None:
        """Check the values of the host form at :func:`decisive_steps` in every group
        it writes (finite in float32, ``lr`` / ``weight_decay`` >= 0, the optimizer's
        bounds for the key at each group's smallest and largest value); ``ValueError``
        naming the scheduler, the value and the step. For a scheduler that combines
        others (a product, per-group factors), whose children were checked alone."""
        groups = self.optimizer.param_groups
        key = self.param_group_key
        extremes: dict[int, tuple[tuple[float, int], ...]] = {}
        first_bad: dict[int, tuple[float, int]] = {}  # the first value float32 cannot hold
        for step in decisive_steps(self.total_iters):
            values = self._values_host(step)
            per_group = (
                values
                if isinstance(values, list)
                else [values if self._should_apply_to_param_group(g) else None for g in groups]
            )
            for index, value in enumerate(per_group):
                if value is None or index in first_bad:
                    continue
                if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
                    first_bad[index] = (value, step)
                    continue
                low, high = extremes.get(index, ((value, step), (value, step)))
                extremes[index] = (
                    (value, step) if value < low[0] else low,
                    (value, step) if value > high[0] else high,
                )
        for index, pair in [*((i, (v,)) for i, v in first_bad.items()), *extremes.items()]:
            for value, step in dict.fromkeys(pair):
                problem = _value_problem(self.optimizer, index, key, value)
                if problem is not None:
                    raise ValueError(
                        f"{type(self).__name__}: the schedule gives {key} {value!r} at step "
                        f"{step} for param group {index}, {problem}"
                    )

    def _check_values(self, values: list[torch.Tensor | None]) -> None:
        """Raise :class:`ScheduledValueError` naming this scheduler and the step when a
        value is not finite in float32, is a negative ``lr`` / ``weight_decay``, or is
        outside what the optimizer accepts for the key
        (:meth:`~waferopt.core.Optimizer.check_scheduled_value`)."""
        read: dict[int, float] = {}
        for index, value in enumerate(values):
            if value is None:
                continue
            number = read.get(id(value))
            if number is None:
                # A CPU value: reading it waits for nothing. It is read out of sight of
                # torch-function modes, so that a tool looking for reads that would wait
                # for a device (the conformance kit's no_host_sync) sees this step as it
                # runs on an accelerator, where nothing is read.
                with torch._C.DisableTorchFunction():
                    number = read[id(value)] = float(value)
            problem = _value_problem(self.optimizer, index, self.param_group_key, number)
            if problem is not None:
                step = self._host_step()
                raise ScheduledValueError(
                    f"{type(self).__name__}: at step {step} the schedule gives "
                    f"{self.param_group_key} {number!r} for param group {index}, {problem}; "
                    "nothing was written"
                )

    def _matching_indices(self) -> list[int]:
        groups = self.optimizer.param_groups
        match = self._match
        if match is None or match[0] != len(groups):
            indices = [i for i, g in enumerate(groups) if self._should_apply_to_param_group(g)]
            match = self._match = (len(groups), indices)
        return match[1]

    def _write_host(self, values: float | list[float | None]) -> None:
        """Write Python floats: ``values`` is one number for every matching group, or one
        entry per group (None to skip). One ``fill_`` per group that already holds a
        0-d tensor; a new float32 tensor otherwise."""
        groups = self.optimizer.param_groups
        if len(self._last_value) != len(groups):
            self._last_value = [None] * len(groups)
        if isinstance(values, list):
            for i, value in enumerate(values):
                if value is None:
                    self._last_value[i] = None
                else:
                    self._write_one(groups, i, value)
            return
        match = self._match
        if match is None or match[0] != len(groups):
            self._matching_indices()
            match = self._match
        for i in match[1]:  # type: ignore[index]
            self._write_one(groups, i, values)

    def _write_one(self, groups: list[dict[str, Any]], i: int, value: float) -> None:
        group = groups[i]
        index = self._key_index
        current = group[self._key_name] if index is None else group[self._key_name][index]
        if isinstance(current, torch.Tensor) and current.dim() == 0:
            seen = self._written.get(i)
            if seen is not None and seen[0] is current and current._version != seen[1]:
                self._other_writer(i, current)
            current.fill_(value)
            self._written[i] = (current, current._version)
            self._last_value[i] = current
            return
        fresh = torch.tensor(value, dtype=self.value_dtype, device=self._epoch_t.device)
        _store(group, self._key_name, index, fresh)
        self._written[i] = (fresh, fresh._version)
        self._last_value[i] = fresh

    def _other_writer(self, index: int, current: torch.Tensor) -> None:
        """Someone wrote our key since our last write. When a torch LR scheduler drives
        the same optimizer, the two fight over the key: warn once, naming both. (An
        optimizer's ``load_state_dict`` or a user's edit is not a fight.)"""
        if self._fight_warned or self._key_name != "lr":
            return
        group = self.optimizer.param_groups[index]
        initial = group.get("initial_lr")
        if initial is not None and bool(torch.as_tensor(initial).to(current) == current):
            return  # torch's SequentialLR resetting the groups to initial_lr: not a fight
        others = _other_schedulers(self)
        if not others:
            return
        self._fight_warned = True
        warnings.warn(
            f"{type(self).__name__} overwrites param_groups[{index}]['lr'], which "
            f"{' and '.join(others)} changed since {type(self).__name__}'s last step: a "
            "waferopt closed form does not chain on the value another scheduler wrote. Put "
            "the waferopt scheduler in a torch SequentialLR (one scheduler at a time), or "
            "chain waferopt schedulers with waferopt's ChainedLR. This warning is shown once.",
            UserWarning,
            stacklevel=3,
        )

    def update_last_value(self, values: list[torch.Tensor | None] | None = None) -> None:
        """Record the values the groups now hold (for :meth:`get_last_value`)."""
        if values is not None:
            self._last_value = list(values)

    def update_groups(self, values: list[torch.Tensor | None]) -> None:
        """Write ``values`` (one per group, None to skip) into the param groups."""
        written: list[torch.Tensor | None] = []
        for i, (group, value) in enumerate(zip(self.optimizer.param_groups, values)):
            if value is None:
                written.append(None)
                continue
            tensor = write_group_value(group, self.param_group_key, value)
            if not torch.compiler.is_compiling():
                self._written[i] = (tensor, tensor._version)
            written.append(tensor)
        self.update_last_value(written)

    def get_last_value(self) -> list[torch.Tensor | None]:
        """The values last written, one per param group (None where unmatched)."""
        return self._last_value

    # ------------------------------------------------------------------ checkpoints
    def hyperparameter_names(self) -> tuple[str, ...]:
        """The attributes :meth:`state_dict` saves besides :attr:`state_keys`."""
        if self.hyperparameters is not None:
            return self.hyperparameters
        skip = {"optimizer", "device", *self.state_keys}
        return tuple(k for k in self.__dict__ if not k.startswith("_") and k not in skip)

    def state_dict(self) -> dict[str, Any]:
        """The declared state: :meth:`hyperparameter_names` and :attr:`state_keys`.

        Tensors are copied, so the dict is a snapshot: stepping on (which updates
        ``last_epoch`` and the written values in place) does not change it.
        """
        state = {name: _snapshot(getattr(self, name)) for name in self.hyperparameter_names()}
        for key in self.state_keys:
            state[key] = _snapshot(getattr(self, key))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` and write the restored step's value.

        Every key is checked before anything is set: unknown keys, a ``last_epoch``
        that is not an integer >= -1, invalid hyperparameters or tags that match no
        group raise ``ValueError`` and leave the scheduler unchanged. The value is
        recomputed from the restored step, so the order in which optimizer and
        scheduler are loaded does not matter.
        """
        self._prepare_load(state_dict)()

    def _prepare_load(self, state_dict: Any, write: bool = True) -> Callable[[], None]:
        """Check ``state_dict`` completely; return the function that applies it (and,
        with ``write``, writes the restored value: a composite's children do not)."""
        step = self._check_state_dict(state_dict)
        settings: dict[str, Any] = {}
        if "param_group_tags" in state_dict:
            tags = normalize_tags(state_dict["param_group_tags"])
            self._validate_tags_apply(tags)
            settings["param_group_tags"] = tags
        if "total_iters" in state_dict:
            total = state_dict["total_iters"]
            if total is not None and (
                isinstance(total, bool) or not isinstance(total, int) or total < 0
            ):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: total_iters must be a non-negative "
                    f"int or None, got {total!r}"
                )
            settings["total_iters"] = total
        settings.update(self._check_hyperparameters(state_dict))

        def apply() -> None:
            for key, value in settings.items():
                setattr(self, key, value)
            self._match = None
            self._set_step(step)
            if write:
                self._update()

        return apply

    def _check_hyperparameters(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """The hyperparameters of ``state_dict`` to set, checked (override to validate)."""
        names = set(self.hyperparameter_names())
        return {k: v for k, v in state_dict.items() if k in names}

    def _set_step(self, step: torch.Tensor) -> None:
        self._epoch_t.copy_(step)
        self._epoch_stale = False
        self._epoch_host = int(step) if _host_step_allowed(self) else None

    def _check_state_dict(self, state_dict: Any) -> torch.Tensor:
        """The checks of :meth:`load_state_dict` on the keys, changing nothing: a dict of
        known keys with an integer ``last_epoch``, which is returned as a tensor."""
        if not isinstance(state_dict, dict) or "last_epoch" not in state_dict:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected a dict with 'last_epoch'"
            )
        known = {*self.state_keys, *self.hyperparameter_names()}
        # The first release saved every attribute: a private one this instance has is an
        # old checkpoint's, and is ignored (never set).
        legacy = {
            k for k in state_dict if isinstance(k, str) and k.startswith("_") and k in self.__dict__
        }
        unknown = sorted(map(str, set(state_dict) - known - legacy))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unknown keys {unknown}; "
                f"expected a subset of {sorted(known)}"
            )
        step = torch.as_tensor(state_dict["last_epoch"])
        if step.dim() != 0 or step.is_floating_point() or step.dtype == torch.bool:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: last_epoch must be an integer"
            )
        if int(step) < -1:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: last_epoch must be >= -1 (the step "
                f"before the first one), got {int(step)}"
            )
        return step


def _other_schedulers(scheduler: Scheduler) -> list[str]:
    """Names of the torch LR schedulers driving the same optimizer (for a warning; a
    walk over the optimizer's referrers, done at most until the warning is given)."""
    import gc

    def is_torch_scheduler(obj: Any) -> bool:
        return (
            isinstance(obj, torch.optim.lr_scheduler.LRScheduler)
            and not isinstance(obj, Scheduler)
            and not hasattr(obj, "_schedulers")  # torch's SequentialLR / ChainedScheduler
            and getattr(obj, "optimizer", None) is scheduler.optimizer
        )

    found: set[str] = set()
    for holder in gc.get_referrers(scheduler.optimizer):
        owners = gc.get_referrers(holder) if isinstance(holder, dict) else [holder]
        for owner in owners:
            if is_torch_scheduler(owner):
                found.add(f"torch.optim.lr_scheduler.{type(owner).__name__}")
    return sorted(found)


class LRScheduler(Scheduler, torch.optim.lr_scheduler.LRScheduler):  # type: ignore[misc]
    """A scheduler of the learning rate (``param_group_key == "lr"``).

    Also an instance of ``torch.optim.lr_scheduler.LRScheduler``, so that torch's
    ``SequentialLR`` and ``ChainedScheduler`` (and libraries that check for it) accept
    it; torch's constructor is not run (values are in closed form). Like torch's
    schedulers it sets ``initial_lr`` in every group that has none, to the group's
    ``lr`` at construction (a copy, never the same tensor object: pytorch #162359),
    so that a torch scheduler placed after it starts from that value.
    """

    @property
    def param_group_key(self) -> str:
        return "lr"

    def _set_initial_lr(self) -> None:
        for group in self.optimizer.param_groups:
            if "initial_lr" not in group:
                lr = group["lr"]
                group["initial_lr"] = lr.detach().clone() if isinstance(lr, torch.Tensor) else lr

    def get_last_lr(self) -> list[torch.Tensor | None]:  # type: ignore[override]
        """The learning rates last written, one per param group."""
        return self.get_last_value()

    def get_lr(self) -> list[torch.Tensor | None]:  # type: ignore[override]
        return self.get()

    def _update_lr(self, epoch: int | None = None) -> None:
        """torch's entry point (``SequentialLR`` calls ``_update_lr(0)`` at a milestone):
        the next step, or the given step, written in closed form."""
        if epoch is None:
            self.step()
            return
        self._written.clear()  # a hand-over (SequentialLR's milestone), not a fight
        self._set_step(torch.as_tensor(int(epoch)))
        self._update()

    # torch's LRScheduler defines these; ours come from Scheduler.
    step = Scheduler.step  # type: ignore[assignment]
    state_dict = Scheduler.state_dict  # type: ignore[assignment]
    load_state_dict = Scheduler.load_state_dict  # type: ignore[assignment]
    last_epoch = Scheduler.last_epoch  # type: ignore[assignment]


class WeightDecayScheduler(Scheduler):
    """A scheduler of the weight decay (``param_group_key == "weight_decay"``)."""

    @property
    def param_group_key(self) -> str:
        return "weight_decay"
