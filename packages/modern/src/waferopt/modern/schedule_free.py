"""Schedule-free AdamW with every state tensor created at construction."""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

import torch
from torch import Tensor

from waferopt.core import distributed as D
from waferopt.core.authoring import DeclaredOptimizer, GroupState, Hyperparameter, StateSpec
from waferopt.core.validation import check_betas, check_non_negative

from . import functional as MF
from ._base import check_int

__all__ = ["AdamWScheduleFree"]

_PROBE_STEPS = (*range(0, 65), *(2**i for i in range(7, 21)))
"""Steps at which an attached LR scheduler is evaluated to tell whether it decays."""


class _SchedulerRegistry(WeakKeyDictionary):
    """The optimizer's registry of attached schedulers, which checks each new one."""

    def __init__(self, owner: AdamWScheduleFree) -> None:
        super().__init__()
        self.owner = weakref.ref(owner)
        self.pending: WeakSet = WeakSet()

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.pending.add(key)
        owner = self.owner()
        if owner is not None:
            owner._check_schedulers(final=False)


class AdamWScheduleFree(DeclaredOptimizer):
    r"""Schedule-free AdamW: iterate averaging instead of a learning-rate schedule.

    The optimizer keeps two sequences, :math:`z` (the base AdamW-like iterate) and
    :math:`x` (a weighted average of the :math:`z`), and the model sees
    :math:`y = (1-\beta_1)\, z + \beta_1 x` while training. With
    :math:`\eta_t = \eta \cdot \min(1, t/T_{\text{warmup}})` and gradient :math:`g`
    taken at :math:`y`:

    .. math::
        v &\leftarrow \beta_2 v + (1-\beta_2)\, g^2, \qquad
        \hat g = \frac{g}{\sqrt{v/(1-\beta_2^t)} + \epsilon} + \lambda y \\
        w_t &= t^r\, (\max_{s \le t} \eta_s)^{p}, \qquad c_t = w_t / \textstyle\sum_{s\le t} w_s \\
        z &\leftarrow z - \eta_t\, \hat g, \qquad x \leftarrow (1-c_t)\, x + c_t\, z

    (:math:`p` is ``weight_lr_power``), updated on :math:`y` directly as
    ``schedulefree.AdamWScheduleFree`` does, whose arguments, defaults and trajectory
    this class follows.

    **train() and eval().** The parameters hold :math:`y` in train mode and
    :math:`x` in eval mode: call ``optimizer.train()`` before training steps (a step
    in eval mode raises) and ``optimizer.eval()`` before evaluating or saving the
    model. The mode is the optimizer's (:attr:`train_mode`, one for every group), not
    a group key, so a wrapper that copies its own group keys over this optimizer's
    (``torch.distributed.optim.ZeroRedundancyOptimizer``) leaves it alone; under
    ZeRO call ``zero.optim.train()`` and ``zero.optim.eval()``. ``state_dict()``
    writes it into every saved group as ``"train_mode"`` (the layout of
    ``schedulefree``'s checkpoints and of earlier ones) and ``load_state_dict()``
    reads it from there; save the model and the optimizer together so that the
    parameters and the mode agree.

    **Schedules.** The method replaces the learning-rate decay: use ``warmup_steps``
    or a warmup-only waferopt LR scheduler (its tensor ``lr`` is read every step). A
    scheduler that decays the learning rate works against the averaging;
    :meth:`train` warns when one is attached.

    :math:`z` is a copy of the parameters, taken at the first :meth:`train` before any
    step (so weights loaded after construction are honoured); :math:`v` starts at
    zero. State per parameter, created at construction: ``z``, ``exp_avg_sq``, and
    ``step`` (float32) with ``enable_global_step=True``. Each group keeps 0-d
    tensors ``k`` (steps taken), ``weight_sum``, ``lr_max`` and ``scheduled_lr``
    (:math:`\eta_t`, for logging).

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\eta` (a number or a 0-d tensor).
        betas: :math:`(\beta_1, \beta_2)`, interpolation and second-moment decay.
        eps: term added to the denominator.
        weight_decay: weight decay :math:`\lambda`, evaluated at :math:`y`.
        warmup_steps: linear warmup length :math:`T_{\text{warmup}}` (0: none).
        r: power of :math:`t` in the averaging weights.
        weight_lr_power: power :math:`p` of the largest learning rate so far in the weights.
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, "The Road Less
        Scheduled", NeurIPS 2024, arXiv:2405.15682.
    """

    kernel = MF.adamw_schedule_free
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("betas", check_betas, kernel_names=("beta1", "beta2")),
        Hyperparameter("eps", check_non_negative),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("warmup_steps", check_int),
        Hyperparameter("r", check_non_negative),
        Hyperparameter("weight_lr_power", check_non_negative),
    )
    param_state = (
        StateSpec("z", lambda p, g: p.detach().clone(memory_format=torch.preserve_format)),
        StateSpec("exp_avg_sq"),
    )
    group_state = (
        GroupState("k"),
        GroupState("weight_sum"),
        GroupState("lr_max", -1.0),
        GroupState("scheduled_lr"),
    )
    whole_group = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 0.0025,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        warmup_steps: int = 0,
        r: float = 0.0,
        weight_lr_power: float = 2.0,
        *,
        enable_global_step: bool = False,
    ) -> None:
        check_betas("betas", betas)
        if float(betas[0]) == 0.0:
            raise ValueError("Invalid betas parameter at index 0: 0 (eval() divides by beta1)")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "warmup_steps": warmup_steps,
            "r": r,
            "weight_lr_power": weight_lr_power,
        }
        self._train_mode = False
        super().__init__(params, defaults, enable_global_step=enable_global_step)
        self._schedulers_registry = _SchedulerRegistry(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "_train_mode" not in self.__dict__:  # pickled when the mode was a group key
            self._train_mode = _saved_mode(type(self).__name__, self.param_groups) or False
            for group in self.param_groups:
                group.pop(_MODE_KEY, None)
        self._schedulers_registry = _SchedulerRegistry(self)

    @property
    def train_mode(self) -> bool:
        """True after :meth:`train` (the parameters hold :math:`y`), False after
        :meth:`eval` and at construction (they hold :math:`x`)."""
        return self._train_mode

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; it takes the optimizer's mode (its ``z`` is a copy of its params,
        so the new group's weights are the same in both modes until it takes a step)."""
        if isinstance(param_group, Mapping) and _MODE_KEY in param_group:
            raise ValueError(
                f"AdamWScheduleFree: {_MODE_KEY!r} is not a param group key: the mode is "
                "the optimizer's, set with optimizer.train() and optimizer.eval()"
            )
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """torch's layout, with the mode in every group as ``"train_mode"``."""
        state_dict = super().state_dict()
        for group in state_dict["param_groups"]:
            group[_MODE_KEY] = self._train_mode
        return state_dict

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:  # type: ignore[override]
        """Load a state dict and take its mode (its groups' ``"train_mode"``; a state
        dict without one leaves the mode as it is). Groups that disagree, or a mode
        that is not a bool, raise ``ValueError`` before anything is loaded."""
        groups = state_dict.get("param_groups") if isinstance(state_dict, Mapping) else None
        mode = None
        if isinstance(groups, (list, tuple)) and all(isinstance(g, Mapping) for g in groups):
            mode = _saved_mode(f"{type(self).__name__}.load_state_dict", groups)
            state_dict = {
                **state_dict,
                "param_groups": [{k: v for k, v in g.items() if k != _MODE_KEY} for g in groups],
            }
        super().load_state_dict(state_dict)
        if mode is not None:
            self._train_mode = mode

    # ------------------------------------------------------------------ modes
    @torch.no_grad()
    def train(self) -> None:
        """Make the parameters hold :math:`y` (where gradients are taken) for training.

        Before the first step this also takes :math:`z` as a copy of the current
        parameters. Warns if an attached LR scheduler decays the learning rate.
        """
        self._check_schedulers()
        if self._train_mode:
            return
        for group in self.param_groups:
            # local shards of sharded (FSDP2) params: the swap is element-wise
            params, zs = D.local_lists(
                [group["params"], [self.state[p]["z"] for p in group["params"]]]
            )
            if params and bool(group["k"] == 0):  # a host read, outside step()
                torch._foreach_copy_(zs, params)
            else:
                MF.schedule_free_swap_(params, zs, 1 - group["betas"][0])
        self._train_mode = True

    @torch.no_grad()
    def eval(self) -> None:
        """Make the parameters hold :math:`x` (the average) for evaluation or saving."""
        if not self._train_mode:
            return
        for group in self.param_groups:
            params, zs = D.local_lists(
                [group["params"], [self.state[p]["z"] for p in group["params"]]]
            )
            if params and not bool(group["k"] == 0):
                MF.schedule_free_swap_(params, zs, 1 - 1 / group["betas"][0])
        self._train_mode = False

    def _check_schedulers(self, final: bool = True) -> None:
        """Warn once for each attached LR scheduler that lowers the learning rate.

        Runs when a scheduler attaches itself (``final=False``: one that cannot be
        evaluated yet is tried again later) and in :meth:`train`.
        """
        registry = self._schedulers_registry
        pending = getattr(registry, "pending", None)
        if pending is None:
            return
        for sched in list(pending):
            if getattr(sched, "param_group_key", None) != "lr":
                pending.discard(sched)
                continue
            try:
                drop = _first_decrease(sched)
            except Exception:  # not evaluable (yet): try again, or give up in train()
                if final:
                    pending.discard(sched)
                continue
            pending.discard(sched)
            if drop is not None:
                step, before, after = drop
                warnings.warn(
                    f"AdamWScheduleFree: the LR scheduler {type(sched).__name__} lowers the "
                    f"learning rate (from {before:.4g} to {after:.4g} at step {step}); "
                    "schedule-free averaging replaces the decay, so use a warmup only "
                    "(or warmup_steps) and a constant learning rate after it",
                    UserWarning,
                    stacklevel=4,
                )

    # ------------------------------------------------------------------ step
    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step in train mode (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.
        """
        if not self._train_mode:
            raise RuntimeError(
                "AdamWScheduleFree.step() called in eval mode: call optimizer.train() "
                "before training steps and optimizer.eval() before evaluation"
            )
        return super().step(closure)


_MODE_KEY = "train_mode"
"""The group key under which state dicts keep the mode (as ``schedulefree`` does)."""


def _saved_mode(where: str, groups: Iterable[Mapping[str, Any]]) -> bool | None:
    """The mode the groups record under ``"train_mode"``: None when none does;
    ``ValueError`` when one is not a bool or they disagree."""
    modes: dict[int, bool] = {}
    for gi, group in enumerate(groups):
        if _MODE_KEY not in group:
            continue
        value = group[_MODE_KEY]
        if not isinstance(value, bool):
            raise ValueError(
                f"{where}: param group {gi} has {_MODE_KEY}={value!r}, expected True or False"
            )
        modes[gi] = value
    if len(set(modes.values())) > 1:
        raise ValueError(
            f"{where}: the param groups record different modes ({_MODE_KEY} per group: "
            f"{modes}); AdamWScheduleFree keeps one mode for every group"
        )
    return next(iter(modes.values()), None)


def _first_decrease(sched: Any) -> tuple[int, float, float] | None:
    """The first probed step where ``sched``'s value drops, or None (a host-side probe)."""
    epoch = getattr(sched, "last_epoch", None)
    values_of = getattr(sched, "_values_per_group", None)
    if not isinstance(epoch, Tensor) or values_of is None:
        return None
    saved = epoch.clone()
    previous: float | None = None
    try:
        for step in _PROBE_STEPS:
            epoch.fill_(step)
            values = [v for v in values_of() if v is not None]
            if not values:
                return None
            value = float(values[0])
            if previous is not None and value < previous * (1 - 1e-6) and math.isfinite(value):
                return step, previous, value
            previous = value
    finally:
        epoch.copy_(saved)
    return None
