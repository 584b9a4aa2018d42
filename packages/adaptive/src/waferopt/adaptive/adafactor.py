"""Adafactor (HuggingFace ``transformers.Adafactor`` semantics) with static state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from waferopt.core import (
    DeclaredOptimizer,
    Hyperparameter,
    StateSpec,
    check_finite,
    check_non_negative,
)

from .functional import LOW_PRECISION, adafactor

__all__ = ["Adafactor"]


def _check_eps(name: str, value: Any) -> None:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in value)
    ):
        raise ValueError(f"Invalid {name}: expected a list or tuple of two numbers, got {value!r}")
    check_non_negative(f"{name}[0]", value[0])
    check_non_negative(f"{name}[1]", value[1])


def _check_clip_threshold(name: str, value: Any) -> None:
    if value != 1.0:
        raise ValueError(f"Invalid {name} value: {value} (only 1.0 is supported)")


def _check_beta1(name: str, value: Any) -> None:
    if value is not None:
        raise ValueError(f"Invalid {name} value: {value} (only None is supported)")


def _check_decay_rate(name: str, value: Any) -> None:
    """The exponent d of β2_t = 1 - t^d: a finite number <= 0 (d > 0 makes β2_t negative)."""
    check_finite(name, value)
    if float(value) > 0:
        raise ValueError(f"Invalid {name} value: {value} (expected a number <= 0)")


def _factored(p: Tensor) -> bool:
    """A parameter with two or more dimensions keeps a factored second moment."""
    return p.dim() >= 2


def _zeros_shaped(shape: Any) -> Any:
    """A state entry of zeros in ``shape(p.shape)``, float32 for a low-precision ``p``."""

    def init(p: Tensor, group: Mapping[str, Any]) -> Tensor:
        dtype = torch.float32 if p.dtype in LOW_PRECISION else p.dtype
        return torch.zeros(shape(p.shape), dtype=dtype, device=p.device)

    return init


def _zeros_like(p: Tensor, group: Mapping[str, Any]) -> Tensor:
    """The unfactored second moment: zeros like ``p`` (sharded like a DTensor ``p``),
    float32 for a low-precision ``p``."""
    dtype = torch.float32 if p.dtype in LOW_PRECISION else p.dtype
    return torch.zeros_like(p, dtype=dtype)


class Adafactor(DeclaredOptimizer):
    r"""Adafactor: Adam-like steps from a factored second moment, in sublinear memory.

    With :math:`t` the step (after its increment), :math:`\epsilon_1, \epsilon_2 =`
    ``eps`` and :math:`d =` ``decay_rate``:

    .. math::
        \alpha_t &= \rho_t \cdot \max(\epsilon_2, \mathrm{RMS}(\theta))
            \ \text{(scale\_parameter; else } \rho_t\text{)}, \qquad
        \hat\beta_{2t} = 1 - t^{d}, \qquad G = g^2 + \epsilon_1 \\
        R &\leftarrow \hat\beta_{2t} R + (1-\hat\beta_{2t})\,\mathrm{mean}_{-1}(G), \quad
        C \leftarrow \hat\beta_{2t} C + (1-\hat\beta_{2t})\,\mathrm{mean}_{-2}(G), \quad
        u = g \odot \frac{1}{\sqrt{R / \mathrm{mean}(R)}} \otimes \frac{1}{\sqrt{C}}
        \quad\text{(ndim} \ge 2) \\
        V &\leftarrow \hat\beta_{2t} V + (1-\hat\beta_{2t})\,G, \quad u = g / \sqrt{V}
        \quad\text{(otherwise)} \\
        u &\leftarrow \alpha_t \, u / \max(1, \mathrm{RMS}(u)/\text{clip\_threshold}), \qquad
        \theta \leftarrow \theta - \lambda\alpha_t\theta - u

    where :math:`\rho_t =` ``lr``, or with ``relative_step``
    :math:`\min(10^{-6} t \text{ (warmup\_init) or } 10^{-2},\ 1/\sqrt t)`. This is the
    rule of HuggingFace ``transformers.Adafactor`` (``beta1=None``), computed without a
    host read (every per-step scalar is a tensor).

    As in Cerebras, the constructor rejects what its hardware path does not support
    (``ValueError``): ``relative_step=True``, ``warmup_init`` without
    ``relative_step``, ``clip_threshold != 1.0``, a ``beta1``, an ``lr`` together with
    ``relative_step``, and an ``eps`` that is not a pair of numbers. ``step()``
    nevertheless implements the whole HuggingFace rule and reads ``clip_threshold``,
    ``relative_step``, ``warmup_init``, ``scale_parameter`` and ``decay_rate`` from the
    param group, so a group edited after construction (or a subclass that relaxes the
    checks) gets HuggingFace's numbers.

    State per parameter, created at construction: ``exp_avg_sq_row`` (shape[:-1]) and
    ``exp_avg_sq_col`` (shape[:-2] + shape[-1:]) for parameters with two or more
    dimensions, ``exp_avg_sq`` otherwise; ``step`` (float32; always kept). State of a
    float16 / bfloat16 parameter is float32 and the update is computed in float32.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: external learning rate :math:`\rho_t` (required; a number or a 0-d tensor).
        eps: :math:`(\epsilon_1, \epsilon_2)`: regularisation of the squared gradient
            and lower bound of the parameter scale.
        clip_threshold: threshold of the update's root mean square (must be 1.0).
        decay_rate: exponent :math:`d` of the second-moment decay.
        beta1: first-moment coefficient (must be None).
        weight_decay: decoupled decay :math:`\lambda`, scaled by :math:`\alpha_t`.
        scale_parameter: scale the step by the parameter's root mean square.
        relative_step: time-dependent step size instead of ``lr`` (rejected).
        warmup_init: warm the relative step up from 0 (rejected).
        enable_global_step: accepted for a uniform signature; Adafactor always keeps
            its step counter (``False`` raises ``ValueError``).

    Reference:
        Shazeer, Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost",
        ICML 2018, arXiv:1804.04235; HuggingFace ``transformers.optimization.Adafactor``.
    """

    kernel = adafactor
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("eps", _check_eps),
        Hyperparameter("clip_threshold", _check_clip_threshold),
        Hyperparameter("decay_rate", _check_decay_rate),
        # no exp_avg state exists: beta1 must stay None, in every step too
        Hyperparameter("beta1", _check_beta1, kernel_names=(), at_step=True),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("scale_parameter"),
        Hyperparameter("relative_step"),
        Hyperparameter("warmup_init"),
    )
    param_state = (
        StateSpec("exp_avg_sq_row", _zeros_shaped(lambda s: s[:-1]), applies=_factored),
        StateSpec("exp_avg_sq_col", _zeros_shaped(lambda s: s[:-2] + s[-1:]), applies=_factored),
        StateSpec("exp_avg_sq", _zeros_like, applies=lambda p: not _factored(p)),
    )
    global_step = "always"
    elementwise = False  # RMS and row / column means of whole tensors: see functional

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor | None,
        eps: Sequence[float] = (1e-30, 1e-3),
        clip_threshold: float = 1.0,
        decay_rate: float = -0.8,
        beta1: float | None = None,
        weight_decay: float = 0.0,
        scale_parameter: bool = True,
        relative_step: bool = False,
        warmup_init: bool = False,
        *,
        enable_global_step: bool = True,
    ) -> None:
        if relative_step:
            raise ValueError(
                "Invalid relative_step: relative_step=True is not supported (as in Cerebras); "
                "pass an explicit lr"
            )
        if warmup_init and not relative_step:
            raise ValueError("Invalid warmup_init: warmup_init=True requires relative_step=True")
        if lr is None:
            raise ValueError("Invalid lr: Adafactor needs an explicit learning rate, got None")
        _check_eps("eps", eps)  # before tuple() below
        if not enable_global_step:
            raise ValueError(
                "Invalid enable_global_step: Adafactor always keeps its step counter "
                "(its second-moment decay uses it); enable_global_step=False is not supported"
            )
        defaults = {
            "lr": lr,
            "eps": tuple(float(e) for e in eps),
            "clip_threshold": clip_threshold,
            "decay_rate": decay_rate,
            "beta1": beta1,
            "weight_decay": weight_decay,
            "scale_parameter": scale_parameter,
            "relative_step": relative_step,
            "warmup_init": warmup_init,
        }
        super().__init__(params, defaults, enable_global_step)
