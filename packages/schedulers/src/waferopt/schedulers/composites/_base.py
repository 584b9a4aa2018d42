"""The base of the schedulers built from other schedulers, and its LR / WD bindings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from waferopt.core import LRScheduler, Optimizer, Scheduler, WeightDecayScheduler
from waferopt.core.schedule import checks
from waferopt.core.scheduler import normalize_tags


class Composite(Scheduler):
    """A scheduler whose value is computed from its children's closed forms.

    Children must share the optimizer, the param-group key and the tags (a composite
    without its own tags adopts its children's). Children are taken out of the
    optimizer's scheduler registry: only the composite is stepped. A child is
    evaluated at any step through its pure closed form (``_value_host`` /
    ``_value_tensor``): the composite never writes into a child's ``last_epoch``.

    Class declarations the configuration layer reads (``composite``,
    ``children_argument``) say how to build one from a config.
    """

    _required_key: ClassVar[str | None] = None
    _children_attr: ClassVar[str] = "_schedulers"
    _host_form = True

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        total_iters: int | None,
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        self._param_group_key = param_group_key
        super().__init__(
            optimizer, total_iters, last_epoch=last_epoch, param_group_tags=param_group_tags
        )

    @property
    def param_group_key(self) -> str:
        return self._param_group_key

    def _compute_host_ok(self) -> bool:
        return all(child._host_ok for child in self._children())

    def _post_init(self) -> None:
        # Each child checked its own values; what they make together (a product, a
        # value scaled per group) is checked here, before the first write.
        if self._host_ok:
            self._check_ahead()
        super()._post_init()

    def _check_children(
        self, optimizer: Optimizer | None, children: Sequence[Any], param_group_tags: Any
    ) -> tuple[Optimizer, str, Any]:
        name = type(self).__name__
        if not isinstance(children, (list, tuple)) or not children:
            raise TypeError(
                f"{name}: schedulers must be a non-empty list of schedulers, got {children!r}"
            )
        for index, child in enumerate(children):
            if not isinstance(child, Scheduler):
                raise TypeError(
                    f"{name}: schedulers[{index}] must be a waferopt Scheduler, got {type(child).__name__}"
                )
            if getattr(child, "composite", None) == "wrapper":
                raise ValueError(
                    f"{name}: schedulers[{index}] is a {type(child).__name__}; wrap the {name} instead"
                )
        if optimizer is None:
            optimizer = children[0].optimizer
        key = children[0].param_group_key
        if self._required_key is not None and key != self._required_key:
            raise ValueError(
                f"{name} combines schedulers of {self._required_key!r}, but schedulers[0] "
                f"({type(children[0]).__name__}) drives {key!r}"
            )
        tags = normalize_tags(param_group_tags)
        if tags is None:
            tags = children[0].param_group_tags
        for index, child in enumerate(children):
            if child.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{index}] belongs to another optimizer")
            if child.param_group_key != key:
                raise ValueError(
                    f"{name}: every scheduler must drive the same param-group key; schedulers[0] drives "
                    f"{key!r}, schedulers[{index}] drives {child.param_group_key!r}"
                )
            if child.param_group_tags != tags:
                raise ValueError(
                    f"{name}: every scheduler must have the same param_group_tags as the {name} "
                    f"({sorted(map(str, tags)) if tags else None}); schedulers[{index}] has "
                    f"{sorted(map(str, child.param_group_tags)) if child.param_group_tags else None}"
                )
        for child in children:
            optimizer._schedulers_registry.pop(child, None)
        return optimizer, key, tags

    def _children(self) -> list[Scheduler]:
        return list(getattr(self, self._children_attr))

    def hyperparameter_names(self) -> tuple[str, ...]:
        return ()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state[self._children_attr] = [child.state_dict() for child in self._children()]
        return state

    def _check_state_dict(self, state_dict: Any) -> torch.Tensor:
        if isinstance(state_dict, dict):
            state_dict = {k: v for k, v in state_dict.items() if k != self._children_attr}
        return super()._check_state_dict(state_dict)

    def _prepare_load(self, state_dict: Any, write: bool = True) -> Callable[[], None]:
        """Check this scheduler's state and every child's (given or not), then load the
        children and this one. The children are evaluated at local steps computed from
        this scheduler's step, so a state dict holding only ``last_epoch`` restores the
        values too."""
        self._check_state_dict(state_dict)  # before any child is looked at
        own = {k: v for k, v in state_dict.items() if k != self._children_attr}
        children_states = state_dict.get(self._children_attr)
        children = self._children()
        child_loads: list[Callable[[], None]] = []
        if children_states is not None:
            if isinstance(children_states, dict):
                children_states = [children_states]
            if not isinstance(children_states, (list, tuple)) or len(children_states) != len(
                children
            ):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: expected {self._children_attr!r} with "
                    f"{len(children)} scheduler state(s), got {children_states!r:.200}"
                )
            child_loads = [
                child._prepare_load(child_state, write=False)
                for child, child_state in zip(children, children_states)
            ]
        own_load = super()._prepare_load(own, write)

        def apply() -> None:
            for child, load in zip(children, child_loads):
                load()
                self.optimizer._schedulers_registry.pop(child, None)
            own_load()

        return apply


def composite_bindings(generic: type, doc_lr: str, doc_wd: str) -> tuple[type, type]:
    """The LR and WD classes of a composite: the generic class with its key fixed."""
    lr = type(
        generic.__name__.replace("Scheduler", "LR").replace("Generic", ""),
        (generic, LRScheduler),
        {"__doc__": doc_lr, "__module__": generic.__module__, "_required_key": "lr"},
    )
    wd = type(
        generic.__name__.replace("Scheduler", "WD").replace("Generic", ""),
        (generic, WeightDecayScheduler),
        {"__doc__": doc_wd, "__module__": generic.__module__, "_required_key": "weight_decay"},
    )
    return lr, wd


_number = checks.number()
