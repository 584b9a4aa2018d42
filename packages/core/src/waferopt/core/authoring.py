"""The optimizer authoring API: declare the hyperparameters and the state, write one kernel.

An optimizer family writes its update rule once, as a module-level functional kernel
over lists of tensors in torch's style (``waferopt.adam.functional.adam(params, grads,
exp_avgs, ..., *, lr, beta1, ...)``), callable without any optimizer object. Its class
only *declares*:

* ``kernel``: that function;
* ``hyperparameters``: the per-group options, each with its check and how the kernel
  takes it (:class:`Hyperparameter`); the checks run on the constructor's arguments
  and again on every param group (``"lr (param group 1)"``), so a bad value is
  reported with its name before anything is built;
* ``param_state``: the per-parameter state, each entry a name, how it starts
  (:func:`zeros`, :func:`scalar`) and, optionally, which groups or params keep it
  (:class:`StateSpec`);
* ``group_state``: 0-d running scalars a rule keeps per param group (step counts,
  running sums), or once for the whole optimizer (:class:`GroupState`);
* ``global_step``: whether the ``step`` counter is optional (``enable_global_step``)
  or always kept (the rule reads it); ``host_step``: whether the kernel wants this
  step's number on the host in eager steps; ``whole_group``: whether the kernel is
  called once per group (on every device and dtype) rather than once per run.

:class:`DeclaredOptimizer` does the rest: it creates every state tensor in
:meth:`~waferopt.core.Optimizer.preinitialize` (at construction, and for groups added
later), counts the global step, gathers the params that have a gradient, their
gradients and their state per device and dtype, and calls the kernel on whole lists.
Nothing is created in ``step()``, nothing is read on the host, so a step compiles once
under ``torch.compile(fullgraph=True)``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from . import coefficients
from .coefficients import coefficient_dtype
from .distributed import any_dtensor, local_lists
from .foreach import add_one_, group_by_device_and_dtype, one_run, run_closure
from .optimizer import Optimizer
from .scheduler import parse_group_key
from .validation import check_params_not_empty, check_sparse

__all__ = [
    "DeclaredOptimizer",
    "GroupState",
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
        kernel_names: how the declared kernel takes it: None (default), as a keyword of
            the same name; a tuple of names, unpacked from the group's sequence
            (``("beta1", "beta2")`` for ``betas``); ``()``, not at all (an option that
            only decides which state a group keeps, such as ``amsgrad``). A group that
            does not hold the key passes nothing (the kernel's default applies), e.g.
            an option that only some kinds of group have.
        at_step: run the check again in every ``step()``, before anything changes (a
            failure raises ``RuntimeError``): for an option whose value decides what
            the state built at construction can do, which a user might change in a
            group later (Adafactor's ``beta1`` must stay None). The value must be a
            Python value: the check reads nothing on the device.
    """

    name: str
    check: Callable[[str, Any], None] | None = None
    label: str | None = None
    kernel_names: tuple[str, ...] | None = None
    at_step: bool = False


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
        kernel_name: how the declared kernel takes the entry's list: None (default),
            positionally, in the order of :attr:`DeclaredOptimizer.param_state`; a
            name, as that keyword argument. The declared order is also the order of
            the keys in ``optimizer.state[p]`` and in the state dict, so a kernel whose
            positional order differs names its arguments instead of reordering the
            state (which would change the state dict's layout).
        packed: for a 0-d entry that a kernel sets to one value for all the params of
            a run (a power β^t written in closed form): the entries of a group's params
            of one device and dtype are the elements of one 1-D tensor, each its own
            0-d tensor (see :func:`waferopt.core.coefficients.pack`), so that an eager
            step writes them all with one fill
            (:func:`~waferopt.core.coefficients.write_`) instead of one op per tensor.

    A group whose hyperparameters, as they are at a step, ask for an entry (``when``)
    that its params were built without makes ``step()`` raise ``RuntimeError``: state
    is created at construction only.
    """

    name: str
    init: StateInit = zeros
    when: Callable[[Mapping[str, Any]], bool] | None = None
    applies: Callable[[Tensor], bool] | None = None
    kernel_name: str | None = None
    packed: bool = False


@dataclass(frozen=True)
class GroupState:
    """A 0-d running scalar of a param group (a step count, a running sum or maximum).

    Core creates it in :meth:`~waferopt.core.Optimizer.preinitialize` as a 0-d tensor in
    :func:`~waferopt.core.coefficients.coefficient_dtype` (float64, float32 on MPS) on
    the device of the group's first param, stored in the group under :attr:`name` (so
    the state dict's ``param_groups`` carry it and ``load_state_dict`` copies into it),
    and passes it to the kernel positionally after the per-parameter state lists; the
    kernel updates it in place. A rule that keeps one should set
    :attr:`DeclaredOptimizer.whole_group`, so that the scalar advances once per step.

    Attributes:
        name: the key in the param group.
        init: its starting value: a number, or ``init(group)``.
        when: ``when(group)`` says whether that group keeps it (default: every group);
            a group without it passes None.
        shared: one tensor for the whole optimizer, created from the first group and
            held by every group under :attr:`name` (an estimate that every group feeds,
            such as Prodigy's distance ``d``); kept shared after ``load_state_dict``.
    """

    name: str
    init: float | Callable[[Mapping[str, Any]], float] = 0.0
    when: Callable[[Mapping[str, Any]], bool] | None = None
    shared: bool = False


class DeclaredOptimizer(Optimizer):
    """An optimizer written as declarations plus one functional kernel.

    Subclasses set the class attributes :attr:`kernel`, :attr:`hyperparameters`,
    :attr:`param_state` and :attr:`global_step`, and write ``__init__`` with their public
    signature (calling ``super().__init__(params, defaults, enable_global_step)``). A rule
    that does not fit one kernel call per run overrides :meth:`update` instead.
    A rule that spans several hyperparameters (SGD's Nesterov needs momentum) goes in
    an override of :meth:`check_hyperparameters`.

    Example::

        def sign_kernel(params, grads, exp_avgs, *, lr, beta): ...

        class Sign(DeclaredOptimizer):
            kernel = sign_kernel
            hyperparameters = (
                Hyperparameter("lr", check_non_negative),
                Hyperparameter("beta", check_unit_interval),
            )
            param_state = (StateSpec("exp_avg", zeros),)

            def __init__(self, params, lr=1e-3, beta=0.9, *, enable_global_step=False):
                super().__init__(params, {"lr": lr, "beta": beta}, enable_global_step)
    """

    kernel: ClassVar[Callable[..., None] | None] = None
    """The functional kernel: called once per device-and-dtype run (once per group with
    :attr:`whole_group`) as ``kernel(params, grads, *state, **hyperparameters)``, with
    the state lists in the order of :attr:`param_state` (None for an entry the group
    does not keep; an entry with a :attr:`StateSpec.kernel_name` as that keyword), then
    the step counters when :attr:`global_step` is ``"always"``, then the group's
    :attr:`group_state` tensors in their declared order, and the hyperparameters as
    their :attr:`Hyperparameter.kernel_names` say (plus ``step=`` with :attr:`host_step`)."""

    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = ()
    """The per-group options and their checks."""

    param_state: ClassVar[tuple[StateSpec, ...]] = ()
    """The per-parameter state entries (``optimizer.state[p]`` holds them)."""

    group_state: ClassVar[tuple[GroupState, ...]] = ()
    """The 0-d running scalars each param group keeps (the group holds them)."""

    whole_group: ClassVar[bool] = False
    """True: :meth:`update` runs once per param group and step, on every param of the
    group that has a gradient (every device and dtype together, sharded params as they
    are, and even when none has a gradient, so that the :attr:`group_state` advances
    once per step as the references' counters do); the kernel splits the lists itself
    (:func:`waferopt.core.foreach.runs` does, and takes local shards). For a rule with
    :attr:`group_state`, or one that reduces over the whole group."""

    global_step: ClassVar[Literal["optional", "always"]] = "optional"
    """``"always"``: the rule reads ``state[p]["step"]``, which is kept whatever
    ``enable_global_step`` says."""

    host_step: ClassVar[bool] = False
    """Keep a host-side copy of each param's step count, so that an eager step can pass
    its kernel this step's number as a Python int (``kernel(..., step=t)``): the kernel
    then computes its coefficients as Python floats and can use torch's fused kernels.
    The copy is read from the state (:meth:`host_step_from_state`) at construction and
    after ``load_state_dict`` / ``visit_state`` / unpickling, never in ``step()``; a
    compiled step leaves it behind, and eager steps then pass ``step=None`` (the kernel
    computes on the device) until the next load."""

    elementwise: ClassVar[bool] = True
    """True: the rule is element-wise, and :meth:`update` receives the local shards of
    sharded (DTensor: FSDP2, tensor-parallel) params, grads and state, so it costs a
    plain-tensor step of the shard's size. False (a rule that reads whole tensors:
    norms, row or column means, a matrix function): :meth:`update` receives the
    sharded tensors themselves, takes their local shards with
    :func:`waferopt.core.distributed.local_lists` and combines its whole-tensor terms
    across the shards with that module's helpers."""

    _at_step: ClassVar[tuple[tuple[str, str, Callable[[str, Any], None]], ...]] = ()
    """``(name, label, check)`` of each hyperparameter checked again in every step
    (``at_step``), found once per class."""

    _state_position: ClassVar[dict[str, int]] = {}
    """The index of each :attr:`param_state` entry by name, found once per class."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._at_step = tuple(
            (hp.name, hp.label or hp.name, hp.check)
            for hp in cls.hyperparameters
            if hp.at_step and hp.check is not None
        )
        cls._state_position = {spec.name: i for i, spec in enumerate(cls.param_state)}

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
        enable_global_step: bool = False,
    ) -> None:
        params = check_params_not_empty(params)
        self.check_hyperparameters(defaults)
        self._host = HostSteps()
        super().__init__(
            params, defaults, enable_global_step=enable_global_step or self.global_step == "always"
        )
        self._state_changed()

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

    def check_scheduled_value(self, group_index: int, key: str, value: float) -> None:
        """The declared check of the hyperparameter ``key`` names, on ``value`` in param
        group ``group_index`` (for an element such as ``"betas[0]"``, on the group's
        sequence with that element replaced); the ``ValueError`` starts with the class
        name. Keys nothing declares are accepted."""
        name, index = parse_group_key(key)
        hp = next((h for h in self.hyperparameters if h.name == name), None)
        if hp is None or hp.check is None:
            return
        label = hp.label or hp.name
        candidate: Any = value
        if index is not None:
            current = self.param_groups[group_index].get(name)
            if not isinstance(current, (list, tuple)) or index >= len(current):
                return  # the scheduler reports the missing element itself
            replaced = list(current)
            replaced[index] = value
            candidate = type(current)(replaced) if isinstance(current, tuple) else replaced
        try:
            hp.check(label, candidate)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{type(self).__name__}: {exc}") from None

    def check_saved_group(self, index: int, saved: Mapping[str, Any]) -> None:
        """The declared checks, on group ``index`` of a state dict before it is loaded."""
        self.check_hyperparameters(saved, f"param group {index} of the state dict")

    def state_specs(self, group: Mapping[str, Any]) -> list[StateSpec]:
        """The state entries the params of ``group`` keep (``step`` aside)."""
        return [s for s in self.param_state if s.when is None or s.when(group)]

    # ------------------------------------------------------------------ state set-up
    def preinitialize(self) -> None:
        """Check every group's hyperparameters, then create the declared state that is
        missing: each param's, then each group's."""
        for gi, group in enumerate(self.param_groups):
            self.check_hyperparameters(group, f"param group {gi}")
        for group in self.param_groups:
            specs = self.state_specs(group)
            created: dict[tuple[str, torch.device, torch.dtype], list[dict[str, Any]]] = {}
            for p in group["params"]:
                st = self.state[p]
                for spec in specs:
                    if spec.name not in st and (spec.applies is None or spec.applies(p)):
                        st[spec.name] = spec.init(p, group)
                        if spec.packed:  # one per run of the group (device, dtype)
                            created.setdefault((spec.name, p.device, p.dtype), []).append(st)
            self._pack(created)
        self._create_group_state()

    def _pack(
        self, batches: dict[tuple[str, torch.device, torch.dtype], list[dict[str, Any]]]
    ) -> None:
        """Make each batch's entry ``name`` (0-d tensors just created, of one device and
        dtype) the elements of one tensor (:func:`waferopt.core.coefficients.pack`)."""
        for (name, _, _), states in batches.items():
            tensors = coefficients.pack([st[name] for st in states], owner=self)
            for st, t in zip(states, tensors):
                st[name] = t

    def _initialize_state(self) -> None:
        """Create the state (see :meth:`preinitialize`), then pack the step counters
        just created: a group's counters of one device and dtype are the elements of
        one tensor (:func:`waferopt.core.coefficients.pack`), so that an eager step
        advances them all with one op (:func:`waferopt.core.foreach.add_one_`)."""
        had = {id(p) for p, st in self.state.items() if "step" in st}
        super()._initialize_state()
        for group in self.param_groups:
            new: dict[tuple[str, torch.device, torch.dtype], list[dict[str, Any]]] = {}
            for p in group["params"]:
                st = self.state.get(p)
                if st is not None and id(p) not in had and isinstance(st.get("step"), Tensor):
                    new.setdefault(("step", p.device, p.dtype), []).append(st)
            self._pack(new)

    def _create_group_state(self) -> None:
        """Create the missing :attr:`group_state` tensors (shared ones from the first group)."""
        for gs in self.group_state:
            first = self.param_groups[0]
            for group in self.param_groups:
                if not group["params"] or (gs.when is not None and not gs.when(group)):
                    continue
                if gs.shared and group is not first:
                    group[gs.name] = first[gs.name]
                elif not isinstance(group.get(gs.name), Tensor):
                    value = gs.init(group) if callable(gs.init) else gs.init
                    device = group["params"][0].device
                    group[gs.name] = torch.tensor(
                        float(value), dtype=coefficient_dtype(device), device=device
                    )

    def initial_state(self, group: Mapping[str, Any], p: Tensor) -> dict[str, Tensor]:
        """The declared state of ``p`` in ``group`` as a fresh optimizer holds it (``step``
        aside), e.g. for a checkpoint that never stepped ``p``."""
        return {spec.name: spec.init(p, group) for spec in self.state_specs(group)}

    # ------------------------------------------------------------------ host step copy
    def host_step_from_state(self, group: Mapping[str, Any], p: Tensor) -> int | None:
        """The number of steps ``p`` has taken, read from its state (outside ``step()``).

        The default reads ``state[p]["step"]``; a family whose state holds the step
        another way (Adam's ``beta*_power``) overrides it. None: unknown.
        """
        step = self.state[p].get("step")
        return None if step is None else round(float(step))

    def _state_changed(self) -> None:
        """Called wherever the state may have changed (creation, load, ``visit_state``, a
        new param group, unpickling): forgets which groups' lists passed torch's device
        checks (see ``_runs``) and reads the host copies of the step counts and of the
        0-d float state again."""
        self._checked: dict[int, Any] = {}
        if not self.host_step:
            return
        counts: dict[int, int] = {}
        for group in self.param_groups:
            for p in group["params"]:
                n = self.host_step_from_state(group, p)
                if n is not None:
                    counts[id(p)] = n
                # 0-d float state (NAdam's μ product): its host copy, read here once
                # (see waferopt.core.coefficients.remember)
                scalars = [
                    t
                    for key, t in self.state[p].items()
                    if key != "step"
                    and type(t) is Tensor
                    and t.dim() == 0
                    and not t.is_meta
                    and t.dtype in (torch.float32, torch.float64)
                ]
                if scalars:
                    coefficients.remember(scalars, [float(t) for t in scalars])
        self._host.reset(counts)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        if getattr(self, "_preinitialized", False):
            self._state_changed()

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:  # type: ignore[override]
        super().load_state_dict(state_dict)
        if any(gs.shared for gs in self.group_state):
            self._create_group_state()  # one shared tensor again (the load copied into each)
        self._state_changed()

    def visit_state(self, fn: Callable[[Any], Any]) -> None:
        super().visit_state(fn)
        self._state_changed()

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._host = HostSteps()
        self._state_changed()

    _not_pickled = (*Optimizer._not_pickled, "_host", "_checked")

    # ------------------------------------------------------------------ step
    def kernel_arguments(self, group: Mapping[str, Any]) -> dict[str, Any]:
        """The kernel's keyword arguments from ``group``, as the hyperparameters declare."""
        kwargs: dict[str, Any] = {}
        for hp in self.hyperparameters:
            if hp.name not in group:
                continue
            if hp.kernel_names is None:
                kwargs[hp.name] = group[hp.name]
            elif hp.kernel_names:
                kwargs.update(zip(hp.kernel_names, group[hp.name]))
        return kwargs

    def call_kernel(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        state: dict[str, list[Tensor]],
        step: int | None = None,
    ) -> None:
        """Call :attr:`kernel` on one run (see there for the arguments)."""
        kernel = type(self).kernel
        if kernel is None:
            raise NotImplementedError(
                f"{type(self).__name__} declares no kernel: set the class attribute "
                "`kernel` or override update()"
            )
        lists: list[Any] = [state.get(s.name) for s in self.param_state if s.kernel_name is None]
        if self.global_step == "always":
            lists.append(state["step"])
        lists += [group.get(gs.name) for gs in self.group_state]
        kwargs = self.kernel_arguments(group)
        for spec in self.param_state:
            if spec.kernel_name is not None:
                kwargs[spec.kernel_name] = state.get(spec.name)
        if self.host_step:
            kwargs["step"] = step
        kernel(params, grads, *lists, **kwargs)

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
        param that an entry with :attr:`StateSpec.applies` leaves out). The default
        calls the declared :attr:`kernel`; override it for a rule that needs more.
        """
        self.call_kernel(group, params, grads, state)

    def gather(
        self,
    ) -> list[tuple[dict[str, Any], list[Tensor], list[Tensor], dict[str, list[Tensor]]]]:
        """Each param group with the params that have a gradient, their gradients and
        their state lists, as :meth:`update` receives them; then advances the global
        step of those params when it is kept.

        Every group is checked before anything changes: a sparse gradient raises
        ``ValueError``, a group whose hyperparameters now ask for a state entry that
        was not created at construction raises ``RuntimeError``. :meth:`step` calls it;
        a rule that spans every group (and so overrides :meth:`step`) calls it too.

        The lists are filled by :meth:`_init_group`, called as torch's optimizers call
        theirs, so that a compiled step takes Dynamo's optimizer route (see there).
        """
        gathered = []
        for index, group in enumerate(self.param_groups):
            params: list[Tensor] = []
            grads: list[Tensor] = []
            lists: list[list[Any]] = [[] for _ in range(len(self.param_state) + 1)]
            keys = self._init_group(group, index, params, grads, *lists)
            gathered.append((group, params, grads, {key: lists[i] for key, i in keys}))
        for _, _, _, state in gathered:
            steps = state.get("step")
            if steps:
                add_one_(steps)
        return gathered

    def _init_group(
        self,
        group: dict[str, Any],
        index: int,
        params: list[Tensor],
        grads: list[Tensor],
        *state_lists: list[Any],
    ) -> tuple[tuple[str, int], ...]:
        """Fill the empty lists ``params`` and ``grads`` with the params of ``group``
        (``param_groups[index]``) that have a gradient and with their gradients, and
        ``state_lists`` (one per :attr:`param_state` entry, in its order, then one for
        ``step``) with their state; return ``(key, i)`` for each state list filled, in
        the order :meth:`update` receives them (an entry the group does not keep
        leaves its list empty and is not named).

        The name and calling convention are those of torch's optimizers: under
        ``torch.compile``, Dynamo runs this method as plain Python instead of tracing it
        (the bookkeeping costs nothing in the graph), marks the params and the state
        as static addresses (one identity check each per call instead of a full
        tensor-metadata check: a step's guards are several times cheaper) and puts the
        tensors into the traced lists. So it must only read the group, the params'
        gradients and the state, fill the list arguments and return constants.
        """
        name = type(self).__name__
        for key, label, check in self._at_step:
            if key in group:
                try:
                    check(f"{label} (param group {index})", group[key])
                except ValueError as exc:
                    raise RuntimeError(f"{name}.step(): {exc}") from exc
        # (C-level iteration where it can be: this runs in every eager step)
        group_params = group["params"]
        found = list(map(_GRAD, group_params))
        if all(map(operator.is_not, found, repeat(None))):  # every param has a gradient
            params.extend(group_params)
            grads.extend(found)
        else:
            for p, g in zip(group_params, found):
                if g is not None:
                    params.append(p)
                    grads.append(g)
        if any(map(_IS_SPARSE, grads)):
            for g in grads:
                if g.is_sparse:
                    check_sparse(name, g)
        states = list(map(self.state.__getitem__, params))
        first = states[0] if states else {}
        specs = self.state_specs(group)
        position = self._state_position
        if states:
            for spec in specs:
                if spec.applies is None and spec.name not in first:
                    raise RuntimeError(
                        f"{name}: param group {index} now asks for the state {spec.name!r}, "
                        "which its params were built without (state is created at "
                        "construction): set the hyperparameter that needs it when building "
                        "the optimizer"
                    )
        keys: list[tuple[str, int]] = []
        for spec in specs:  # entries every param keeps first, then per-param ones
            if spec.applies is None:
                i = position[spec.name]
                state_lists[i].extend(map(operator.itemgetter(spec.name), states))
                keys.append((spec.name, i))
        for spec in specs:  # per-param entries: None where a param has none
            if spec.applies is not None:
                i = position[spec.name]
                state_lists[i].extend(s.get(spec.name) for s in states)
                keys.append((spec.name, i))
        step = len(self.param_state)
        if "step" in first:
            state_lists[step].extend(map(operator.itemgetter("step"), states))
            keys.append(("step", step))
        elif not states and self.enable_global_step:
            keys.append(("step", step))
        return tuple(keys)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = run_closure(closure)
        host = self._host if self.host_step and self._host.usable() else None
        for index, (group, params, grads, state) in enumerate(self.gather()):
            if self.whole_group:
                self.update(group, params, grads, state)
                continue
            if not params:
                continue
            keys = list(state)
            runs, plain = self._runs(index, [params, grads, *state.values()])
            for run in runs:
                run_params = run[0]
                step = host.next_step(run_params) if host is not None else None
                if self.elementwise and not plain:  # DTensors (FSDP2): the local shards
                    run = local_lists(run)
                tensors = dict(zip(keys, run[2:]))
                if self.host_step:
                    self.call_kernel(group, run[0], run[1], tensors, step)
                else:
                    self.update(group, run[0], run[1], tensors)
                if host is not None:
                    host.advance(run_params, step)
        return loss

    def _runs(self, index: int, lists: list[list[Any]]) -> tuple[list[list[list[Any]]], bool]:
        """The runs of one device and dtype of group ``index``'s lists (params, grads,
        state), and whether they hold no DTensor.

        torch's grouping checks every tensor of every list (each state tensor on its
        param's device). Once a group's lists have passed as one plain run, later eager
        steps with the very same state tensors check only what can change in place:
        the params' device and dtype (``module.to()`` converts them in place) and the
        gradients' classes, with one C call over the params instead of over every
        list. (What was checked is forgotten when the state changes through the
        optimizer: :meth:`load_state_dict`, :meth:`visit_state`,
        :meth:`add_param_group`, unpickling.)
        """
        if torch.compiler.is_compiling():
            return group_by_device_and_dtype(lists, local=False), False
        keys = list(torch._C._group_tensors_by_device_and_dtype([lists[0]], False))
        one = len(keys) == 1
        checked = self._checked.get(index)
        if (
            one
            and checked is not None
            and checked[0] == keys[0]
            and _same_tensors(checked[1], lists[2:])  # (so the same params too)
            and not any_dtensor(lists[1:2])
        ):
            return [one_run(lists)], True
        runs = group_by_device_and_dtype(lists, local=False)
        plain = not any_dtensor(lists)
        if one and plain:
            self._checked[index] = (keys[0], [list(lst) for lst in lists[2:]])
        return runs, plain


_GRAD = operator.attrgetter("grad")
_IS_SPARSE = operator.attrgetter("is_sparse")


def _same_tensors(a: list[list[Any]], b: list[list[Any]]) -> bool:
    """Whether two sets of lists hold the very same objects (identity, C-level)."""
    return len(a) == len(b) and all(
        len(x) == len(y) and all(map(operator.is_, x, y)) for x, y in zip(a, b)
    )


class HostSteps:
    """The host-side copy of the step counts (see :attr:`DeclaredOptimizer.host_step`).

    Its flag lives in a dict item, not an attribute: Dynamo replays dict mutations of a
    traced step, so a compiled step can mark the copy stale.
    """

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.flag = {"valid": False}

    def reset(self, counts: dict[int, int]) -> None:
        self.counts = counts
        self.flag["valid"] = True

    def usable(self) -> bool:
        """Whether this step may use the copy (eager, and no compiled step since the sync)."""
        if torch.compiler.is_compiling():
            self.flag["valid"] = False
            return False
        return self.flag["valid"]

    def next_step(self, params: list[Tensor]) -> int | None:
        """This step's number for ``params`` if they all share it, else None."""
        counts = set(map(self.counts.get, map(id, params)))  # (no Python call per param)
        if len(counts) != 1:
            return None
        (first,) = counts
        return None if first is None else first + 1

    def advance(self, params: list[Tensor], step: int | None = None) -> None:
        """Count a step of ``params``; ``step``: the number :meth:`next_step` gave them."""
        counts = self.counts
        if step is not None:
            counts.update(dict.fromkeys(map(id, params), step))
            return
        for p in params:
            n = counts.get(id(p))
            if n is not None:
                counts[id(p)] = n + 1
