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

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import check_betas, check_non_negative
from waferopt.core import foreach as F

from ._multi_tensor import (
    Bucket,
    MultiTensorOptimizer,
    TensorList,
    as_float,
    is_tensor,
    numbers,
    promote,
    steps_from_power,
    sub,
    tiles,
    update_moments_,
    zeros_like_param,
)

__all__ = ["Adam", "AdamBase", "AdamW"]

_FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_FUSED_DEVICES = ("cpu", "cuda", "xpu", "mps")
# Group flags of torch.optim.Adam / AdamW that have no meaning here.
_TORCH_GROUP_FLAGS = ("foreach", "fused", "capturable", "differentiable", "decoupled_weight_decay")


class AdamBase(MultiTensorOptimizer):
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
        check_non_negative("lr", lr)
        check_betas("betas", betas)
        check_non_negative("eps", eps)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("l2_regularization_rate", l2_regularization_rate)
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
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    # ------------------------------------------------------------------ state
    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        check_non_negative(f"l2_regularization_rate ({where})", group["l2_regularization_rate"])

    def _state_spec(self, group: dict[str, Any]) -> tuple[dict, dict[str, float]]:
        tensors = {"exp_avg": zeros_like_param, "exp_avg_sq": zeros_like_param}
        if group["amsgrad"]:
            tensors["max_exp_avg_sq"] = zeros_like_param
        scalars: dict[str, float] = {}
        if group["correct_bias"]:
            beta1, beta2 = (as_float(b) for b in group["betas"])
            scalars = {"beta1_power": beta1, "beta2_power": beta2}
        return tensors, scalars

    def preinitialize(self) -> None:
        """Create ``exp_avg``, ``exp_avg_sq`` and, as the group asks, ``max_exp_avg_sq``,
        ``beta1_power``, ``beta2_power`` (and ``step``) for every parameter."""
        super().preinitialize()

    def _steps_from_state(self, group: dict[str, Any], bucket: Bucket) -> list[int]:
        if "step" in bucket.scalars:
            return super()._steps_from_state(group, bucket)
        if "beta2_power" in bucket.scalars:
            beta1, beta2 = (as_float(b) for b in group["betas"])
            for key, beta in (("beta2_power", beta2), ("beta1_power", beta1)):
                steps = steps_from_power(bucket.scalars[key].tolist(), beta)
                if steps is not None:
                    return steps
        return [0] * len(bucket.params)

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
                    p = here[pi]
                    converted: dict[str, Any] = {
                        "exp_avg": torch.zeros_like(p),
                        "exp_avg_sq": torch.zeros_like(p),
                    }
                    if group["amsgrad"]:
                        converted["max_exp_avg_sq"] = torch.zeros_like(p)
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
    def _fused_allowed(self, bucket: Bucket, grads: TensorList, lr: Any, wd: Any, l2: Any) -> bool:
        if self.fused is False or (wd != 0 and l2 != 0):
            return False
        if bucket.device.type not in _FUSED_DEVICES or bucket.dtype not in _FUSED_DTYPES:
            return False
        if is_tensor(lr) and (lr.dim() != 0 or lr.device != bucket.device):
            return False
        dtype, device = bucket.dtype, bucket.device
        return all(g.dtype == dtype and g.device == device for g in grads)

    def _step_bucket(
        self,
        group: dict[str, Any],
        bucket: Bucket,
        grads: TensorList,
        idx: list[int] | None,
        host: bool,
    ) -> None:
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        eps, wd, l2 = group["eps"], group["weight_decay"], group["l2_regularization_rate"]
        params = sub(bucket.params, idx)
        exp_avgs = sub(bucket.tensors["exp_avg"], idx)
        exp_avg_sqs = sub(bucket.tensors["exp_avg_sq"], idx)
        amsgrad = "max_exp_avg_sq" in bucket.tensors
        max_sqs = sub(bucket.tensors["max_exp_avg_sq"], idx) if amsgrad else []
        correct_bias = "beta1_power" in bucket.scalars
        arrays = (params, grads, exp_avgs, exp_avg_sqs, max_sqs)

        if host and numbers(beta1, beta2, eps, wd, l2):
            if self._fused_allowed(bucket, grads, lr, wd, l2):
                self._fused(bucket, idx, arrays, lr, beta1, beta2, eps, wd, l2, correct_bias)
            elif not is_tensor(lr):
                self._host_foreach(bucket, idx, arrays, lr, beta1, beta2, eps, wd, l2, correct_bias)
            else:
                self._tensor_path(bucket, idx, arrays, lr, beta1, beta2, eps, wd, l2, correct_bias)
        else:
            self._tensor_path(bucket, idx, arrays, lr, beta1, beta2, eps, wd, l2, correct_bias)

        if correct_bias:
            if host and numbers(beta1, beta2):
                bucket.fill_powers_(idx, {"beta1_power": beta1, "beta2_power": beta2})
            else:
                bucket.scalar_mul_("beta1_power", beta1, idx)
                bucket.scalar_mul_("beta2_power", beta2, idx)
        if "step" in bucket.scalars:
            bucket.scalar_add_("step", 1.0, idx)
        if host:
            bucket.advance(idx)

    @staticmethod
    def _fused(bucket, idx, arrays, lr, beta1, beta2, eps, wd, l2, correct_bias) -> None:  # type: ignore[no-untyped-def]
        """torch's fused kernel; eps is rescaled per step so it sits before the bias correction."""
        kernel = torch._fused_adam_ if l2 != 0 else torch._fused_adamw_
        decay = float(l2) if l2 != 0 else float(wd)
        if not is_tensor(lr):
            lr = float(lr)
        beta1, beta2 = float(beta1), float(beta2)
        amsgrad = bool(arrays[4])
        for t, pos in bucket.step_groups(idx):
            params, grads, exp_avgs, exp_avg_sqs, max_sqs = (
                sub(a, pos) if a else a for a in arrays
            )
            if correct_bias:
                eps_t = float(eps) / math.sqrt(1.0 - beta2**t)
                bucket.step_scratch.fill_(float(t))
            else:
                # beta ** inf == 0: the kernel's bias corrections become exactly 1.
                eps_t = float(eps)
                bucket.step_scratch.fill_(math.inf)
            kernel(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                max_sqs,
                [bucket.step_scratch] * len(params),
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=decay,
                eps=eps_t,
                amsgrad=amsgrad,
                maximize=False,
            )

    @staticmethod
    def _host_foreach(bucket, idx, arrays, lr, beta1, beta2, eps, wd, l2, correct_bias) -> None:  # type: ignore[no-untyped-def]
        """Multi-tensor step with Python-float coefficients from the host step mirror."""
        amsgrad = bool(arrays[4])
        for t, pos in bucket.step_groups(idx):
            lists = [sub(a, pos) for a in arrays if a]
            if correct_bias:
                step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
            else:
                step_size = lr
            chunks = tiles(lists) if bucket.device.type == "cpu" else [lists]
            for chunk in chunks:
                params, grads, exp_avgs, exp_avg_sqs = chunk[:4]
                if l2 != 0:
                    grads = torch._foreach_add(grads, params, alpha=l2)
                update_moments_(exp_avgs, exp_avg_sqs, grads, beta1, beta2)
                if amsgrad:
                    torch._foreach_maximum_(chunk[4], exp_avg_sqs)
                    denom = torch._foreach_sqrt(chunk[4])
                else:
                    denom = torch._foreach_sqrt(exp_avg_sqs)
                torch._foreach_add_(denom, eps)
                if wd != 0:
                    torch._foreach_mul_(params, 1.0 - lr * wd)
                torch._foreach_addcdiv_(params, exp_avgs, denom, value=-step_size)

    def _tensor_path(
        self, bucket, idx, arrays, lr, beta1, beta2, eps, wd, l2, correct_bias
    ) -> None:  # type: ignore[no-untyped-def]
        """Multi-tensor step whose coefficients come from the state tensors (no host data)."""
        params, grads, exp_avgs, exp_avg_sqs, max_sqs = arrays
        cdt = self._coef_dtype(bucket)
        lr, wd = promote(lr, cdt), promote(wd, cdt)
        if correct_bias:
            p1 = bucket.scalar_values("beta1_power", idx).to(cdt)
            p2 = bucket.scalar_values("beta2_power", idx).to(cdt)
            coefs: Any = list((torch.sqrt(1.0 - p2) / (1.0 - p1) * -lr).unbind(0))
        else:
            coefs = -lr
        if F.is_nonzero_or_tensor(l2):
            grads = F.added_scaled(grads, params, l2)
        update_moments_(exp_avgs, exp_avg_sqs, grads, beta1, beta2)
        if max_sqs:
            torch._foreach_maximum_(max_sqs, exp_avg_sqs)
            denom = torch._foreach_sqrt(max_sqs)
        else:
            denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_add_(denom, eps)
        update = torch._foreach_div(exp_avgs, denom)
        torch._foreach_mul_(update, coefs)
        if is_tensor(wd) or wd != 0:
            torch._foreach_mul_(params, 1.0 - lr * wd)
        torch._foreach_add_(params, update)


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
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=0.0,
            l2_regularization_rate=weight_decay,
            correct_bias=True,
            amsgrad=amsgrad,
            enable_global_step=enable_global_step,
            fused=fused,
        )

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
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            l2_regularization_rate=0.0,
            correct_bias=correct_bias,
            amsgrad=amsgrad,
            enable_global_step=enable_global_step,
            fused=fused,
        )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; AdamW has no coupled L2 (``l2_regularization_rate`` is 0)."""
        group = dict(param_group)
        group["l2_regularization_rate"] = 0.0
        super().add_param_group(group)
