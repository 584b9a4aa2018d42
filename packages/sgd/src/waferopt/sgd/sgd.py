"""Stochastic gradient descent (optionally with momentum), with all state created up front."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from waferopt.core import DeclaredOptimizer, Hyperparameter, StateSpec, check_non_negative
from waferopt.core.authoring import scalar, zeros
from waferopt.core.foreach import is_zero

from .functional import sgd

__all__ = ["SGD"]


def _has_momentum(group: Mapping[str, Any]) -> bool:
    return not is_zero(group["momentum"])


class SGD(DeclaredOptimizer):
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

    kernel = sgd
    hyperparameters = (
        Hyperparameter("lr", check_non_negative, "learning rate (lr)"),
        Hyperparameter("momentum", check_non_negative),
        Hyperparameter("dampening", check_non_negative),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("nesterov"),
        Hyperparameter("maximize"),
        Hyperparameter("fused"),
    )
    param_state = (
        StateSpec("momentum_buffer", zeros, when=_has_momentum),
        # 1.0 until the first step: the buffer then takes the gradient undamped.
        StateSpec(
            "first_step",
            scalar(1.0),
            when=lambda g: _has_momentum(g) and not is_zero(g["dampening"]),
        ),
    )

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
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            fused=fused,
        )
        super().__init__(params, defaults, enable_global_step)

    def check_hyperparameters(self, values: Mapping[str, Any], where: str | None = None) -> None:
        """The declared checks, and Nesterov's: it needs momentum > 0 and dampening = 0."""
        super().check_hyperparameters(values, where)
        if values.get("nesterov") and (values["momentum"] <= 0 or values["dampening"] != 0):
            raise ValueError(
                "Invalid nesterov: Nesterov momentum requires momentum > 0 and dampening = 0"
                + (f" ({where})" if where else "")
            )

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
