"""RMSprop with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty
from waferopt.core import foreach as F

from ._checks import check_unit_interval

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
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
        check_non_negative("lr", lr)
        check_unit_interval("alpha", alpha)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("momentum", momentum)
        params = check_params_not_empty(params)
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def preinitialize(self) -> None:
        """Create the state every parameter's group needs and that it has not yet."""
        for group in self.param_groups:
            keys = ["square_avg"]
            if F.is_nonzero_or_tensor(group["momentum"]):
                keys.append("momentum_buffer")
            if group["centered"]:
                keys.append("grad_avg")
            for p in group["params"]:
                state = self.state[p]
                for key in keys:
                    if key not in state:
                        state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.
        """
        loss = F.run_closure(closure)
        for group in self.param_groups:
            params, grads, (square_avgs,) = F.collect("RMSprop", group, self.state, ("square_avg",))
            if not params:
                continue
            states = [self.state[p] for p in params]
            use_momentum = "momentum_buffer" in states[0]
            centered = bool(group["centered"])
            if not use_momentum and F.is_nonzero_or_tensor(group["momentum"]):
                raise RuntimeError(
                    "RMSprop: this param group was built with momentum=0, so it has no "
                    "momentum_buffer; set momentum at construction to use it"
                )
            if centered and "grad_avg" not in states[0]:
                raise RuntimeError(
                    "RMSprop: this param group was built with centered=False, so it has no "
                    "grad_avg; set centered=True at construction to use it"
                )
            if self.enable_global_step:
                torch._foreach_add_([s["step"] for s in states], 1.0)
            _foreach_rmsprop(
                params,
                grads,
                square_avgs,
                [s["grad_avg"] for s in states] if centered else None,
                [s["momentum_buffer"] for s in states] if use_momentum else None,
                lr=group["lr"],
                alpha=group["alpha"],
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                momentum=group["momentum"],
            )
        return loss


def _foreach_rmsprop(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    grad_avgs: list[Tensor] | None,
    momentum_buffers: list[Tensor] | None,
    *,
    lr: F.Hyper,
    alpha: F.Hyper,
    eps: F.Hyper,
    weight_decay: F.Hyper,
    momentum: F.Hyper,
) -> None:
    lists = [params, grads, square_avgs]
    if grad_avgs is not None:
        lists.append(grad_avgs)
    if momentum_buffers is not None:
        lists.append(momentum_buffers)
    for run in F.runs(lists):
        p, g, v = run[0], run[1], run[2]
        rest = run[3:]
        gbar = rest.pop(0) if grad_avgs is not None else None
        buf = rest.pop(0) if momentum_buffers is not None else None
        device = p[0].device
        lr_, alpha_, eps_, wd, mu = (
            F.on_device(x, device) for x in (lr, alpha, eps, weight_decay, momentum)
        )
        if F.is_nonzero_or_tensor(wd):
            g = F.added_scaled(g, p, wd)
        F.mul_(v, alpha_)
        F.addcmul_(v, g, g, 1 - alpha_)
        if gbar is not None:
            F.lerp_(gbar, g, 1 - alpha_)
            avg = torch._foreach_addcmul(v, gbar, gbar, value=-1)
            torch._foreach_sqrt_(avg)
        else:
            avg = torch._foreach_sqrt(v)
        torch._foreach_add_(avg, eps_)
        if buf is not None:
            F.mul_(buf, mu)
            torch._foreach_addcdiv_(buf, g, avg)
            F.add_scaled_(p, buf, -lr_)
        else:
            F.addcdiv_(p, g, avg, -lr_)
