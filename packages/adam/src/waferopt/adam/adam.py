"""``AdamBase``, ``Adam`` and ``AdamW``: Adam with eps placed before the bias correction.

The rule (Cerebras ``AdamBase``, HuggingFace and TensorFlow place eps the same way)::

    g' = g + l2 * θ                                  (coupled L2, l2_regularization_rate)
    m  = β1 m + (1 - β1) g'
    v  = β2 v + (1 - β2) g'²          (amsgrad: v̂ = max(v̂, v), used below instead of v)
    u  = m / (√v + ε)
    u  = u · √(1 - P2) / (1 - P1);  P1 = P1 β1;  P2 = P2 β2       (if correct_bias)
    θ  = θ - η (u + λ θ)                              (decoupled decay, weight_decay)

``P1`` / ``P2`` are the ``beta1_power`` / ``beta2_power`` states: before step k they
hold β1^k and β2^k (float32; an eager step writes them in closed form, fl32(β^k), a
compiled step multiplies). This equals ``torch.optim.AdamW`` run with the eps of step t set
to ``ε / √(1 - β2^t)``, which is how the fused path computes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Hyperparameter, StateSpec, check_non_negative
from waferopt.core.authoring import zeros

from ._common import ADAM_HYPERPARAMETERS, MOMENTS, PowerStateOptimizer, as_float, beta_power
from .functional import adam

__all__ = ["Adam", "AdamBase", "AdamW"]

# Group flags of torch.optim.Adam / AdamW that have no meaning here.
_TORCH_GROUP_FLAGS = ("foreach", "fused", "capturable", "differentiable", "decoupled_weight_decay")


def _correct_bias(group: Any) -> bool:
    return bool(group["correct_bias"])


class AdamBase(PowerStateOptimizer):
    r"""Adam with coupled L2, decoupled weight decay and optional bias correction.

    .. math::
        g' = g + \ell\theta,\quad m \leftarrow \beta_1 m + (1-\beta_1) g',\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g'^2

        \theta \leftarrow \theta - \eta\Big(\frac{m}{\sqrt{v}+\epsilon}
        \cdot\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t} + \lambda\theta\Big)

    eps sits *before* the bias correction (HuggingFace / TensorFlow placement); the
    bias correction runs through the ``beta1_power`` / ``beta2_power`` state.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2), the decay rates of the first and second moments.
        eps: ε, added to √v before the bias correction.
        weight_decay: λ, decoupled weight decay (AdamW style).
        l2_regularization_rate: ℓ, L2 penalty added to the gradient (Adam style).
        correct_bias: apply the bias correction (and keep the power states).
        amsgrad: use the running maximum of v (keeps ``max_exp_avg_sq``).
        enable_global_step: keep a float32 ``state[p]["step"]`` counter.
        fused: ``None`` (default) uses torch's fused Adam kernels in eager steps where
            the rule allows (Python-number hyperparameters, or a 0-d ``lr`` tensor on
            the params' device; not both ``weight_decay`` and
            ``l2_regularization_rate``); ``True`` is the same; ``False`` never uses
            them (the multi-tensor step runs instead).

    State (created at construction): ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``
    (amsgrad), ``beta1_power`` and ``beta2_power`` (correct_bias, start at β1 and β2),
    ``step`` (enable_global_step). Scalars are 0-d float32 tensors.

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2014);
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2017).
    """

    kernel = adam
    hyperparameters = (
        *ADAM_HYPERPARAMETERS,
        Hyperparameter("l2_regularization_rate", check_non_negative),
        Hyperparameter("correct_bias", kernel_names=()),  # decides the power states
        Hyperparameter("amsgrad", kernel_names=()),  # decides max_exp_avg_sq
    )
    param_state = (
        *MOMENTS,
        StateSpec("max_exp_avg_sq", zeros, when=lambda group: bool(group["amsgrad"])),
        beta_power(0, "beta1_power", when=_correct_bias),
        beta_power(1, "beta2_power", when=_correct_bias),
    )

    _decoupled_default = False
    """How a foreign (torch.optim) checkpoint's ``weight_decay`` is read when its group
    does not say: False as torch.optim.Adam (coupled L2), True as AdamW."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        l2_regularization_rate: float = 0.0,
        correct_bias: bool = True,
        amsgrad: bool = False,
        *,
        enable_global_step: bool = False,
        fused: bool | None = None,
    ) -> None:
        self.fused = fused
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            l2_regularization_rate=l2_regularization_rate,
            correct_bias=correct_bias,
            amsgrad=amsgrad,
        )
        super().__init__(params, defaults, enable_global_step)

    def kernel_arguments(self, group: Mapping[str, Any]) -> dict[str, Any]:
        """The declared arguments, and ``fused`` (an optimizer-wide choice)."""
        return {**super().kernel_arguments(group), "fused": self.fused}

    # ------------------------------------------------------------------ checkpoints
    def convert_state_dict(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Accept torch.optim.Adam / AdamW and HuggingFace AdamW state dicts.

        A group without ``l2_regularization_rate`` is foreign. Its ``weight_decay``
        becomes decoupled decay when the group says so (``decoupled_weight_decay``,
        or HuggingFace's ``correct_bias`` key) and coupled L2 otherwise (for a class
        default, see ``_decoupled_default``). Its per-param ``step`` s becomes
        ``beta1_power = β1^(s+1)`` and ``beta2_power = β2^(s+1)``: the powers the
        *next* step uses, so the resumed run continues on the same trajectory (the
        Cerebras conversion stored β^s, one step behind). torch's ``foreach`` /
        ``fused`` / ``capturable`` / ``differentiable`` flags are dropped; a group
        with ``maximize=True`` raises ``ValueError`` (this rule has no maximize).
        Params that the source never stepped (no state) get fresh state.
        """
        groups = state_dict["param_groups"]
        state = state_dict["state"]
        new_groups = []
        new_state = dict(state)
        for gi, saved in enumerate(groups):
            if "l2_regularization_rate" in saved:
                new_groups.append(saved)
                continue
            group = dict(saved)
            if group.pop("maximize", False):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: parameter group {gi} of the state "
                    "dict has maximize=True, which this optimizer does not support"
                )
            decoupled = group.get(
                "decoupled_weight_decay",
                True if "correct_bias" in group else self._decoupled_default,
            )
            for key in _TORCH_GROUP_FLAGS:
                group.pop(key, None)
            wd = group.get("weight_decay", 0.0)
            if decoupled:
                group["l2_regularization_rate"] = 0.0
            else:
                group["l2_regularization_rate"] = wd
                group["weight_decay"] = 0.0
            group.setdefault("correct_bias", True)
            group.setdefault("amsgrad", False)
            betas = group.get("betas", self.defaults["betas"])
            beta1, beta2 = (as_float(b) for b in betas)
            here = self.param_groups[gi]["params"] if gi < len(self.param_groups) else []
            for pi, pid in enumerate(group.get("params", [])):
                saved_state = state.get(pid)
                if saved_state is None:
                    if pi >= len(here):
                        continue
                    # the declared initial state; the powers and step follow from t below
                    converted: dict[str, Any] = self.initial_state(
                        {**self.defaults, **group}, here[pi]
                    )
                    t = 0.0
                else:
                    converted = dict(saved_state)
                    t = as_float(converted.pop("step", 0.0))
                if group["correct_bias"]:
                    converted["beta1_power"] = torch.tensor(beta1 ** (t + 1), dtype=torch.float32)
                    converted["beta2_power"] = torch.tensor(beta2 ** (t + 1), dtype=torch.float32)
                if self.enable_global_step:
                    converted["step"] = torch.tensor(t, dtype=torch.float32)
                new_state[pid] = converted
            new_groups.append(group)
        return {**state_dict, "state": new_state, "param_groups": new_groups}

    # ------------------------------------------------------------------ step


class Adam(AdamBase):
    r"""Adam with coupled L2 weight decay, eps before the bias correction.

    .. math::
        g' = g + \lambda\theta,\quad m \leftarrow \beta_1 m + (1-\beta_1) g',\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g'^2,\quad
        \theta \leftarrow \theta - \eta\,\frac{m}{\sqrt{v}+\epsilon}
        \cdot\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}

    :class:`AdamBase` with ``correct_bias=True``; ``weight_decay`` is the L2 penalty
    and is stored as the group's ``l2_regularization_rate`` (the group's own
    ``weight_decay`` key is set to 0, as in Cerebras). Unlike Cerebras 2.3, a
    per-group ``weight_decay`` is honoured. A weight-decay scheduler writes the
    group's ``weight_decay`` key, which acts as *decoupled* decay (Cerebras
    behaviour). Loads ``torch.optim.Adam`` (and AdamW / HuggingFace AdamW) state dicts
    and continues on the source's trajectory (see :meth:`AdamBase.convert_state_dict`).

    Same trajectory as ``torch.optim.Adam`` run with eps ``ε/√(1-β2^t)`` at step t.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2).
        eps: ε (default 1e-6, where torch uses 1e-8).
        weight_decay: λ, L2 penalty (coupled).
        amsgrad: use the running maximum of v.
        enable_global_step: keep a float32 ``state[p]["step"]`` counter.
        fused: see :class:`AdamBase`.

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2014).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        enable_global_step: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative("weight_decay", weight_decay)
        # AdamBase's positional order: weight_decay, l2_regularization_rate, correct_bias
        super().__init__(
            params, lr, betas, eps, 0.0, weight_decay, True, amsgrad,
            enable_global_step=enable_global_step, fused=fused,
        )  # fmt: skip

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its ``weight_decay`` (if given) becomes its L2 rate."""
        group = dict(param_group)
        if "weight_decay" in group and "l2_regularization_rate" not in group:
            group["l2_regularization_rate"] = group["weight_decay"]
        group["weight_decay"] = 0.0
        group["correct_bias"] = True
        super().add_param_group(group)


class AdamW(AdamBase):
    r"""Adam with decoupled weight decay, eps before the bias correction.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        \theta \leftarrow \theta - \eta\Big(\frac{m}{\sqrt{v}+\epsilon}\,c_t + \lambda\theta\Big)

    with :math:`c_t = \sqrt{1-\beta_2^t}/(1-\beta_1^t)` when ``correct_bias`` and 1
    otherwise (HuggingFace ``transformers.AdamW`` semantics, except that the decay
    uses θ before the update, as torch.optim.AdamW does).

    With ``correct_bias=True`` this is ``torch.optim.AdamW`` run with eps
    ``ε/√(1-β2^t)`` at step t. Loads torch.optim.AdamW, torch.optim.Adam and
    HuggingFace AdamW state dicts and continues on the source's trajectory.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate η (a number or a 0-d tensor).
        betas: (β1, β2).
        eps: ε (default 1e-6, where torch uses 1e-8).
        weight_decay: λ, decoupled weight decay.
        correct_bias: apply the bias correction (HuggingFace's flag).
        amsgrad: use the running maximum of v.
        enable_global_step: keep a float32 ``state[p]["step"]`` counter.
        fused: see :class:`AdamBase`.

    Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2017).
    """

    _decoupled_default = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        correct_bias: bool = True,
        amsgrad: bool = False,
        *,
        enable_global_step: bool = False,
        fused: bool | None = None,
    ) -> None:
        # AdamBase's positional order: weight_decay, l2_regularization_rate, correct_bias
        super().__init__(
            params, lr, betas, eps, weight_decay, 0.0, correct_bias, amsgrad,
            enable_global_step=enable_global_step, fused=fused,
        )  # fmt: skip

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; AdamW has no coupled L2 (``l2_regularization_rate`` is 0)."""
        group = dict(param_group)
        group["l2_regularization_rate"] = 0.0
        super().add_param_group(group)
