"""Generic schedulers: every schedule shape, bound to any param-group key.

Each class here binds one shape of :mod:`waferopt.schedulers.shapes` to the key given
as ``param_group_key`` (``"lr"``, ``"weight_decay"``, ``"momentum"``, ``"betas[0]"``,
...). The ``*LR`` classes of :mod:`waferopt.schedulers.lr_scheduler` and the ``*WD``
classes of :mod:`waferopt.schedulers.weight_decay_scheduler` are the same classes
with the key fixed and the spec's argument names.

Example:
    >>> import torch
    >>> from waferopt.schedulers import CosineDecayScheduler
    >>> # optimizer: any waferopt optimizer whose groups hold "momentum"
    >>> # sched = CosineDecayScheduler(optimizer, "momentum", initial_val=0.95,
    >>> #                              end_val=0.85, total_iters=1000)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch

from waferopt.core import Optimizer, Scheduler
from waferopt.core.scheduler import _normalize_scheduler_tags

from . import shapes
from ._base import KeyedScheduler, evaluate_at

__all__ = [
    "ChainedGenericScheduler",
    "ConstantScheduler",
    "CosineAnnealingScheduler",
    "CosineAnnealingWarmRestartsScheduler",
    "CosineDecayScheduler",
    "CyclicScheduler",
    "ExponentialScheduler",
    "InverseExponentialTimeDecayScheduler",
    "InverseSquareRootDecayScheduler",
    "LambdaScheduler",
    "LinearScheduler",
    "MultiStepScheduler",
    "MultiplicativeScheduler",
    "OneCycleScheduler",
    "PiecewiseConstantScheduler",
    "PolynomialScheduler",
    "ScalePerParamScheduler",
    "SequentialScheduler",
    "StepScheduler",
]

_TAGS_DOC = """param_group_tags: apply only to param groups whose ``tags`` intersect these
            (a tag or a collection of tags); ``None`` applies to every group."""


class ConstantScheduler(KeyedScheduler):
    """Holds a constant value: ``v(t) = val``.

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive (``"lr"``, ``"momentum"``, ``"betas[0]"``).
        val: the value to hold.
        total_iters: the duration in steps, used only as a ``SequentialScheduler``
            milestone (unlike ``torch.optim.lr_scheduler.ConstantLR``'s factor period).
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        val: float,
        total_iters: int | None = None,
        param_group_tags: Any = None,
    ) -> None:
        self.val = self._number("val", val)
        if total_iters is not None:
            total_iters = self._integer("total_iters", total_iters)
        super().__init__(optimizer, param_group_key, total_iters, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.constant(self.step_as_float(), self.val)


class PolynomialScheduler(KeyedScheduler):
    r"""Polynomial decay from ``initial_val`` to ``end_val`` over ``total_iters`` steps.

    .. math::
        v(t) = end + (initial - end)(1 - \min(t, T)/T)^{power}

    With ``cycle=True`` the decay restarts TensorFlow-style (see
    :func:`waferopt.schedulers.shapes.polynomial_decay`). Similar to
    ``torch.optim.lr_scheduler.PolynomialLR`` (which decays to 0).

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        end_val: the value from step ``total_iters`` on.
        total_iters: number of decay steps (>= 1).
        power: exponent of the decay (1 is linear).
        cycle: restart the decay with a longer period instead of holding ``end_val``.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        end_val: float,
        total_iters: int,
        power: float = 1.0,
        cycle: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.end_val = self._number("end_val", end_val)
        self.power = self._number("power", power)
        self.cycle = self._flag("cycle", cycle)
        total_iters = self._integer("total_iters", total_iters, minimum=1)
        super().__init__(optimizer, param_group_key, total_iters, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.polynomial_decay(
            self.step_as_float(),
            self.initial_val,
            self.end_val,
            cast(int, self.total_iters),
            self.power,
            self.cycle,
        )


class LinearScheduler(PolynomialScheduler):
    r"""Linear interpolation from ``initial_val`` to ``end_val``: a polynomial of power 1.

    .. math::
        v(t) = end + (initial - end)(1 - \min(t, T)/T)

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        end_val: the value from step ``total_iters`` on.
        total_iters: number of steps (>= 1).
        cycle: restart TensorFlow-style instead of holding ``end_val``.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        end_val: float,
        total_iters: int,
        cycle: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            param_group_key,
            initial_val,
            end_val,
            total_iters,
            1.0,
            cycle,
            param_group_tags,
        )


class ExponentialScheduler(KeyedScheduler):
    r"""Exponential decay, TensorFlow style (not clamped after ``total_iters``).

    .. math::
        v(t) = initial \cdot rate^{t/T} \quad (\text{staircase: } rate^{\lfloor t/T \rfloor})

    Similar to ``torch.optim.lr_scheduler.ExponentialLR`` (``T = 1``, ``rate = gamma``).

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        total_iters: the number of steps over which the value is multiplied by ``decay_rate``.
        decay_rate: the decay factor per ``total_iters`` steps.
        staircase: decay at discrete intervals.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        total_iters: int,
        decay_rate: float,
        staircase: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.decay_rate = self._number("decay_rate", decay_rate)
        self.staircase = self._flag("staircase", staircase)
        total_iters = self._integer("total_iters", total_iters, minimum=1)
        super().__init__(optimizer, param_group_key, total_iters, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.exponential_decay(
            self.step_as_float(),
            self.initial_val,
            cast(int, self.total_iters),
            self.decay_rate,
            self.staircase,
        )


class InverseExponentialTimeDecayScheduler(KeyedScheduler):
    r"""Inverse time decay, as Keras ``InverseTimeDecay`` (with a step exponent).

    .. math::
        v(t) = \frac{initial}{1 + rate \cdot t^{k}/T}

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        step_exponent: the exponent ``k`` of the step.
        total_iters: the decay period ``T``.
        decay_rate: the decay rate.
        staircase: floor ``t^k / T``.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        step_exponent: float,
        total_iters: int,
        decay_rate: float,
        staircase: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.step_exponent = self._number("step_exponent", step_exponent)
        self.decay_rate = self._number("decay_rate", decay_rate)
        self.staircase = self._flag("staircase", staircase)
        total_iters = self._integer("total_iters", total_iters, minimum=1)
        super().__init__(optimizer, param_group_key, total_iters, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.inverse_time_decay(
            self.step_as_float(),
            self.initial_val,
            self.step_exponent,
            cast(int, self.total_iters),
            self.decay_rate,
            self.staircase,
        )


class InverseSquareRootDecayScheduler(KeyedScheduler):
    r"""Inverse square-root decay: :math:`v(t) = initial \cdot scale / \sqrt{\max(t, W)}`.

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the base value.
        scale: multiplicative factor.
        warmup_steps: ``W`` (> 0): the value is constant for ``t <= W``.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float = 1.0,
        scale: float = 1.0,
        warmup_steps: float = 1,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.scale = self._number("scale", scale)
        self.warmup_steps = self._number("warmup_steps", warmup_steps, positive=True)
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.inverse_sqrt_decay(
            self.step_as_float(), self.initial_val, self.scale, self.warmup_steps
        )


class CosineDecayScheduler(KeyedScheduler):
    r"""Cosine decay from ``initial_val`` to ``end_val``, then ``end_val`` (Keras ``CosineDecay``).

    .. math::
        v(t) = end + (initial - end)\tfrac12(1 + \cos(\pi\min(t, T)/T))

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        end_val: the value from step ``total_iters`` on.
        total_iters: number of decay steps (>= 1).
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        end_val: float,
        total_iters: int,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.end_val = self._number("end_val", end_val)
        total_iters = self._integer("total_iters", total_iters, minimum=1)
        super().__init__(optimizer, param_group_key, total_iters, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.cosine_decay(
            self.step_as_float(), self.initial_val, self.end_val, cast(int, self.total_iters)
        )


class MultiStepScheduler(KeyedScheduler):
    r"""Decay by ``gamma`` at each milestone: :math:`initial\cdot\gamma^{\#\{m \le t\}}`.

    Milestones may come in any order; a repeated milestone decays twice (as
    ``torch.optim.lr_scheduler.MultiStepLR``).

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        gamma: the multiplicative factor.
        milestones: the steps at which to decay (non-negative ints).
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        gamma: float,
        milestones: Sequence[int],
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.gamma = self._number("gamma", gamma)
        self.milestones = self._int_list("milestones", milestones)
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.multi_step(
            self.step_as_float(),
            self.initial_val,
            self.gamma,
            self._cached_tensor(self.milestones, torch.int64),
        )


class StepScheduler(KeyedScheduler):
    r"""Decay by ``gamma`` every ``step_size`` steps: :math:`initial\cdot\gamma^{\lfloor t/s\rfloor}`.

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        step_size: the period of decay (>= 1).
        gamma: the multiplicative factor.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        step_size: int,
        gamma: float,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.step_size = self._integer("step_size", step_size, minimum=1)
        self.gamma = self._number("gamma", gamma)
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.step_decay(self.step_as_float(), self.initial_val, self.step_size, self.gamma)


class CosineAnnealingScheduler(KeyedScheduler):
    r"""SGDR cosine annealing without restarts.

    .. math::
        v(t) = \eta_{min} + (initial - \eta_{min})\tfrac12(1 + \cos(\pi t/T_{max}))

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        T_max: half period (>= 1); the value keeps oscillating past it (as torch).
        eta_min: the minimum value.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        T_max: int,
        eta_min: float = 0.0,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.T_max = self._integer("T_max", T_max, minimum=1)
        self.eta_min = self._number("eta_min", eta_min)
        super().__init__(optimizer, param_group_key, self.T_max, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.cosine_annealing(
            self.step_as_float(), self.initial_val, self.T_max, self.eta_min
        )


class CosineAnnealingWarmRestartsScheduler(KeyedScheduler):
    r"""SGDR: cosine annealing with warm restarts every ``T_i = T_0 T_mult^i`` steps.

    .. math::
        v(t) = \eta_{min} + (initial - \eta_{min})\tfrac12(1 + \cos(\pi T_{cur}/T_i))

    :math:`T_{cur}` is the number of steps since the last restart. (Cerebras 2.3 used
    a wrong :math:`T_{cur}` past the first period and rejected ``T_mult != 1``; this
    follows the formula and PyTorch.)

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value right after each restart.
        T_0: length of the first period (>= 1).
        T_mult: integer growth factor of the period after each restart (>= 1).
        eta_min: the minimum value.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.T_0 = self._integer("T_0", T_0, minimum=1)
        self.T_mult = self._integer("T_mult", T_mult, minimum=1)
        self.eta_min = self._number("eta_min", eta_min)
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.cosine_annealing_warm_restarts(
            self.step_as_float(), self.initial_val, self.T_0, self.T_mult, self.eta_min
        )


class MultiplicativeScheduler(KeyedScheduler):
    r"""Multiply by ``coefficient`` every step: :math:`v(t) = initial \cdot c^{t}`.

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        coefficient: the factor applied each step.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        coefficient: float,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.coefficient = self._number("coefficient", coefficient)
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.multiplicative(self.step_as_float(), self.initial_val, self.coefficient)


class LambdaScheduler(KeyedScheduler):
    r"""``initial_val`` times the product of user functions of the step.

    .. math::
        v(t) = initial \cdot \prod_i \lambda_i(t)

    Give the functions as ``val_lambda`` (a callable or a list of callables), or
    subclass and override :meth:`set_value_lambda`. Each function receives the step as
    a 0-d float64 tensor (use tensor operations to keep the step free of host syncs)
    and returns a number or a 0-d tensor. Functions are not saved in ``state_dict``
    (as torch does for plain functions).

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the base value.
        val_lambda: a function of the step, or a list of them (multiplied together).
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    _not_saved = (*KeyedScheduler._not_saved, "_lambdas", "_lambda_arg")

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        val_lambda: Callable[[torch.Tensor], Any]
        | Sequence[Callable[[torch.Tensor], Any]]
        | None = None,
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self._lambda_arg = val_lambda
        lambdas = self.set_value_lambda()
        if callable(lambdas):
            lambdas = [lambdas]
        if not isinstance(lambdas, (list, tuple)) or not lambdas:
            raise TypeError(
                f"{type(self).__name__}: pass {self._name('val_lambda')} (a function of the step or a "
                f"list of them), or subclass and override set_value_lambda(); got {val_lambda!r}"
            )
        for index, fn in enumerate(lambdas):
            if not callable(fn):
                raise TypeError(
                    f"{type(self).__name__}: {self._name('val_lambda')}[{index}] must be callable, "
                    f"got {type(fn).__name__} {fn!r}"
                )
        self._lambdas = list(lambdas)
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def set_value_lambda(
        self,
    ) -> Callable[[torch.Tensor], Any] | Sequence[Callable[[torch.Tensor], Any]] | None:
        """The functions whose product scales ``initial_val``. Override in a subclass;
        the default returns the function(s) given to the constructor."""
        return self._lambda_arg

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.lambda_product(self.step_as_float(), self.initial_val, self._lambdas)


class CyclicScheduler(KeyedScheduler):
    r"""Cyclical schedule between ``base_val`` and ``max_val`` (CLR).

    See :func:`waferopt.schedulers.shapes.cyclic` for the formula. ``scale_mode`` is
    honoured (Cerebras 2.3 overwrote it with the mode's own); ``None`` (the default)
    means the mode's own, as ``torch.optim.lr_scheduler.CyclicLR``: ``"cycle"`` for
    the triangular modes, ``"iterations"`` for ``exp_range``.

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        base_val: lower boundary of the cycle (the value at step 0).
        max_val: upper boundary of the cycle.
        step_size_up: steps of the increasing half (>= 1).
        step_size_down: steps of the decreasing half (>= 1); ``None`` = ``step_size_up``.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: the base of the ``exp_range`` scaling.
        scale_mode: ``"cycle"``, ``"iterations"`` or ``None``.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        base_val: float,
        max_val: float,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_mode: str | None = None,
        param_group_tags: Any = None,
    ) -> None:
        self.base_val = self._number("base_val", base_val)
        self.max_val = self._number("max_val", max_val)
        self.step_size_up = self._integer("step_size_up", step_size_up, minimum=1)
        self.step_size_down = (
            None
            if step_size_down is None
            else self._integer("step_size_down", step_size_down, minimum=1)
        )
        self.mode = self._choice("mode", mode, ("triangular", "triangular2", "exp_range"))
        self.gamma = self._number("gamma", gamma)
        self.scale_mode = self._choice("scale_mode", scale_mode, (None, "cycle", "iterations"))
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.cyclic(
            self.step_as_float(),
            self.base_val,
            self.max_val,
            self.step_size_up,
            self.step_size_down,
            self.mode,
            self.gamma,
            self.scale_mode,
        )


class OneCycleScheduler(KeyedScheduler):
    r"""The 1cycle policy: ``initial_val`` → ``max_val`` → ``initial_val / final_div_factor``.

    See :func:`waferopt.schedulers.shapes.one_cycle`. ``initial_val`` is PyTorch's
    ``max_lr / div_factor``. Past ``total_steps - 1`` the final value holds (Cerebras
    2.3 kept extrapolating; PyTorch raises).

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        initial_val: the value at step 0.
        max_val: the peak value.
        total_steps: the length of the cycle (>= 2).
        pct_start: fraction of the cycle spent increasing, in (0, 1).
        final_div_factor: the final value is ``initial_val / final_div_factor``.
        three_phase: go back down to ``initial_val`` before the final annealing.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        initial_val: float,
        max_val: float,
        total_steps: int = 1000,
        pct_start: float = 0.3,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        anneal_strategy: str = "cos",
        param_group_tags: Any = None,
    ) -> None:
        self.initial_val = self._number("initial_val", initial_val)
        self.max_val = self._number("max_val", max_val)
        self.total_steps = self._integer("total_steps", total_steps, minimum=2)
        self.pct_start = self._number("pct_start", pct_start)
        if not 0.0 < self.pct_start < 1.0:
            raise ValueError(
                f"{self._error_prefix('pct_start')} must be in (0, 1), got {pct_start!r}"
            )
        self.final_div_factor = self._number("final_div_factor", final_div_factor, positive=True)
        self.three_phase = self._flag("three_phase", three_phase)
        self.anneal_strategy = self._choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
        n, p = float(self.total_steps), self.pct_start
        ends = (
            [p * n - 1.0, 2.0 * p * n - 2.0, n - 1.0]
            if self.three_phase
            else [p * n - 1.0, n - 1.0]
        )
        if any(b <= a for a, b in zip([0.0, *ends], ends)):
            raise ValueError(
                f"{type(self).__name__}: total_steps={self.total_steps} and pct_start={self.pct_start} "
                f"give phases ending at {ends}; each phase must last more than 0 steps"
            )
        super().__init__(
            optimizer, param_group_key, self.total_steps, param_group_tags=param_group_tags
        )

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.one_cycle(
            self.step_as_float(),
            self.initial_val,
            self.max_val,
            self.total_steps,
            self.pct_start,
            self.final_div_factor,
            self.three_phase,
            self.anneal_strategy,
        )


class PiecewiseConstantScheduler(KeyedScheduler):
    r"""``vals[k]`` for :math:`m_k \le t < m_{k+1}` (:math:`m_0 = 0`).

    Args:
        optimizer: the waferopt optimizer to schedule.
        param_group_key: the group key to drive.
        vals: the values, ``len(milestones) + 1`` of them (or ``len(milestones)``: the
            last one then persists, as Cerebras allows).
        milestones: strictly increasing positive steps at which the next value starts.
        param_group_tags: see :class:`waferopt.core.Scheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        param_group_key: str,
        vals: Sequence[float],
        milestones: Sequence[int],
        param_group_tags: Any = None,
    ) -> None:
        self.vals = self._number_list("vals", vals)
        self.milestones = self._int_list("milestones", milestones, increasing=True)
        if len(self.vals) not in (len(self.milestones), len(self.milestones) + 1):
            raise ValueError(
                f"{type(self).__name__}: {self._name('vals')} must have len(milestones) + 1 = "
                f"{len(self.milestones) + 1} values, got {len(self.vals)}"
            )
        super().__init__(optimizer, param_group_key, None, param_group_tags=param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        return shapes.piecewise_constant(
            self.step_as_float(),
            self._cached_tensor(self.vals, self.compute_dtype),
            self._cached_tensor(self.milestones, torch.int64),
        )


# ---------------------------------------------------------------------- composites
class _Composite(KeyedScheduler):
    """Base of the schedulers built from other schedulers.

    Children must share the optimizer, the param-group key and the tags (a composite
    without its own tags adopts its children's). Children are taken out of the
    optimizer's scheduler registry: only the composite is stepped.
    """

    _required_key: str | None = None
    _children_attr = "_schedulers"

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
            if isinstance(child, ScalePerParamScheduler):
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
        tags = _normalize_scheduler_tags(param_group_tags)
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

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state[self._children_attr] = [child.state_dict() for child in self._children()]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load the children's states (when given), then this scheduler's.

        The children are evaluated at local steps computed from this scheduler's step,
        so a state dict holding only ``last_epoch`` restores the values too.
        """
        self._check_state_dict(state_dict)  # before any child is touched
        state = dict(state_dict)
        children_states = state.pop(self._children_attr, None)
        children = self._children()
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
            for child, child_state in zip(children, children_states):
                child.load_state_dict(child_state)
                self.optimizer._schedulers_registry.pop(child, None)
        super().load_state_dict(state)


class SequentialScheduler(_Composite):
    r"""Runs ``schedulers`` one after another, switching at ``milestones``.

    .. math::
        v(t) = S_k(t - m_k), \quad k = \#\{i : m_i \le t\},\ m_0 = 0

    Each child sees its own local step, starting at 0 at its milestone (as
    ``torch.optim.lr_scheduler.SequentialLR``). A step evaluates every child once:
    its cost is O(len(schedulers)), whatever the step count.

    The duration (``total_iters``) is the last milestone plus the last child's
    ``total_iters`` (None if that is None), so a sequence can itself be a non-final
    member of another sequence.

    Args:
        optimizer: the optimizer every child drives.
        schedulers: the schedulers, all of the same param-group key and tags.
        milestones: ``len(schedulers) - 1`` non-decreasing non-negative ints.
        last_epoch: the step before the first one.
        param_group_tags: the children's tags (adopted from them when None).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[Scheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        optimizer, key, tags = self._check_children(optimizer, schedulers, param_group_tags)
        if hasattr(milestones, "tolist") and not isinstance(milestones, (list, tuple)):
            milestones = milestones.tolist()
        if not isinstance(milestones, (list, tuple)) or any(
            isinstance(m, bool) or not isinstance(m, int) for m in milestones
        ):
            raise TypeError(
                f"{type(self).__name__}: milestones must be a list of ints, got {milestones!r}"
            )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{type(self).__name__}: expected len(milestones) == len(schedulers) - 1 = "
                f"{len(schedulers) - 1}, got {len(milestones)} milestones"
            )
        if any(m < 0 for m in milestones) or any(b < a for a, b in itertools.pairwise(milestones)):
            raise ValueError(
                f"{type(self).__name__}: milestones must be non-negative and non-decreasing, got {list(milestones)}"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        last = self._schedulers[-1].total_iters
        total = None if last is None else (self._milestones[-1] if self._milestones else 0) + last
        super().__init__(optimizer, key, total, last_epoch=last_epoch, param_group_tags=tags)

    def _get_closed_form(self) -> torch.Tensor:
        t = self.last_epoch
        dtype = self.compute_dtype
        value = evaluate_at(self._schedulers[0], t, dtype)
        for child, milestone in zip(self._schedulers[1:], self._milestones):
            local = evaluate_at(child, torch.clamp(t - milestone, min=0), dtype)
            value = torch.where(t >= milestone, local, value)
        return value


class ChainedGenericScheduler(_Composite):
    r"""Multiplies schedulers together.

    .. math::
        v(t) = S_0(t) \prod_{i \ge 1} \frac{S_i(t)}{S_i.initial\_val}

    The first scheduler gives the value; each further one acts as a factor relative to
    its own ``initial_val`` (which must exist and be non-zero). The key is the
    children's. ``ChainedLR`` / ``ChainedWD`` are this class for ``"lr"`` and
    ``"weight_decay"``.

    Args:
        schedulers: the schedulers, all of one optimizer, key and tags.
        param_group_tags: the children's tags (adopted from them when None).
    """

    def __init__(self, schedulers: Sequence[Scheduler], param_group_tags: Any = None) -> None:
        optimizer, key, tags = self._check_children(None, schedulers, param_group_tags)
        self._schedulers = list(schedulers)
        for index, child in enumerate(self._schedulers[1:], start=1):
            initial = getattr(child, "initial_val", None)
            if isinstance(initial, bool) or not isinstance(initial, (int, float)):
                raise ValueError(
                    f"{type(self).__name__}: schedulers[{index}] ({type(child).__name__}) has no "
                    f"numeric initial_val, so it cannot act as a factor; only schedulers[0] may"
                )
            if initial == 0:
                raise ValueError(
                    f"{type(self).__name__}: schedulers[{index}] ({type(child).__name__}) has "
                    f"initial_val 0 and cannot act as a factor"
                )
        super().__init__(optimizer, key, None, param_group_tags=tags)

    def _get_closed_form(self) -> torch.Tensor:
        t = self.last_epoch
        dtype = self.compute_dtype
        value = evaluate_at(self._schedulers[0], t, dtype)
        for child in self._schedulers[1:]:
            value = value * (evaluate_at(child, t, dtype) / child.initial_val)  # type: ignore[attr-defined]
        return value


class ScalePerParamScheduler(_Composite):
    """Scales one scheduler's value by a per-group factor.

    Group ``g`` receives ``S(t) * a_g`` where ``a_g`` is the group's
    ``adjust_learning_rate`` (or ``adjust_val``) at construction, 1.0 if it has none;
    groups the tags do not match receive nothing.

    Args:
        optimizer: the optimizer the child drives.
        scheduler: the scheduler to scale.
        param_group_tags: the child's tags (adopted from it when None).
    """

    _children_attr = "_scheduler"
    _factor_keys: tuple[str, ...] = ("adjust_learning_rate", "adjust_val")

    def __init__(
        self, optimizer: Optimizer, scheduler: Scheduler, param_group_tags: Any = None
    ) -> None:
        if not isinstance(scheduler, Scheduler):
            raise TypeError(
                f"{type(self).__name__}: scheduler must be a waferopt Scheduler, got {type(scheduler).__name__}"
            )
        optimizer, key, tags = self._check_children(optimizer, [scheduler], param_group_tags)
        self._scheduler = scheduler
        self.lr_adjustment_scalars = [
            self._read_factor(index, g) for index, g in enumerate(optimizer.param_groups)
        ]
        super().__init__(optimizer, key, scheduler.total_iters, param_group_tags=tags)

    def _read_factor(self, index: int, group: dict[str, Any]) -> float:
        for key in self._factor_keys:
            if key in group:
                return self._number(f"param_groups[{index}][{key!r}]", group[key])
        return 1.0

    def _children(self) -> list[Scheduler]:
        return [self._scheduler]

    def _get_closed_form(self) -> torch.Tensor:
        return evaluate_at(self._scheduler, self.last_epoch, self.compute_dtype)

    def _values_per_group(self) -> list[torch.Tensor | None]:
        value = self._get_closed_form()
        factors = self.lr_adjustment_scalars
        return [
            (value * (factors[i] if i < len(factors) else 1.0)).to(self.value_dtype)
            if self._should_apply_to_param_group(group)
            else None
            for i, group in enumerate(self.optimizer.param_groups)
        ]

    def state_dict(self) -> dict[str, Any]:
        state = KeyedScheduler.state_dict(self)
        child = self._scheduler.state_dict()
        child.pop("_get_called_within_step", None)
        state["_scheduler"] = child
        return state
