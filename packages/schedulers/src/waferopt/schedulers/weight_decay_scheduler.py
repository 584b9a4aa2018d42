"""Weight-decay schedulers: the generic shapes bound to the ``"weight_decay"`` key.

Each class is a thin binding of a class of :mod:`waferopt.schedulers.scheduler` with
the argument names of ``cerebras.pytorch.optim.weight_decay_scheduler`` (``initial_val``,
``end_val``, ``val``, ``vals``, ``base_val``, ``max_val``).

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from waferopt.core import Optimizer, Scheduler, WeightDecayScheduler

from .scheduler import (
    ChainedGenericScheduler,
    ConstantScheduler,
    CosineAnnealingScheduler,
    CosineAnnealingWarmRestartsScheduler,
    CosineDecayScheduler,
    CyclicScheduler,
    ExponentialScheduler,
    InverseExponentialTimeDecayScheduler,
    InverseSquareRootDecayScheduler,
    LambdaScheduler,
    MultiplicativeScheduler,
    MultiStepScheduler,
    OneCycleScheduler,
    PiecewiseConstantScheduler,
    PolynomialScheduler,
    ScalePerParamScheduler,
    SequentialScheduler,
    StepScheduler,
)

__all__ = [
    "ChainedWD",
    "ConstantWD",
    "CosineAnnealingWD",
    "CosineAnnealingWarmRestartsWD",
    "CosineDecayWD",
    "CyclicWD",
    "ExponentialWD",
    "InverseExponentialTimeDecayWD",
    "InverseSquareRootDecayWD",
    "LambdaWD",
    "LinearWD",
    "MultiStepWD",
    "MultiplicativeWD",
    "OneCycleWD",
    "PiecewiseConstantWD",
    "PolynomialWD",
    "ScalePerParamWD",
    "SequentialWD",
    "StepWD",
    "WeightDecayScheduler",
]


class ConstantWD(ConstantScheduler, WeightDecayScheduler):
    """Maintains a constant weight decay: ``v(t) = val``.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.ConstantScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        val: float,
        total_iters: int | None = None,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "weight_decay", val, total_iters, param_group_tags)


class PolynomialWD(PolynomialScheduler, WeightDecayScheduler):
    """Decays the weight decay polynomially from ``initial_val`` to ``end_val`` over ``total_iters`` steps (similar to ``torch.optim.lr_scheduler.PolynomialLR``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.PolynomialScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        end_val: float,
        total_iters: int,
        power: float = 1.0,
        cycle: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "weight_decay",
            initial_val,
            end_val,
            total_iters,
            power,
            cycle,
            param_group_tags,
        )


class LinearWD(PolynomialWD):
    """Interpolates the weight decay linearly from ``initial_val`` to ``end_val``: a polynomial of power 1.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.LinearScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        end_val: float,
        total_iters: int,
        cycle: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, initial_val, end_val, total_iters, 1.0, cycle, param_group_tags)


class ExponentialWD(ExponentialScheduler, WeightDecayScheduler):
    """Decays the weight decay by ``decay_rate`` every ``total_iters`` steps, TensorFlow style (similar to ``torch.optim.lr_scheduler.ExponentialLR``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.ExponentialScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        total_iters: int,
        decay_rate: float,
        staircase: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "weight_decay",
            initial_val,
            total_iters,
            decay_rate,
            staircase,
            param_group_tags,
        )


class InverseExponentialTimeDecayWD(InverseExponentialTimeDecayScheduler, WeightDecayScheduler):
    """Decays the weight decay inverse-exponentially over time, as the Keras ``InverseTimeDecay`` class.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.InverseExponentialTimeDecayScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        step_exponent: float,
        total_iters: int,
        decay_rate: float,
        staircase: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "weight_decay",
            initial_val,
            step_exponent,
            total_iters,
            decay_rate,
            staircase,
            param_group_tags,
        )


class InverseSquareRootDecayWD(InverseSquareRootDecayScheduler, WeightDecayScheduler):
    """Decays the weight decay as ``initial_val * scale / sqrt(max(t, warmup_steps))``.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.InverseSquareRootDecayScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float = 1.0,
        scale: float = 1.0,
        warmup_steps: float = 1,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "weight_decay", initial_val, scale, warmup_steps, param_group_tags
        )


class CosineDecayWD(CosineDecayScheduler, WeightDecayScheduler):
    """Applies the cosine decay schedule of the Keras ``CosineDecay`` class to the weight decay.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.CosineDecayScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        end_val: float,
        total_iters: int,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "weight_decay", initial_val, end_val, total_iters, param_group_tags
        )


class PiecewiseConstantWD(PiecewiseConstantScheduler, WeightDecayScheduler):
    """Holds the weight decay at ``vals[k]`` from milestone ``k`` to the next.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.PiecewiseConstantScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        vals: Sequence[float],
        milestones: Sequence[int],
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "weight_decay", vals, milestones, param_group_tags)


class MultiStepWD(MultiStepScheduler, WeightDecayScheduler):
    """Decays the weight decay by ``gamma`` at each milestone (similar to ``torch.optim.lr_scheduler.MultiStepLR``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.MultiStepScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        gamma: float,
        milestones: Sequence[int],
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "weight_decay", initial_val, gamma, milestones, param_group_tags
        )


class StepWD(StepScheduler, WeightDecayScheduler):
    """Decays the weight decay by ``gamma`` every ``step_size`` steps (similar to ``torch.optim.lr_scheduler.StepLR``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.StepScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        step_size: int,
        gamma: float,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "weight_decay", initial_val, step_size, gamma, param_group_tags)


class CosineAnnealingWD(CosineAnnealingScheduler, WeightDecayScheduler):
    """Anneals the weight decay along a cosine (similar to ``torch.optim.lr_scheduler.CosineAnnealingLR``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.CosineAnnealingScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        T_max: int,
        eta_min: float = 0.0,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "weight_decay", initial_val, T_max, eta_min, param_group_tags)


class LambdaWD(LambdaScheduler, WeightDecayScheduler):
    """Sets the weight decay to ``initial_val`` times the product of user functions of the step.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.LambdaScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        val_lambda: Any = None,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "weight_decay", initial_val, val_lambda, param_group_tags)


class CosineAnnealingWarmRestartsWD(CosineAnnealingWarmRestartsScheduler, WeightDecayScheduler):
    """Anneals the weight decay along a cosine with warm restarts, SGDR (similar to ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.CosineAnnealingWarmRestartsScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "weight_decay", initial_val, T_0, T_mult, eta_min, param_group_tags
        )


class MultiplicativeWD(MultiplicativeScheduler, WeightDecayScheduler):
    """Multiplies the weight decay by ``coefficient`` every step.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.MultiplicativeScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        coefficient: float,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "weight_decay", initial_val, coefficient, param_group_tags)


class CyclicWD(CyclicScheduler, WeightDecayScheduler):
    """Cycles the weight decay between ``base_val`` and ``max_val`` (CLR; similar to ``torch.optim.lr_scheduler.CyclicLR``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.CyclicScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_val: float,
        max_val: float,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_mode: str | None = None,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "weight_decay",
            base_val,
            max_val,
            step_size_up,
            step_size_down,
            mode,
            gamma,
            scale_mode,
            param_group_tags,
        )


class OneCycleWD(OneCycleScheduler, WeightDecayScheduler):
    """Sets the weight decay by the 1cycle policy (similar to ``torch.optim.lr_scheduler.OneCycleLR``; ``initial_val`` is torch's ``max_lr / div_factor``).

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.OneCycleScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_val: float,
        max_val: float,
        total_steps: int = 1000,
        pct_start: float = 0.3,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        anneal_strategy: str = "cos",
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "weight_decay",
            initial_val,
            max_val,
            total_steps,
            pct_start,
            final_div_factor,
            three_phase,
            anneal_strategy,
            param_group_tags,
        )


class SequentialWD(SequentialScheduler, WeightDecayScheduler):
    """Runs weight-decay schedulers one after another, switching at ``milestones``.

    Similar to ``torch.optim.lr_scheduler.SequentialLR``.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.SequentialScheduler`.
    """

    _required_key = "weight_decay"

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[Scheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, schedulers, milestones, last_epoch, param_group_tags)


class ChainedWD(ChainedGenericScheduler, WeightDecayScheduler):
    """Chains weight-decay schedulers: their values multiply, relative to their ``initial_val``.

    The first scheduler gives the value; each further one multiplies it by its own
    value divided by its ``initial_val``.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.ChainedGenericScheduler`.
    """

    _required_key = "weight_decay"

    def __init__(self, schedulers: Sequence[Scheduler], param_group_tags: Any = None) -> None:
        super().__init__(schedulers, param_group_tags)


class ScalePerParamWD(ScalePerParamScheduler, WeightDecayScheduler):
    """Scales a weight-decay scheduler per param group by the group\'s factor.

    The factor is the group\'s ``adjust_learning_rate`` (or ``adjust_val``), 1 if absent.

    The 'weight_decay' binding of :class:`~waferopt.schedulers.scheduler.ScalePerParamScheduler`.
    """

    _required_key = "weight_decay"

    def __init__(
        self, optimizer: Optimizer, scheduler: Scheduler, param_group_tags: Any = None
    ) -> None:
        super().__init__(optimizer, scheduler, param_group_tags)
