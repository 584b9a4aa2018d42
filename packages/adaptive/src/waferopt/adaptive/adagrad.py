"""Adagrad with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from waferopt.core import DeclaredOptimizer, Hyperparameter, StateSpec, check_non_negative

from .functional import adagrad

__all__ = ["Adagrad"]


def _filled_with_initial_accumulator(p: Tensor, group: Mapping[str, Any]) -> Tensor:
    """``sum`` starts at ``initial_accumulator_value`` in every coordinate."""
    acc = torch.empty_like(p, memory_format=torch.preserve_format)
    return acc.copy_(torch.as_tensor(group["initial_accumulator_value"], dtype=p.dtype))


class Adagrad(DeclaredOptimizer):
    r"""Adagrad: per-coordinate learning rates from the sum of squared gradients.

    With :math:`t` the step (after its increment), :math:`g' = \pm g + \lambda\theta`:

    .. math::
        s &\leftarrow s + g'^2 \\
        \theta &\leftarrow \theta - \frac{\eta}{1 + (t-1)\,\text{lr\_decay}}
                 \cdot \frac{g'}{\sqrt{s} + \epsilon}

    The trajectory is that of ``torch.optim.Adagrad`` with the same arguments. Note the
    default ``eps=1e-6`` (Cerebras; ``torch.optim.Adagrad`` uses 1e-10).

    State per parameter, created at construction: ``sum`` (filled with
    ``initial_accumulator_value``) and ``step`` (float32; Adagrad always keeps it).

    The eager CPU step runs torch's fused Adagrad kernel (``torch._fused_adagrad_``)
    when every hyperparameter but ``lr`` is a Python number; otherwise (GPU, tensor
    hyperparameters, ``torch.compile``) a multi-tensor (``torch._foreach_*``)
    formulation.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\eta` (a number or a 0-d tensor).
        lr_decay: learning-rate decay.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        initial_accumulator_value: initial value of ``sum``.
        eps: added to the denominator for numerical stability.
        maximize: maximize the objective instead of minimizing it.
        enable_global_step: accepted for a uniform signature; Adagrad always keeps its
            step counter (``False`` raises ``ValueError``).

    Reference:
        Duchi, Hazan, Singer, "Adaptive Subgradient Methods for Online Learning and
        Stochastic Optimization", JMLR 12 (2011). http://jmlr.org/papers/v12/duchi11a.html
    """

    kernel = adagrad
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("lr_decay", check_non_negative),
        Hyperparameter("weight_decay", check_non_negative),
        # only the starting value of ``sum`` (state)
        Hyperparameter("initial_accumulator_value", check_non_negative, kernel_names=()),
        Hyperparameter("eps", check_non_negative),
        Hyperparameter("maximize"),
    )
    param_state = (StateSpec("sum", _filled_with_initial_accumulator),)
    global_step = "always"

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-6,
        maximize: bool = False,
        *,
        enable_global_step: bool = True,
    ) -> None:
        if not enable_global_step:
            raise ValueError(
                "Invalid enable_global_step: Adagrad always keeps its step counter "
                "(lr_decay uses it); enable_global_step=False is not supported"
            )
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults, enable_global_step)
