"""Stochastic gradient descent (optionally with momentum), with all state created up front."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty
from waferopt.core.foreach import (
    add_scaled_,
    added_scaled,
    collect,
    fused_supported,
    group_by_device_and_dtype,
    is_zero,
    run_closure,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, dampening and Nesterov momentum.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``), weight decay :math:`\lambda`, momentum :math:`\mu`, dampening
    :math:`d` and learning rate :math:`\eta`:

    .. math::
        g' = g + \lambda\theta,\qquad b \leftarrow \mu b + (1-d) g',\qquad
        \theta \leftarrow \theta - \eta\,(g' + \mu b \text{ if nesterov else } b).

    On the first step the buffer takes :math:`g'` undamped, as ``torch.optim.SGD``
    does (Cerebras 2.3 damped it; see the porting guide). The momentum buffer is
    created at construction for groups with non-zero momentum, and the first-step
    rule is computed without a data-dependent branch.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (required).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective instead of minimizing it.
        enable_global_step: keep a per-parameter ``step`` counter in the state.
        fused: use torch's fused kernel (``None``: whenever it applies — eager, CPU or
            CUDA, number-valued momentum / dampening / weight decay; ``False``: never).

    Reference: Sutskever et al., "On the importance of initialization and momentum
    in deep learning" (ICML 2013).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        maximize: bool = False,
        *,
        enable_global_step: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative("learning rate (lr)", lr)
        check_non_negative("momentum", momentum)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("dampening", dampening)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Invalid nesterov: Nesterov momentum requires momentum > 0 and dampening = 0"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            fused=fused,
        )
        super().__init__(check_params_not_empty(params), defaults, enable_global_step)

    def preinitialize(self) -> None:
        for group in self.param_groups:
            for key in ("lr", "momentum", "dampening", "weight_decay"):
                check_non_negative(key, group[key])
            if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
                raise ValueError(
                    "Invalid nesterov: Nesterov momentum requires momentum > 0 and dampening = 0"
                )
            if is_zero(group["momentum"]):
                continue
            for p in group["params"]:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )
                if not is_zero(group["dampening"]) and "first_step" not in state:
                    # 1.0 until the first step: the buffer then takes the gradient undamped.
                    state["first_step"] = torch.ones((), dtype=torch.float32, device=p.device)

    def convert_state_dict(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Accept ``torch.optim.SGD`` state dicts (``momentum_buffer`` may be ``None``)."""
        converted: dict[Any, dict[str, Any]] = {}
        id_to_group = {pid: g for g in state_dict["param_groups"] for pid in g["params"]}
        for pid, saved in state_dict["state"].items():
            entry = dict(saved)
            group = id_to_group.get(pid, {})
            if "momentum_buffer" in entry and entry["momentum_buffer"] is None:
                del entry["momentum_buffer"]
            momentum, dampening = group.get("momentum", 0), group.get("dampening", 0)
            if not is_zero(momentum) and "momentum_buffer" not in entry:
                entry["momentum_buffer"] = 0.0  # never stepped: zeros, first step pending
                if not is_zero(dampening):
                    entry.setdefault("first_step", 1.0)
            if not is_zero(momentum) and not is_zero(dampening):
                entry.setdefault("first_step", 0.0)
            converted[pid] = entry
        return {**state_dict, "state": converted}

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step."""
        loss = run_closure(closure)
        for group in self.param_groups:
            params, grads, _ = collect("SGD", group, self.state, ())
            if not params:
                continue
            if self.enable_global_step:
                torch._foreach_add_([self.state[p]["step"] for p in params], 1.0)
            has_buffer = "momentum_buffer" in self.state[params[0]]
            bufs = [self.state[p]["momentum_buffer"] for p in params] if has_buffer else []
            first = (
                [self.state[p]["first_step"] for p in params]
                if has_buffer and "first_step" in self.state[params[0]]
                else []
            )
            numbers = not any(
                isinstance(group[k], torch.Tensor)
                for k in ("momentum", "dampening", "weight_decay")
            )
            use_fused = group["fused"] is not False and numbers and not first
            none = [None] * len(params)
            for ps, gs, bs, fs in group_by_device_and_dtype(
                [params, grads, bufs or none, first or none]  # type: ignore[list-item]
            ):
                bs = bs if has_buffer else []
                fs = fs if first else []
                # one device and dtype per run: its first tensor tells for all
                if use_fused and fused_supported(ps[:1]):
                    _fused_sgd(ps, gs, bs, group)
                else:
                    _foreach_sgd(ps, gs, bs, fs, group)
        return loss


def _fused_sgd(params: list, grads: list, bufs: list, group: dict[str, Any]) -> None:
    lr = group["lr"]
    if isinstance(lr, torch.Tensor) and lr.device != params[0].device and lr.device.type != "cpu":
        lr = lr.to(params[0].device)
    torch._fused_sgd_(
        params,
        grads,
        bufs,
        weight_decay=float(group["weight_decay"]),
        momentum=float(group["momentum"]) if bufs else 0.0,
        lr=lr,
        dampening=float(group["dampening"]),
        nesterov=bool(group["nesterov"]),
        maximize=bool(group["maximize"]),
        # Buffers start at zero: with dampening 0, mu*0 + g equals torch's first step.
        is_first_step=False,
    )


def _foreach_sgd(params: list, grads: list, bufs: list, first: list, group: dict[str, Any]) -> None:
    lr, wd = group["lr"], group["weight_decay"]
    if group["maximize"]:
        grads = list(torch._foreach_neg(grads))
    if not is_zero(wd):
        grads = added_scaled(grads, params, wd)
    if bufs:
        momentum, dampening = group["momentum"], group["dampening"]
        torch._foreach_mul_(bufs, momentum)
        if first:
            # coefficient (1 - d) after the first step, 1 on it: no data-dependent branch.
            coeffs = torch._foreach_add(torch._foreach_mul(first, dampening), 1.0)
            torch._foreach_sub_(coeffs, dampening)
            torch._foreach_addcmul_(bufs, grads, coeffs)
            torch._foreach_zero_(first)
        elif is_zero(dampening):
            torch._foreach_add_(bufs, grads)
        else:
            add_scaled_(bufs, grads, 1 - dampening)
        if group["nesterov"]:
            add_scaled_(grads, bufs, momentum)
        else:
            grads = bufs
    add_scaled_(params, grads, -lr)
