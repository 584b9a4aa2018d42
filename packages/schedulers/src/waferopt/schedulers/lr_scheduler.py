"""Learning-rate schedulers: the generic shapes bound to the ``"lr"`` key.

Each class is a thin binding of a class of :mod:`waferopt.schedulers.scheduler` with
the argument names of ``cerebras.pytorch.optim.lr_scheduler`` (``initial_learning_rate``,
``end_learning_rate``, ``learning_rate``, ``learning_rates``, ``base_lr``, ``max_lr``);
the generic names (``initial_val``, ``end_val``, ``val``, ``vals``, ``base_val``,
``max_val``) are properties over them. Values are written into the param groups as
0-d float32 tensors, in place once a tensor is there.

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from waferopt.core import LRScheduler, Optimizer, Scheduler

from ._base import alias
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
    "ChainedLR",
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CosineDecayLR",
    "CyclicLR",
    "ExponentialLR",
    "InverseExponentialTimeDecayLR",
    "InverseSquareRootDecayLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PiecewiseConstantLR",
    "PolynomialLR",
    "ScalePerParamLR",
    "SequentialLR",
    "StepLR",
]


class ConstantLR(ConstantScheduler, LRScheduler):  # type: ignore[misc]
    """Maintains a constant learning rate: ``v(t) = learning_rate``.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.ConstantScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"val": "learning_rate"}
    val = alias("learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        learning_rate: float,
        total_iters: int | None = None,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "lr", learning_rate, total_iters, param_group_tags)


class PolynomialLR(PolynomialScheduler, LRScheduler):  # type: ignore[misc]
    """Decays the learning rate polynomially from ``initial_learning_rate`` to ``end_learning_rate`` over ``total_iters`` steps (similar to ``torch.optim.lr_scheduler.PolynomialLR``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.PolynomialScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {
        "initial_val": "initial_learning_rate",
        "end_val": "end_learning_rate",
    }
    initial_val = alias("initial_learning_rate")
    end_val = alias("end_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        end_learning_rate: float,
        total_iters: int,
        power: float = 1.0,
        cycle: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "lr",
            initial_learning_rate,
            end_learning_rate,
            total_iters,
            power,
            cycle,
            param_group_tags,
        )


class LinearLR(PolynomialLR):  # type: ignore[misc]
    """Interpolates the learning rate linearly from ``initial_learning_rate`` to ``end_learning_rate``: a polynomial of power 1.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.LinearScheduler`; see it for the
    formula, the arguments and the references.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        end_learning_rate: float,
        total_iters: int,
        cycle: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            initial_learning_rate,
            end_learning_rate,
            total_iters,
            1.0,
            cycle,
            param_group_tags,
        )


class ExponentialLR(ExponentialScheduler, LRScheduler):  # type: ignore[misc]
    """Decays the learning rate by ``decay_rate`` every ``total_iters`` steps, TensorFlow style (similar to ``torch.optim.lr_scheduler.ExponentialLR``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.ExponentialScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        total_iters: int,
        decay_rate: float,
        staircase: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "lr",
            initial_learning_rate,
            total_iters,
            decay_rate,
            staircase,
            param_group_tags,
        )


class InverseExponentialTimeDecayLR(InverseExponentialTimeDecayScheduler, LRScheduler):  # type: ignore[misc]
    """Decays the learning rate inverse-exponentially over time, as the Keras ``InverseTimeDecay`` class.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.InverseExponentialTimeDecayScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        step_exponent: float,
        total_iters: int,
        decay_rate: float,
        staircase: bool = False,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "lr",
            initial_learning_rate,
            step_exponent,
            total_iters,
            decay_rate,
            staircase,
            param_group_tags,
        )


class InverseSquareRootDecayLR(InverseSquareRootDecayScheduler, LRScheduler):  # type: ignore[misc]
    """Decays the learning rate as ``initial_learning_rate * scale / sqrt(max(t, warmup_steps))``.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.InverseSquareRootDecayScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float = 1.0,
        scale: float = 1.0,
        warmup_steps: float = 1,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "lr", initial_learning_rate, scale, warmup_steps, param_group_tags
        )


class CosineDecayLR(CosineDecayScheduler, LRScheduler):  # type: ignore[misc]
    """Applies the cosine decay schedule of the Keras ``CosineDecay`` class to the learning rate.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.CosineDecayScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {
        "initial_val": "initial_learning_rate",
        "end_val": "end_learning_rate",
    }
    initial_val = alias("initial_learning_rate")
    end_val = alias("end_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        end_learning_rate: float,
        total_iters: int,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "lr", initial_learning_rate, end_learning_rate, total_iters, param_group_tags
        )


class PiecewiseConstantLR(PiecewiseConstantScheduler, LRScheduler):  # type: ignore[misc]
    """Holds the learning rate at ``learning_rates[k]`` from milestone ``k`` to the next.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.PiecewiseConstantScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"vals": "learning_rates"}
    vals = alias("learning_rates")

    def __init__(
        self,
        optimizer: Optimizer,
        learning_rates: Sequence[float],
        milestones: Sequence[int],
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "lr", learning_rates, milestones, param_group_tags)


class MultiStepLR(MultiStepScheduler, LRScheduler):  # type: ignore[misc]
    """Decays the learning rate by ``gamma`` at each milestone (similar to ``torch.optim.lr_scheduler.MultiStepLR``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.MultiStepScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        gamma: float,
        milestones: Sequence[int],
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "lr", initial_learning_rate, gamma, milestones, param_group_tags
        )


class StepLR(StepScheduler, LRScheduler):  # type: ignore[misc]
    """Decays the learning rate by ``gamma`` every ``step_size`` steps (similar to ``torch.optim.lr_scheduler.StepLR``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.StepScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        step_size: int,
        gamma: float,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "lr", initial_learning_rate, step_size, gamma, param_group_tags)


class CosineAnnealingLR(CosineAnnealingScheduler, LRScheduler):  # type: ignore[misc]
    """Anneals the learning rate along a cosine (similar to ``torch.optim.lr_scheduler.CosineAnnealingLR``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.CosineAnnealingScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        T_max: int,
        eta_min: float = 0.0,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "lr", initial_learning_rate, T_max, eta_min, param_group_tags)


class LambdaLR(LambdaScheduler, LRScheduler):  # type: ignore[misc]
    """Sets the learning rate to ``initial_learning_rate`` times the product of user functions of the step.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.LambdaScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {
        "initial_val": "initial_learning_rate",
        "val_lambda": "lr_lambda",
    }
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        lr_lambda: Any = None,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "lr", initial_learning_rate, lr_lambda, param_group_tags)


class CosineAnnealingWarmRestarts(CosineAnnealingWarmRestartsScheduler, LRScheduler):  # type: ignore[misc]
    """Anneals the learning rate along a cosine with warm restarts, SGDR (similar to ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.CosineAnnealingWarmRestartsScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer, "lr", initial_learning_rate, T_0, T_mult, eta_min, param_group_tags
        )


class MultiplicativeLR(MultiplicativeScheduler, LRScheduler):  # type: ignore[misc]
    """Multiplies the learning rate by ``coefficient`` every step.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.MultiplicativeScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"initial_val": "initial_learning_rate"}
    initial_val = alias("initial_learning_rate")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        coefficient: float,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, "lr", initial_learning_rate, coefficient, param_group_tags)


class CyclicLR(CyclicScheduler, LRScheduler):  # type: ignore[misc]
    """Cycles the learning rate between ``base_lr`` and ``max_lr`` (CLR; similar to ``torch.optim.lr_scheduler.CyclicLR``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.CyclicScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {"base_val": "base_lr", "max_val": "max_lr"}
    base_val = alias("base_lr")
    max_val = alias("max_lr")

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float,
        max_lr: float,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_mode: str | None = None,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "lr",
            base_lr,
            max_lr,
            step_size_up,
            step_size_down,
            mode,
            gamma,
            scale_mode,
            param_group_tags,
        )


class OneCycleLR(OneCycleScheduler, LRScheduler):  # type: ignore[misc]
    """Sets the learning rate by the 1cycle policy (similar to ``torch.optim.lr_scheduler.OneCycleLR``; ``initial_learning_rate`` is torch's ``max_lr / div_factor``).

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.OneCycleScheduler`; see it for the
    formula, the arguments and the references.
    """

    _arg_names: ClassVar[dict[str, str]] = {
        "initial_val": "initial_learning_rate",
        "max_val": "max_lr",
    }
    initial_val = alias("initial_learning_rate")
    max_val = alias("max_lr")

    def __init__(
        self,
        optimizer: Optimizer,
        initial_learning_rate: float,
        max_lr: float,
        total_steps: int = 1000,
        pct_start: float = 0.3,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        anneal_strategy: str = "cos",
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(
            optimizer,
            "lr",
            initial_learning_rate,
            max_lr,
            total_steps,
            pct_start,
            final_div_factor,
            three_phase,
            anneal_strategy,
            param_group_tags,
        )


class SequentialLR(SequentialScheduler, LRScheduler):  # type: ignore[misc]
    """Runs learning-rate schedulers one after another, switching at ``milestones``.

    Similar to ``torch.optim.lr_scheduler.SequentialLR``.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.SequentialScheduler`.
    """

    _required_key = "lr"

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[Scheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        super().__init__(optimizer, schedulers, milestones, last_epoch, param_group_tags)


class ChainedLR(ChainedGenericScheduler, LRScheduler):  # type: ignore[misc]
    """Chains learning-rate schedulers: their values multiply, relative to their ``initial_val``.

    The first scheduler gives the value; each further one multiplies it by its own
    value divided by its ``initial_val``.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.ChainedGenericScheduler`.
    """

    _required_key = "lr"

    def __init__(self, schedulers: Sequence[Scheduler], param_group_tags: Any = None) -> None:
        super().__init__(schedulers, param_group_tags)


class ScalePerParamLR(ScalePerParamScheduler, LRScheduler):  # type: ignore[misc]
    """Scales a learning-rate scheduler per param group by the group\'s factor.

    The factor is the group\'s ``adjust_learning_rate`` (or ``adjust_val``), 1 if absent.

    The 'lr' binding of :class:`~waferopt.schedulers.scheduler.ScalePerParamScheduler`.
    """

    _required_key = "lr"

    def __init__(
        self, optimizer: Optimizer, scheduler: Scheduler, param_group_tags: Any = None
    ) -> None:
        super().__init__(optimizer, scheduler, param_group_tags)


ChainedScheduler = ChainedLR
"""Alias of :class:`ChainedLR` (``cerebras.pytorch.optim.lr_scheduler.ChainedScheduler``)."""
