"""The base optimizer: all state created up front, ``step()`` updates it in place."""

from __future__ import annotations

import abc
import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from weakref import WeakKeyDictionary

import torch
from torch.utils.hooks import RemovableHandle

__all__ = ["Optimizer", "ZeroGradHook"]

ZeroGradHook = Callable[["Optimizer", tuple, dict], tuple | None]
"""``hook(optimizer, args, kwargs) -> None | (new_args, new_kwargs)``."""


def _normalize_tags(tags: Any) -> Any:
    if not tags:
        return tags
    if isinstance(tags, (list, tuple, set, frozenset)):
        return set(tags)
    return {tags}


class Optimizer(torch.optim.Optimizer, abc.ABC):
    """Base class of every waferopt optimizer.

    Subclasses implement :meth:`preinitialize`, which creates every state tensor the
    optimizer will ever need, and :meth:`step`, which only updates that state in
    place. The set of state keys and each state tensor's storage stay the same from
    construction on, so a step compiles once (``torch.compile(fullgraph=True)`` or a
    CUDA graph) and :meth:`load_state_dict` copies into the existing tensors.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        defaults: default values of the optimization options of each group.
        enable_global_step: keep a per-parameter ``state[p]["step"]`` float32
            counter, advanced by :meth:`increment_global_step`.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
        enable_global_step: bool = False,
    ) -> None:
        self._preinitialized = False
        super().__init__(params, defaults)
        self.enable_global_step = bool(enable_global_step)
        self._schedulers_registry: WeakKeyDictionary = WeakKeyDictionary()
        self._optimizer_zero_grad_pre_hooks: OrderedDict[int, ZeroGradHook] = OrderedDict()
        self._optimizer_zero_grad_post_hooks: OrderedDict[int, ZeroGradHook] = OrderedDict()
        self._initialize_state()
        self._preinitialized = True

    # ------------------------------------------------------------------ state set-up
    def _initialize_state(self) -> None:
        with torch.no_grad():
            self.preinitialize()
        if self.enable_global_step:
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    if "step" not in state:
                        state["step"] = torch.tensor(0.0, dtype=torch.float32, device=p.device)
        for group in self.param_groups:
            if "tags" in group:
                group["tags"] = _normalize_tags(group["tags"])

    @abc.abstractmethod
    def preinitialize(self) -> None:
        """Create every state tensor ahead of the first step.

        Runs when the optimizer is built and again when a param group is added later,
        so it must only create state that is missing (params already holding state
        keep it).
        """

    @abc.abstractmethod
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step. Creates no state; updates it in place."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        if getattr(self, "_preinitialized", False):
            self._initialize_state()

    def increment_global_step(self, p: torch.Tensor) -> torch.Tensor:
        """Add 1 to ``state[p]["step"]`` in place and return it (float32)."""
        state = self.state[p]
        if "step" not in state:
            raise RuntimeError(
                "No global step in the optimizer state: pass enable_global_step=True "
                f"to {type(self).__name__} to keep one"
            )
        state["step"].add_(1.0)
        return state["step"]

    # ------------------------------------------------------------------ zero_grad hooks
    def register_zero_grad_pre_hook(self, hook: ZeroGradHook) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs)`` to run before :meth:`zero_grad`.

        The hook may return ``(new_args, new_kwargs)`` to replace the arguments.
        """
        handle = RemovableHandle(self._optimizer_zero_grad_pre_hooks)
        self._optimizer_zero_grad_pre_hooks[handle.id] = hook
        return handle

    def register_zero_grad_post_hook(self, hook: ZeroGradHook) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs)`` to run after :meth:`zero_grad`.

        (Cerebras 2.3 stored post-hooks with the pre-hooks; here they run after.)
        """
        handle = RemovableHandle(self._optimizer_zero_grad_post_hooks)
        self._optimizer_zero_grad_post_hooks[handle.id] = hook
        return handle

    def zero_grad(self, *args: Any, **kwargs: Any) -> None:
        """Run the pre-hooks, torch's ``zero_grad``, then the post-hooks."""
        for hook in list(self._optimizer_zero_grad_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        "a zero_grad pre-hook must return None or (new_args, new_kwargs), "
                        f"got {result!r}"
                    )
                args, kwargs = tuple(result[0]), dict(result[1])
        super().zero_grad(*args, **kwargs)
        for hook in list(self._optimizer_zero_grad_post_hooks.values()):
            hook(self, args, kwargs)

    # ------------------------------------------------------------------ pickling
    _not_pickled: tuple[str, ...] = (
        "_schedulers_registry",
        "_optimizer_step_pre_hooks",
        "_optimizer_step_post_hooks",
        "_optimizer_state_dict_pre_hooks",
        "_optimizer_state_dict_post_hooks",
        "_optimizer_load_state_dict_pre_hooks",
        "_optimizer_load_state_dict_post_hooks",
        "_optimizer_zero_grad_pre_hooks",
        "_optimizer_zero_grad_post_hooks",
    )
    """Attributes left out of a pickle (hooks and weak references), recreated empty."""

    def __getstate__(self) -> dict[str, Any]:
        # torch.optim.Optimizer pickles only defaults, state and param_groups, which
        # would lose enable_global_step and any attribute a subclass keeps.
        return {k: v for k, v in self.__dict__.items() if k not in self._not_pickled}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("enable_global_step", False)
        self.__dict__.setdefault("_preinitialized", True)
        self._schedulers_registry = WeakKeyDictionary()
        self._optimizer_zero_grad_pre_hooks = OrderedDict()
        self._optimizer_zero_grad_post_hooks = OrderedDict()

    # ------------------------------------------------------------------ utilities
    def apply(self, f: Any) -> Any:
        """Return ``f(self)``, or ``f.apply(self)`` for an object with an ``apply`` method."""
        if callable(f):
            return f(self)
        apply = getattr(f, "apply", None)
        if callable(apply):
            return apply(self)
        raise TypeError(f"Expected a callable or an object with an 'apply' method, got {type(f)}")

    def visit_state(self, fn: Callable[[Any], Any]) -> None:
        """Call ``fn(value)`` on every state value; a non-None result replaces it."""
        for state in self.state.values():
            for key, value in list(state.items()):
                new = fn(value)
                if new is not None:
                    state[key] = new

    # ------------------------------------------------------------------ checkpoints
    def convert_state_dict(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Turn a foreign state dict (torch.optim, HuggingFace) into this class's layout.

        The default returns it unchanged. Overrides must not mutate the argument.
        """
        return state_dict

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:  # type: ignore[override]
        """Load a state dict into the existing state tensors.

        The whole state dict is checked first (group and parameter counts, parameter
        names where both sides know them, state keys, tensor shapes), and a
        ``ValueError`` says what does not fit; on error nothing has changed. Values
        are then copied into the existing tensors (same storages, so a captured or
        compiled step stays valid), and hyperparameters that a group holds as
        tensors are updated in place.
        """
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "optimizer state_dict must be a mapping with 'state' and 'param_groups'"
            )
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)  # type: ignore[arg-type]
            if result is not None:
                state_dict = result
        _check_state_dict_layout(type(self).__name__, state_dict)
        state_dict = self.convert_state_dict(dict(state_dict))
        plan = self._plan_load(state_dict)
        self._apply_load(*plan)
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    def check_scheduled_value(self, group_index: int, key: str, value: float) -> None:
        """Check a value a scheduler is about to write into ``param_groups[group_index]``
        at ``key`` (``"momentum"``, or a sequence element such as ``"betas[0]"``): raise
        ``ValueError`` when this optimizer would not accept it there.

        Schedulers call it at construction on the extremes of their closed form, and at
        each eager step for values that cannot be decided ahead (a ``LambdaLR``). The
        message names the optimizer (``"SGD: Invalid momentum value: ..."``). The base
        class accepts everything; a :class:`~waferopt.core.DeclaredOptimizer` runs the
        declared check of that hyperparameter.
        """

    def check_saved_group(self, index: int, saved: Mapping[str, Any]) -> None:
        """Check the hyperparameters of group ``index`` of a state dict before anything
        is loaded (``ValueError``); the base class checks none, a
        :class:`~waferopt.core.DeclaredOptimizer` runs its declared checks."""

    def _plan_load(
        self, state_dict: Mapping[str, Any]
    ) -> tuple[list[tuple[dict, dict]], list[tuple[torch.Tensor, dict]]]:
        cls = type(self).__name__
        saved_groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{cls}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                f"groups, the optimizer has {len(self.param_groups)}"
            )
        group_plan: list[tuple[dict, dict]] = []
        state_plan: list[tuple[torch.Tensor, dict]] = []
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            self.check_saved_group(gi, saved)
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{cls}.load_state_dict: parameter group {gi} has {len(saved['params'])} "
                    f"parameters in the state dict, {len(group['params'])} in the optimizer"
                )
            names, saved_names = group.get("param_names"), saved.get("param_names")
            if names is not None and saved_names is not None and list(names) != list(saved_names):
                diff = [(a, b) for a, b in zip(saved_names, names) if a != b][:3]
                raise ValueError(
                    f"{cls}.load_state_dict: parameter group {gi} names do not match "
                    f"(saved, here): {diff}"
                )
            for pi, (p, pid) in enumerate(zip(group["params"], saved["params"])):
                label = f"parameter {pi} of group {gi}" + (
                    f" ({names[pi]!r})" if names is not None else ""
                )
                current = self.state.get(p, {})
                loaded = saved_state.get(pid, {})
                missing = sorted(set(map(str, current)) - set(map(str, loaded)))
                extra = sorted(set(map(str, loaded)) - set(map(str, current)))
                if missing or extra:
                    raise ValueError(
                        f"{cls}.load_state_dict: state of {label} does not fit: "
                        + (f"missing keys {missing}" if missing else "")
                        + ("; " if missing and extra else "")
                        + (f"unexpected keys {extra}" if extra else "")
                    )
                for key, value in loaded.items():
                    here = current[key]
                    if isinstance(here, torch.Tensor):
                        if not isinstance(value, torch.Tensor):
                            value = torch.as_tensor(value)
                        if value.shape != here.shape:
                            raise ValueError(
                                f"{cls}.load_state_dict: state {key!r} of {label} has shape "
                                f"{tuple(value.shape)} in the state dict, {tuple(here.shape)} here"
                            )
                state_plan.append((p, loaded))
            group_plan.append((group, saved))
        return group_plan, state_plan

    def _apply_load(
        self, group_plan: list[tuple[dict, dict]], state_plan: list[tuple[torch.Tensor, dict]]
    ) -> None:
        with torch.no_grad():
            for p, loaded in state_plan:
                current = self.state[p]
                for key, value in loaded.items():
                    here = current[key]
                    if isinstance(here, torch.Tensor):
                        here.copy_(torch.as_tensor(value))
                    else:
                        current[key] = copy.deepcopy(value)
            for group, saved in group_plan:
                for key, value in saved.items():
                    if key in ("params", "param_names"):
                        continue
                    here = group.get(key)
                    if isinstance(here, torch.Tensor) and here.dim() == 0 and _is_number(value):
                        here.fill_(value if not isinstance(value, torch.Tensor) else value.item())
                    elif key == "tags":
                        group[key] = _normalize_tags(value)
                    else:
                        group[key] = copy.deepcopy(value)

    def state_dict(self) -> dict[str, Any]:  # type: ignore[override]
        """torch's layout: ``{"state": {index: {...}}, "param_groups": [...]}``."""
        return super().state_dict()


def _is_number(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.dim() == 0
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_state_dict_layout(cls: str, state_dict: Mapping[str, Any]) -> None:
    """``ValueError`` unless ``state_dict`` has torch's layout: a ``state`` mapping and a
    list of ``param_groups``, each a mapping with a ``params`` list."""
    if not isinstance(state_dict["state"], Mapping):
        raise ValueError(
            f"{cls}.load_state_dict: 'state' must be a mapping of parameter ids to state, "
            f"got {type(state_dict['state']).__name__}"
        )
    groups = state_dict["param_groups"]
    if not isinstance(groups, (list, tuple)):
        raise ValueError(
            f"{cls}.load_state_dict: 'param_groups' must be a list of groups, "
            f"got {type(groups).__name__}"
        )
    for gi, saved in enumerate(groups):
        if not isinstance(saved, Mapping) or not isinstance(saved.get("params"), (list, tuple)):
            raise ValueError(
                f"{cls}.load_state_dict: param_groups[{gi}] must be a mapping with a "
                "'params' list of parameter ids"
            )
