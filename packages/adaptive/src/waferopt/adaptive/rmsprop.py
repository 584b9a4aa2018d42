"""RMSprop with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core import (
    DeclaredOptimizer,
    Hyperparameter,
    StateSpec,
    check_non_negative,
    check_unit_interval,
)
from waferopt.core import foreach as F

from .functional import rmsprop

__all__ = ["RMSprop"]


class RMSprop(DeclaredOptimizer):
    r"""RMSprop: the gradient divided by a running root mean square of gradients.

    With :math:`g' = g + \lambda\theta`:

    .. math::
        v &\leftarrow \alpha v + (1-\alpha)\, g'^2 \\
        D &= \sqrt{v - \bar g^2} + \epsilon \quad\text{with}\quad
             \bar g \leftarrow \alpha \bar g + (1-\alpha) g' \quad\text{(centered)},
             \qquad D = \sqrt{v} + \epsilon \quad\text{(otherwise)} \\
        b &\leftarrow \mu b + g'/D, \quad \theta \leftarrow \theta - \eta b
             \quad\text{(momentum)}, \qquad \theta \leftarrow \theta - \eta\, g'/D
             \quad\text{(otherwise)}

    The trajectory is that of ``torch.optim.RMSprop`` with the same arguments.

    State per parameter, created at construction: ``square_avg``; ``momentum_buffer``
    when the group's ``momentum`` is non-zero (or a tensor); ``grad_avg`` when
    ``centered``; ``step`` (float32) with ``enable_global_step=True``. Since state is
    fixed at construction, a group built with ``momentum=0`` (or ``centered=False``)
    cannot switch momentum (or centering) on later: ``step()`` raises ``RuntimeError``.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\eta` (a number or a 0-d tensor).
        alpha: smoothing constant, in [0, 1].
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        momentum: momentum factor :math:`\mu`.
        centered: normalise by an estimate of the gradient's variance.
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Hinton, Srivastava, Swersky, "Neural Networks for Machine Learning", lecture 6e
        (2012); Graves, "Generating Sequences With Recurrent Neural Networks",
        arXiv:1308.0850 (centered variant).
    """

    kernel = rmsprop
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("alpha", check_unit_interval),
        Hyperparameter("eps", check_non_negative),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("momentum", check_non_negative),
        Hyperparameter("centered", kernel_names=()),  # decides grad_avg
    )
    # the state dict's order (torch.optim.RMSprop's); the kernel takes the last two by name
    param_state = (
        StateSpec("square_avg"),
        StateSpec(
            "momentum_buffer",
            when=lambda g: F.is_nonzero_or_tensor(g["momentum"]),
            kernel_name="momentum_buffers",
        ),
        StateSpec("grad_avg", when=lambda g: bool(g["centered"]), kernel_name="grad_avgs"),
    )

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        enable_global_step: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults, enable_global_step)
