"""Adafactor (HuggingFace ``transformers.Adafactor`` semantics) with static state."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty, check_sparse
from waferopt.core import foreach as F

__all__ = ["Adafactor"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


class Adafactor(Optimizer):
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
        check_non_negative("lr", lr)
        if clip_threshold != 1.0:
            raise ValueError(
                f"Invalid clip_threshold value: {clip_threshold} (only 1.0 is supported)"
            )
        if beta1 is not None:
            raise ValueError(f"Invalid beta1 value: {beta1} (only None is supported)")
        if (
            not isinstance(eps, (list, tuple))
            or len(eps) != 2
            or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in eps)
        ):
            raise ValueError(f"Invalid eps: expected a list or tuple of two numbers, got {eps!r}")
        check_non_negative("eps[0]", eps[0])
        check_non_negative("eps[1]", eps[1])
        check_non_negative("weight_decay", weight_decay)
        if not enable_global_step:
            raise ValueError(
                "Invalid enable_global_step: Adafactor always keeps its step counter "
                "(its second-moment decay uses it); enable_global_step=False is not supported"
            )
        params = check_params_not_empty(params)
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
        super().__init__(params, defaults, enable_global_step=True)

    def preinitialize(self) -> None:
        """Create the second-moment state (and ``step``) of every parameter without it."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                dtype = torch.float32 if p.dtype in _LOW_PRECISION else p.dtype
                shape = p.shape
                if len(shape) >= 2:
                    if "exp_avg_sq_row" not in state:
                        state["exp_avg_sq_row"] = torch.zeros(
                            shape[:-1], dtype=dtype, device=p.device
                        )
                    if "exp_avg_sq_col" not in state:
                        state["exp_avg_sq_col"] = torch.zeros(
                            shape[:-2] + shape[-1:], dtype=dtype, device=p.device
                        )
                elif "exp_avg_sq" not in state:
                    state["exp_avg_sq"] = torch.zeros(shape, dtype=dtype, device=p.device)
                if "step" not in state:
                    state["step"] = torch.tensor(0.0, dtype=torch.float32, device=p.device)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state).

        Args:
            closure: re-evaluates the model and returns the loss.
        """
        loss = F.run_closure(closure)
        for group in self.param_groups:
            if group.get("beta1") is not None:
                raise RuntimeError("Adafactor: beta1 must be None (no exp_avg state exists)")
            runs: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                check_sparse("Adafactor", p.grad)
                runs.setdefault((p.device, p.dtype), []).append(p)
            for params in runs.values():
                self._step_run(group, params)
        return loss

    def _step_run(self, group: dict[str, Any], params: list[Tensor]) -> None:
        """One device/dtype run of a group: the HuggingFace rule as multi-tensor ops."""
        state = self.state
        device, dtype = params[0].device, params[0].dtype
        low = dtype in _LOW_PRECISION
        work_dtype = torch.float32 if low else dtype
        grads: list[Tensor] = [p.grad for p in params]  # type: ignore[misc]
        if low:
            grads = [g.float() for g in grads]
            thetas = [p.float() for p in params]
        else:
            thetas = list(params)
        steps = [state[p]["step"] for p in params]
        eps1, eps2 = group["eps"]
        lr = F.on_device(group["lr"], device)
        decay_rate = F.on_device(group["decay_rate"], device)
        clip = F.on_device(group["clip_threshold"], device)
        wd = F.on_device(group["weight_decay"], device)

        torch._foreach_add_(steps, 1.0)
        t = [s.to(work_dtype) for s in steps]

        # step size alpha_t, one 0-d tensor per parameter (or one number for all)
        rel: F.Hyper | list[Tensor]
        if group["relative_step"]:
            min_step = torch._foreach_mul(t, 1e-6) if group["warmup_init"] else None
            rel = list(torch._foreach_rsqrt(t))
            if min_step is not None:
                rel = list(torch._foreach_minimum(rel, min_step))
            else:
                torch._foreach_clamp_max_(rel, 1e-2)
        else:
            rel = lr
        alpha: F.Hyper | list[Tensor]
        if group["scale_parameter"]:
            alpha = list(torch._foreach_norm(thetas))
            torch._foreach_mul_(alpha, [1.0 / math.sqrt(max(p.numel(), 1)) for p in params])
            torch._foreach_clamp_min_(alpha, eps2)
            torch._foreach_mul_(alpha, rel)  # type: ignore[arg-type]
        else:
            alpha = rel

        # beta2_t = 1 - t^decay_rate and 1 - beta2_t = t^decay_rate
        one_minus_beta2: F.TensorList
        if isinstance(decay_rate, Tensor):
            one_minus_beta2 = [torch.pow(ti, decay_rate) for ti in t]
        else:
            one_minus_beta2 = torch._foreach_pow(t, decay_rate)
        beta2 = torch._foreach_neg(one_minus_beta2)
        torch._foreach_add_(beta2, 1.0)

        sq = torch._foreach_mul(grads, grads)  # type: ignore[arg-type]
        torch._foreach_add_(sq, eps1)
        updates: list[Tensor] = []
        for i, p in enumerate(params):
            s = state[p]
            if p.dim() >= 2:
                row, col = s["exp_avg_sq_row"], s["exp_avg_sq_col"]
                row.mul_(beta2[i]).addcmul_(sq[i].mean(dim=-1), one_minus_beta2[i])
                col.mul_(beta2[i]).addcmul_(sq[i].mean(dim=-2), one_minus_beta2[i])
                r_factor = row.div(row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
                c_factor = col.unsqueeze(-2).rsqrt()
                update = torch.mul(r_factor, c_factor).mul_(grads[i])
            else:
                v = s["exp_avg_sq"]
                v.mul_(beta2[i]).addcmul_(sq[i], one_minus_beta2[i])
                update = v.rsqrt().mul_(grads[i])
            updates.append(update)

        # u / max(1, RMS(u) / clip_threshold), then scaled by alpha_t
        denom = torch._foreach_norm(updates)
        torch._foreach_mul_(denom, [1.0 / math.sqrt(max(p.numel(), 1)) for p in params])
        torch._foreach_div_(denom, clip)  # type: ignore[arg-type]
        torch._foreach_clamp_min_(denom, 1.0)
        torch._foreach_div_(updates, denom)
        torch._foreach_mul_(updates, alpha)  # type: ignore[arg-type]

        if F.is_nonzero_or_tensor(wd):
            # theta <- theta - wd * alpha_t * theta
            if isinstance(alpha, (list, tuple)):
                if isinstance(wd, Tensor):
                    shrink = torch._foreach_mul(alpha, -wd)
                else:
                    shrink = torch._foreach_mul(alpha, -float(wd))
                torch._foreach_add_(shrink, 1.0)
                torch._foreach_mul_(thetas, shrink)
            else:
                torch._foreach_mul_(thetas, 1 - wd * alpha)
        torch._foreach_sub_(thetas, updates)
        if low:
            torch._foreach_copy_(params, thetas)
