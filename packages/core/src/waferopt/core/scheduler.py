"""Generic schedulers: a value in closed form of the step count, bound to a param-group key."""

from __future__ import annotations

import abc
import re
import warnings
from collections.abc import Iterable
from typing import Any

import torch

from .optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "Scheduler",
    "WeightDecayScheduler",
    "read_group_value",
    "write_group_value",
]

_KEY_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d+)\])?$")


def _parse_key(key: str) -> tuple[str, int | None]:
    match = _KEY_RE.match(key) if isinstance(key, str) else None
    if match is None:
        raise ValueError(
            f"param_group_key must be a group key such as 'lr' or an element of a "
            f"sequence such as 'betas[0]', got {key!r}"
        )
    index = match.group("index")
    return match.group("name"), None if index is None else int(index)


def read_group_value(group: dict[str, Any], key: str) -> Any:
    """Read ``group[key]``; ``key`` may address a sequence element (``"betas[0]"``)."""
    name, index = _parse_key(key)
    if name not in group:
        raise KeyError(f"param group has no key {name!r} (it has {sorted(group)})")
    value = group[name]
    if index is None:
        return value
    if not isinstance(value, (list, tuple)) or index >= len(value):
        raise KeyError(f"param group key {name!r} holds {value!r}, which has no element {index}")
    return value[index]


def write_group_value(group: dict[str, Any], key: str, value: torch.Tensor) -> torch.Tensor:
    """Write a 0-d tensor into ``group[key]``: in place where a tensor is already there.

    Returns the tensor the group holds afterwards.
    """
    name, index = _parse_key(key)
    current = read_group_value(group, key)
    if isinstance(current, torch.Tensor) and current.dim() == 0:
        current.copy_(value)
        return current
    fresh = value.detach().clone()
    if index is None:
        group[name] = fresh
    else:
        seq = list(group[name])
        seq[index] = fresh
        group[name] = type(group[name])(seq) if isinstance(group[name], tuple) else seq
    return fresh


def _normalize_scheduler_tags(tags: Any) -> set | None:
    if tags is None:
        return None
    if isinstance(tags, (list, tuple, set, frozenset)):
        as_set = set(tags)
        if len(as_set) != len(tags):
            raise ValueError(f"param_group_tags contains duplicates: {list(tags)}")
        return as_set
    return {tags}


def _snapshot(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    return value


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
    before calling ``super().__init__``, which evaluates the value at step 0.

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

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int | None,
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} needs a waferopt.core.Optimizer, got "
                f"{type(optimizer).__module__}.{type(optimizer).__qualname__}"
            )
        if total_iters is not None and (
            isinstance(total_iters, bool) or not isinstance(total_iters, int) or total_iters < 0
        ):
            raise ValueError(f"total_iters must be a non-negative int or None, got {total_iters!r}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int >= -1, got {last_epoch!r}")
        _parse_key(self.param_group_key)
        self.optimizer = optimizer
        self.total_iters = total_iters
        self.param_group_tags = _normalize_scheduler_tags(param_group_tags)
        self._validate_tags_apply()
        for group in self._matching_groups():
            read_group_value(group, self.param_group_key)
        self._last_value: list[torch.Tensor | None] = [None] * len(optimizer.param_groups)
        self.last_epoch = torch.tensor(last_epoch, dtype=torch.int64, device=self.device)
        self._step_count = 0
        self._get_called_within_step = False
        optimizer._schedulers_registry[self] = True
        self.increment_last_epoch()
        self._step_count = 1
        self._post_init()

    def _post_init(self) -> None:
        """Write the value at the current step. Subclasses check consistency first."""
        self._update()

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
        if self.param_group_tags is None:
            return True
        tags = group.get("tags")
        if not tags:
            return False
        if not isinstance(tags, (set, frozenset, list, tuple)):
            tags = {tags}
        return bool(self.param_group_tags & set(tags))

    def _matching_groups(self) -> Iterable[dict[str, Any]]:
        return (g for g in self.optimizer.param_groups if self._should_apply_to_param_group(g))

    def _validate_tags_apply(self) -> None:
        if self.param_group_tags is None:
            return
        if not any(self._should_apply_to_param_group(g) for g in self.optimizer.param_groups):
            available = sorted(
                {str(t) for g in self.optimizer.param_groups for t in (g.get("tags") or ())}
            )
            raise ValueError(
                f"{type(self).__name__}: param_group_tags {sorted(map(str, self.param_group_tags))} "
                f"match no param group; the groups' tags are {available or 'none'}"
            )

    # ------------------------------------------------------------------ values
    @abc.abstractmethod
    def _get_closed_form(self) -> torch.Tensor:
        """The value at ``self.last_epoch``, as a 0-d tensor (tensor ops only)."""

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
        self.increment_last_epoch()
        if not torch.compiler.is_compiling():
            # A Python int that changes every step would be a guard of a compiled
            # step and recompile it each time; last_epoch (a tensor) is the count.
            self._step_count += 1
        self._update()

    def _update(self) -> None:
        self._get_called_within_step = True
        try:
            values = self.get()
        finally:
            self._get_called_within_step = False
        self.update_groups(values)

    def update_last_value(self, values: list[torch.Tensor | None] | None = None) -> None:
        """Record the values the groups now hold (for :meth:`get_last_value`)."""
        if values is not None:
            self._last_value = list(values)

    def update_groups(self, values: list[torch.Tensor | None]) -> None:
        """Write ``values`` (one per group, None to skip) into the param groups."""
        written: list[torch.Tensor | None] = []
        for group, value in zip(self.optimizer.param_groups, values):
            if value is None:
                written.append(None)
                continue
            written.append(write_group_value(group, self.param_group_key, value))
        self.update_last_value(written)

    def get_last_value(self) -> list[torch.Tensor | None]:
        """The values last written, one per param group (None where unmatched)."""
        return self._last_value

    # ------------------------------------------------------------------ checkpoints
    _not_saved: tuple[str, ...] = ("optimizer",)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (and anything in ``_not_saved``).

        Tensors are copied, so the dict is a snapshot: stepping on (which updates
        ``last_epoch`` and the written values in place) does not change it.
        """
        return {k: _snapshot(v) for k, v in self.__dict__.items() if k not in self._not_saved}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` and write the restored step's value.

        Unknown keys raise ``ValueError`` and leave the scheduler unchanged. The value
        is recomputed from the restored step, so the order in which optimizer and
        scheduler are loaded does not matter.
        """
        step = self._check_state_dict(state_dict)
        for key, value in state_dict.items():
            if key in ("last_epoch", "_step_count", "_last_value"):
                continue
            setattr(self, key, value)
        self.param_group_tags = _normalize_scheduler_tags(self.param_group_tags)
        self._validate_tags_apply()
        self.last_epoch.copy_(step)
        self._update()

    def _check_state_dict(self, state_dict: Any) -> torch.Tensor:
        """The checks of :meth:`load_state_dict`, changing nothing: a dict of known keys
        with an integer ``last_epoch``, which is returned as a tensor."""
        if not isinstance(state_dict, dict) or "last_epoch" not in state_dict:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected a dict with 'last_epoch'"
            )
        unknown = sorted(set(state_dict) - set(self.__dict__) - {"_step_count"})
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unknown keys {unknown}; "
                f"expected a subset of {sorted(self.state_dict())}"
            )
        step = torch.as_tensor(state_dict["last_epoch"])
        if step.dim() != 0 or step.is_floating_point():
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: last_epoch must be an integer"
            )
        return step


class LRScheduler(Scheduler, torch.optim.lr_scheduler.LRScheduler):  # type: ignore[misc]
    """A scheduler of the learning rate (``param_group_key == "lr"``).

    Also an instance of ``torch.optim.lr_scheduler.LRScheduler`` for libraries that
    check for it; torch's constructor is not run (values are in closed form).
    """

    @property
    def param_group_key(self) -> str:
        return "lr"

    def get_last_lr(self) -> list[torch.Tensor | None]:  # type: ignore[override]
        """The learning rates last written, one per param group."""
        return self.get_last_value()

    def get_lr(self) -> list[torch.Tensor | None]:  # type: ignore[override]
        return self.get()

    # torch's LRScheduler defines these; ours come from Scheduler.
    step = Scheduler.step  # type: ignore[assignment]
    state_dict = Scheduler.state_dict  # type: ignore[assignment]
    load_state_dict = Scheduler.load_state_dict  # type: ignore[assignment]


class WeightDecayScheduler(Scheduler):
    """A scheduler of the weight decay (``param_group_key == "weight_decay"``)."""

    @property
    def param_group_key(self) -> str:
        return "weight_decay"
