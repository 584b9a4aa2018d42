"""Rprop with every state tensor created at construction and no data-dependent branch."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty
from waferopt.core import foreach as F

__all__ = ["Rprop"]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Invalid {name}: expected a number, got {value!r}")
    return float(value)


class Rprop(Optimizer):
    r"""Rprop (resilient backpropagation): per-coordinate step sizes driven by sign agreement.

    With :math:`s = g \cdot g_{\text{prev}}` per coordinate:

    .. math::
        f &= \eta_+ \text{ if } s > 0,\ \eta_- \text{ if } s < 0,\ 1 \text{ otherwise} \\
        \Delta &\leftarrow \operatorname{clamp}(\Delta f,\ \Delta_{\min}, \Delta_{\max}) \\
        g &\leftarrow 0 \text{ where } s < 0 \\
        \theta &\leftarrow \theta - \operatorname{sign}(g)\,\Delta, \qquad g_{\text{prev}} \leftarrow g

    The trajectory is that of ``torch.optim.Rprop`` with the same arguments. The sign
    logic is computed with ``torch.where`` (no branch, no boolean indexing), so the
    step has a static shape and compiles once.

    As in Cerebras, the zeroing writes into ``p.grad`` in place: after ``step()``, a
    gradient holds zeros where its sign flipped against the previous step.

    ``lr`` only sets the initial step size :math:`\Delta` (at construction, and for
    params added later), as in torch; ``etas`` and ``step_sizes`` are Python numbers.

    State per parameter, created at construction: ``prev`` (zeros), ``step_size``
    (filled with ``lr``), and ``step`` (float32) with ``enable_global_step=True``.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: initial step size (a number or a 0-d tensor).
        etas: :math:`(\eta_-, \eta_+)`, with :math:`0 < \eta_- < 1 < \eta_+`.
        step_sizes: :math:`(\Delta_{\min}, \Delta_{\max})`, with
            :math:`0 \le \Delta_{\min} \le \Delta_{\max}`.
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Riedmiller, Braun, "A Direct Adaptive Method for Faster Backpropagation
        Learning: The RPROP Algorithm", IEEE ICNN 1993.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50.0),
        *,
        enable_global_step: bool = False,
    ) -> None:
        check_non_negative("lr", lr)
        if not isinstance(etas, (list, tuple)) or len(etas) != 2:
            raise ValueError(f"Invalid etas: expected a pair (etaminus, etaplus), got {etas!r}")
        etaminus, etaplus = _number("etas[0]", etas[0]), _number("etas[1]", etas[1])
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Invalid etas: {etas!r} (expected 0 < etaminus < 1 < etaplus)")
        if not isinstance(step_sizes, (list, tuple)) or len(step_sizes) != 2:
            raise ValueError(f"Invalid step_sizes: expected a pair (min, max), got {step_sizes!r}")
        smin = _number("step_sizes[0]", step_sizes[0])
        smax = _number("step_sizes[1]", step_sizes[1])
        if not 0.0 <= smin <= smax:
            raise ValueError(f"Invalid step_sizes: {step_sizes!r} (expected 0 <= min <= max)")
        params = check_params_not_empty(params)
        defaults = {"lr": lr, "etas": (etaminus, etaplus), "step_sizes": (smin, smax)}
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def preinitialize(self) -> None:
        """Create ``prev`` and ``step_size`` for every parameter that has none yet."""
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                state = self.state[p]
                if "prev" not in state:
                    state["prev"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if "step_size" not in state:
                    step_size = torch.empty_like(p, memory_format=torch.preserve_format)
                    step_size.copy_(torch.as_tensor(lr, dtype=p.dtype))
                    state["step_size"] = step_size

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state; rewrites ``p.grad``).

        Args:
            closure: re-evaluates the model and returns the loss.
        """
        loss = F.run_closure(closure)
        for group in self.param_groups:
            params, grads, (prevs, step_sizes) = F.collect(
                "Rprop", group, self.state, ("prev", "step_size")
            )
            if not params:
                continue
            if self.enable_global_step:
                torch._foreach_add_([self.state[p]["step"] for p in params], 1.0)
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            _foreach_rprop(
                params,
                grads,
                prevs,
                step_sizes,
                etaminus=etaminus,
                etaplus=etaplus,
                step_size_min=step_size_min,
                step_size_max=step_size_max,
            )
        return loss


def _foreach_rprop(
    params: list[Tensor],
    grads: list[Tensor],
    prevs: list[Tensor],
    step_sizes: list[Tensor],
    *,
    etaminus: float,
    etaplus: float,
    step_size_min: float,
    step_size_max: float,
) -> None:
    for p, g, prev, delta in F.runs([params, grads, prevs, step_sizes]):
        agreement = torch._foreach_mul(g, prev)
        for s, d, gi in zip(agreement, delta, g):
            neg = s.lt(0)
            # f = etaplus where s > 0, etaminus where s < 0, 1 elsewhere (exact constants)
            f = torch.where(s.gt(0), etaplus, torch.where(neg, etaminus, s.new_ones(())))
            d.mul_(f).clamp_(step_size_min, step_size_max)
            gi.masked_fill_(neg, 0)  # Cerebras: written into p.grad
        torch._foreach_addcmul_(p, torch._foreach_sign(g), delta, value=-1)
        torch._foreach_copy_(prev, g)
