"""The optimizer authoring API: declare the hyperparameters and the state, write one kernel.

An optimizer family writes its update rule once, as a module-level functional kernel
over lists of tensors in torch's style (``waferopt.adam.functional.adam(params, grads,
exp_avgs, ..., *, lr, beta1, ...)``), callable without any optimizer object. Its class
only *declares*:

* ``hyperparameters``: the per-group options, each with its check
  (:class:`Hyperparameter`), run on the constructor's arguments and again on every
  param group (``"lr (param group 1)"``), so a bad value is reported with its name
  before anything is built;
* ``param_state``: the per-parameter state, each entry a name, how it starts (:func:`zeros`,
  :func:`scalar`) and, optionally, which groups need it (:class:`StateSpec`);
* ``global_step``: whether the ``step`` counter is optional (``enable_global_step``)
  or always kept (the rule reads it);
* :meth:`DeclaredOptimizer.update`: the call of its kernel on one device-and-dtype run
  of a param group.

:class:`DeclaredOptimizer` does the rest: it creates every state tensor in
:meth:`~waferopt.core.Optimizer.preinitialize` (at construction, and for groups added
later), counts the global step, gathers the params that have a gradient, their
gradients and their state per device and dtype, and calls :meth:`update` on whole
lists. Nothing is created in ``step()``, nothing is read on the host, so a step
compiles once under ``torch.compile(fullgraph=True)``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from .foreach import group_by_device_and_dtype, run_closure
from .optimizer import Optimizer
from .validation import check_params_not_empty, check_sparse

__all__ = [
    "DeclaredOptimizer",
    "Hyperparameter",
    "StateInit",
    "StateSpec",
    "scalar",
    "zeros",
]

StateInit = Callable[[Tensor, Mapping[str, Any]], Tensor]
"""``init(param, group) -> tensor``: the starting value of one state entry."""


def zeros(p: Tensor, group: Mapping[str, Any]) -> Tensor:
    """A state tensor of zeros in ``p``'s shape, dtype, device and memory layout."""
    return torch.zeros_like(p, memory_format=torch.preserve_format)


def scalar(value: float | Callable[[Mapping[str, Any]], Any]) -> StateInit:
    """A 0-d float32 state tensor on the param's device, holding ``value``.

    ``value`` is a number, or a function of the param group (e.g. ``lambda g:
    g["betas"][0]`` for a power of β1, ``lambda g: g["lr"]``); a 0-d tensor it returns
    is copied.
    """

    def init(p: Tensor, group: Mapping[str, Any]) -> Tensor:
        v = value(group) if callable(value) else value
        if isinstance(v, Tensor):
            return v.detach().to(device=p.device, dtype=torch.float32).clone().reshape(())
        return torch.full((), float(v), dtype=torch.float32, device=p.device)

    return init


@dataclass(frozen=True)
class Hyperparameter:
    """A per-group option of an optimizer.

    Attributes:
        name: the key in the param group (and the constructor's argument).
        check: ``check(label, value)`` raises ``ValueError`` for a bad value
            (:mod:`waferopt.core.validation` has the usual ones); None: not checked.
        label: how error messages name it (default: ``name``), e.g.
            ``"learning rate (lr)"``.
    """

    name: str
    check: Callable[[str, Any], None] | None = None
    label: str | None = None


@dataclass(frozen=True)
class StateSpec:
    """A per-parameter state entry.

    Attributes:
        name: the key in ``optimizer.state[p]`` (and in the state dict).
        init: ``init(p, group)`` returns its starting value (:func:`zeros`, :func:`scalar`).
        when: ``when(group)`` says whether params of that group keep it (default: all).
        applies: ``applies(p)`` says whether the parameter ``p`` keeps it (default: every
            param of the group); for state that depends on the parameter's shape, such as
            Adafactor's factored moments of a matrix. The kernel then receives ``None``
            in that entry's list for the params without it.
    """

    name: str
    init: StateInit = zeros
    when: Callable[[Mapping[str, Any]], bool] | None = None
    applies: Callable[[Tensor], bool] | None = None


class DeclaredOptimizer(Optimizer):
    """An optimizer written as declarations plus one functional kernel.

    Subclasses set the class attributes :attr:`hyperparameters`, :attr:`param_state` and
    :attr:`global_step`, write ``__init__`` with their public signature (calling
    ``super().__init__(params, defaults, enable_global_step)``) and :meth:`update`.
    A rule that spans several hyperparameters (SGD's Nesterov needs momentum) goes in
    an override of :meth:`check_hyperparameters`.

    Example::

        class Sign(DeclaredOptimizer):
            hyperparameters = (Hyperparameter("lr", check_non_negative),)
            param_state = (StateSpec("exp_avg", zeros),)

            def __init__(self, params, lr=1e-3, *, enable_global_step=False):
                super().__init__(params, {"lr": lr}, enable_global_step)

            def update(self, group, params, grads, state):
                sign_kernel(params, grads, state["exp_avg"], lr=group["lr"])
    """

    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = ()
    """The per-group options and their checks."""

    param_state: ClassVar[tuple[StateSpec, ...]] = ()
    """The per-parameter state entries (``optimizer.state[p]`` holds them)."""

    global_step: ClassVar[Literal["optional", "always"]] = "optional"
    """``"always"``: the rule reads ``state[p]["step"]``, which is kept whatever
    ``enable_global_step`` says."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
        enable_global_step: bool = False,
    ) -> None:
        params = check_params_not_empty(params)
        self.check_hyperparameters(defaults)
        super().__init__(
            params, defaults, enable_global_step=enable_global_step or self.global_step == "always"
        )

    # ------------------------------------------------------------------ declarations
    def check_hyperparameters(self, values: Mapping[str, Any], where: str | None = None) -> None:
        """Run the declared checks on ``values`` (the defaults, or a param group).

        ``where`` (``"param group 1"``) is added to the name in messages. Keys that
        ``values`` does not hold are skipped.
        """
        for hp in self.hyperparameters:
            if hp.check is None or hp.name not in values:
                continue
            label = hp.label or hp.name
            hp.check(f"{label} ({where})" if where else label, values[hp.name])

    def state_specs(self, group: Mapping[str, Any]) -> list[StateSpec]:
        """The state entries the params of ``group`` keep (``step`` aside)."""
        return [s for s in self.param_state if s.when is None or s.when(group)]

    # ------------------------------------------------------------------ state set-up
    def preinitialize(self) -> None:
        """Check every group's hyperparameters, then create the declared state that is missing."""
        for gi, group in enumerate(self.param_groups):
            self.check_hyperparameters(group, f"param group {gi}")
        for group in self.param_groups:
            specs = self.state_specs(group)
            for p in group["params"]:
                st = self.state[p]
                for spec in specs:
                    if spec.name not in st and (spec.applies is None or spec.applies(p)):
                        st[spec.name] = spec.init(p, group)

    # ------------------------------------------------------------------ step
    @abc.abstractmethod
    def update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        state: dict[str, list[Tensor]],
    ) -> None:
        """Update ``params`` (one device and dtype, all with a gradient) in place.

        ``state`` maps each state key the params hold (``step`` included, already
        advanced for this step, when kept) to the list of their tensors (``None`` for a
        param that an entry with :attr:`StateSpec.applies` leaves out). Calls the
        family's functional kernel with the group's hyperparameters.
        """

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = run_closure(closure)
        name = type(self).__name__
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads: list[Tensor] = [p.grad for p in params]  # type: ignore[misc]
            for g in grads:
                if g.is_sparse:
                    check_sparse(name, g)
            states = [self.state[p] for p in params]
            first = states[0]
            specs = self.state_specs(group)
            keys = [s.name for s in specs if s.applies is None and s.name in first]
            lists = [[s[k] for s in states] for k in keys]
            for spec in specs:  # per-param entries: None where a param has none
                if spec.applies is not None:
                    keys.append(spec.name)
                    lists.append([s.get(spec.name) for s in states])
            if "step" in first:
                steps = [s["step"] for s in states]
                torch._foreach_add_(steps, 1.0)
                keys.append("step")
                lists.append(steps)
            for run in group_by_device_and_dtype([params, grads, *lists]):
                self.update(group, run[0], run[1], dict(zip(keys, run[2:])))
        return loss
