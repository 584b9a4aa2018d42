"""An initial value times the product of user functions of the step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from waferopt.core.schedule import Arg, Schedule, ScheduleScheduler, checks

from ._args import INITIAL

Lambda = Callable[[torch.Tensor], Any]


def lambda_product(step: Any, initial: float, lambdas: Sequence[Lambda]) -> Any:
    r"""``initial`` times the product of user factors: :math:`initial\prod_i \lambda_i(t)`.

    Each ``lambda_i`` receives the step as a 0-d floating tensor and returns a number
    or a 0-d tensor. Give the functions as ``val_lambda`` (``lr_lambda``: a callable
    or a list of callables), or subclass and override ``set_value_lambda()``. Use
    tensor operations to keep the step free of host syncs. Functions are not saved in
    ``state_dict`` (as torch does for plain functions).

    Reference: ``torch.optim.lr_scheduler.LambdaLR`` (one function).
    """
    value = torch.full_like(step, initial)
    for fn in lambdas:
        value = value * torch.as_tensor(fn(step), dtype=step.dtype, device=step.device)
    return value


class LambdaBase(ScheduleScheduler):
    """The functions come from :meth:`set_value_lambda` (checked at construction), and
    are not part of the state dict."""

    def set_value_lambda(self) -> Lambda | Sequence[Lambda] | None:
        """The functions whose product scales the initial value. Override in a subclass;
        the default returns the function(s) given to the constructor."""
        return self._args["lambdas"]  # type: ignore[no-any-return]

    def _post_init(self) -> None:
        lambdas = self.set_value_lambda()
        if callable(lambdas):
            lambdas = [lambdas]
        name = self._arg_name("lambdas")
        if not isinstance(lambdas, (list, tuple)) or not lambdas:
            raise TypeError(
                f"{type(self).__name__}: pass {name} (a function of the step or a list of "
                f"them), or subclass and override set_value_lambda(); got {self._args['lambdas']!r}"
            )
        for index, fn in enumerate(lambdas):
            if not callable(fn):
                raise TypeError(
                    f"{type(self).__name__}: {name}[{index}] must be callable, "
                    f"got {type(fn).__name__} {fn!r}"
                )
        self._lambdas = list(lambdas)
        super()._post_init()

    def _tensor_args(self) -> dict[str, Any]:
        return {**self._args, "lambdas": self._lambdas}

    def hyperparameter_names(self) -> tuple[str, ...]:
        own = self._arg_name("lambdas")
        return tuple(n for n in super().hyperparameter_names() if n != own)


LAMBDA = Schedule(
    "Lambda",
    lambda_product,
    summary="Initial value times the product of user functions of the step.",
    lr_summary=(
        "Sets the learning rate to ``initial_learning_rate`` times the product of user "
        "functions of the step."
    ),
    wd_summary=(
        "Sets the weight decay to ``initial_val`` times the product of user functions of the step."
    ),
    args=[
        INITIAL,
        Arg(
            "val_lambda",
            checks.anything(),
            default=None,
            param="lambdas",
            lr_name="lr_lambda",
            doc="a function of the step, or a list of them (multiplied together).",
            annotation="Any",
        ),
    ],
    host=False,
    base=LambdaBase,
)

LambdaLR, LambdaWD, LambdaScheduler = LAMBDA.classes(__name__)
