"""Prodigy with every state tensor created at construction and its estimate on the device."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import distributed as D
from waferopt.core import foreach as F
from waferopt.core.authoring import DeclaredOptimizer, GroupState, Hyperparameter, StateSpec
from waferopt.core.validation import check_betas, check_non_negative

from . import functional as MF
from ._base import check_int, check_positive

__all__ = ["Prodigy"]


def _shaped_like_param(p: Tensor, group: Any) -> bool:
    """Whether ``s`` and ``p0`` of ``p`` are shaped like it (``slice_p == 1``) rather than
    flat slices: the same layout sharded (FSDP2: sharded like ``p``) or not, so that a
    distributed checkpoint loads on any number of ranks. They are stepped flattened.
    A sharded (DTensor) ``p`` needs ``slice_p == 1``."""
    if group["slice_p"] == 1:
        return True
    if D.is_dtensor(p):
        raise ValueError(
            f"Invalid slice_p value: {group['slice_p']} (a sharded (DTensor) parameter "
            "needs slice_p=1: every rank must estimate from its whole shard)"
        )
    return False


def _origin(p: Tensor, group: Any) -> Tensor:
    """``p0``: ``p`` (every ``slice_p``-th entry of it, flat, with ``slice_p > 1``) at
    construction (a 0-d zero for an all-zero ``p``, which saves memory); a host read,
    at construction only."""
    if bool(p.detach().any()):
        if _shaped_like_param(p, group):
            return p.detach().clone(memory_format=torch.contiguous_format)
        return p.detach().flatten()[:: group["slice_p"]].clone()
    return torch.tensor(0, device=p.device, dtype=p.dtype)


def _sliced_zeros(p: Tensor, group: Any) -> Tensor:
    if _shaped_like_param(p, group):
        return torch.zeros_like(p.detach(), memory_format=torch.contiguous_format)
    return torch.zeros_like(p.detach().flatten()[:: group["slice_p"]])


def _d0(group: Any) -> float:
    return float(group["d0"])


class Prodigy(DeclaredOptimizer):
    r"""Prodigy: Adam whose step size is an estimate :math:`d` of the distance to the solution.

    With :math:`d\eta` the step size (:math:`d` times the learning rate, times Adam's
    bias correction :math:`\sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})` with
    ``use_bias_correction``), gradient :math:`g` (plus :math:`\lambda\theta` unless
    ``decouple``) and :math:`x_0` the parameters at construction:

    .. math::
        m &\leftarrow \beta_1 m + d(1-\beta_1)\, g, \qquad
        v \leftarrow \beta_2 v + d^2(1-\beta_2)\, g^2 \\
        r &\leftarrow \beta_3 r + \tfrac{d}{d_0}\, d\eta\, \langle g, x_0 - \theta\rangle, \qquad
        s \leftarrow \beta_3 s + \tfrac{d}{d_0}\, d\eta\, g \\
        \hat d &= d_{\text{coef}}\, r / \lVert s\rVert_1, \qquad
        d \leftarrow \min\big(\max(d_{\max}, \hat d),\ \gamma\, d\big) \\
        \theta &\leftarrow \theta\,(1 - \lambda\, d\eta) - d\eta\, \frac{m}{\sqrt{v} + d\,\epsilon}

    (:math:`d \leftarrow \max(d, \hat d)` first while :math:`d = d_0`; the decay term
    only with ``decouple``; :math:`s` uses :math:`d` instead of :math:`d\eta` with
    ``safeguard_warmup``; :math:`\gamma` is ``growth_rate``; :math:`\beta_3`
    defaults to :math:`\sqrt{\beta_2}`.) Same arguments, defaults and trajectory as
    ``prodigyopt.Prodigy``, with one difference in kind: the estimate
    (:math:`d`, :math:`d_{\max}`, :math:`r`, :math:`\hat d`, the step count) lives on
    the device as 0-d tensors, shared by every param group (under the group keys
    ``d``, ``d_max``, ``d_numerator``, ``d_denom``, ``d_hat``, ``k``), and nothing is
    read on the host: a step compiles once and does not wait for the device.

    As in prodigyopt, the estimate is global: every group's learning rate must be the
    same or 0 (a group with lr 0 adds nothing to the estimate; checked when the
    learning rates are numbers), and until some gradient is non-zero the step
    changes the moments only. :math:`x_0` (``p0``) is taken when the optimizer is
    built: build it after loading pre-trained weights. With ``slice_p > 1`` the
    estimate uses every ``slice_p``-th entry of each parameter only.

    State per parameter, created at construction: ``p0``, ``s``, ``exp_avg_sq``,
    ``exp_avg`` (when :math:`\beta_1 > 0`), and ``step`` (float32) with
    ``enable_global_step=True``. ``p0`` and ``s`` are shaped like the parameter (flat
    slices with ``slice_p > 1``), the same with FSDP2 or without, so that a
    distributed checkpoint loads on any number of ranks; checkpoints of earlier
    versions, which kept them flat, load reshaped.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning-rate multiplier :math:`\eta` of the estimated step (leave at 1).
        betas: :math:`(\beta_1, \beta_2)`.
        beta3: decay of :math:`r` and :math:`s` (None: :math:`\sqrt{\beta_2}`).
        eps: term added to the denominator (times :math:`d`).
        weight_decay: weight decay :math:`\lambda`.
        decouple: AdamW-style decoupled weight decay (else an L2 term in the gradient).
        use_bias_correction: Adam's bias correction in the step size.
        safeguard_warmup: leave the learning rate out of :math:`s` (for warmups).
        d0: initial estimate :math:`d_0`.
        d_coef: multiplier :math:`d_{\text{coef}}` of the estimate.
        growth_rate: largest factor :math:`\gamma` by which :math:`d` grows per step.
        fsdp_in_use: all-reduce the two sums over the default process group (for
            sharded parameters).
        slice_p: estimate from every ``slice_p``-th entry (saves memory).
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Mishchenko, Defazio, "Prodigy: An Expeditiously Adaptive Parameter-Free
        Learner", ICML 2024, arXiv:2306.06101 (Algorithm 4, Adam form).
    """

    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("betas", check_betas),
        Hyperparameter("eps", check_positive),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("d0", check_positive),
        Hyperparameter("d_coef", check_positive),
        Hyperparameter("slice_p", lambda name, v: check_int(name, v, minimum=1)),
    )
    param_state = (
        StateSpec("s", _sliced_zeros),
        StateSpec("p0", _origin),
        StateSpec("exp_avg_sq"),
        StateSpec("exp_avg", when=lambda g: float(g["betas"][0]) > 0),
    )
    # the distance estimate: one set of 0-d tensors (from group 0's d0), in every group
    group_state = (
        GroupState("d", _d0, shared=True),
        GroupState("d_max", _d0, shared=True),
        GroupState("d_numerator", shared=True),
        GroupState("d_denom", shared=True),
        GroupState("d_hat", _d0, shared=True),
        GroupState("k", shared=True),
    )

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1.0,
        betas: tuple[float, float] = (0.9, 0.999),
        beta3: float | None = None,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decouple: bool = True,
        use_bias_correction: bool = False,
        safeguard_warmup: bool = False,
        d0: float = 1e-6,
        d_coef: float = 1.0,
        growth_rate: float = float("inf"),
        fsdp_in_use: bool = False,
        slice_p: int = 1,
        *,
        enable_global_step: bool = False,
    ) -> None:
        check_positive("lr", lr)  # 0 is allowed in a group, not as the default
        if beta3 is not None:
            check_betas("beta3", (beta3,), count=1)
        if isinstance(growth_rate, bool) or not isinstance(growth_rate, (int, float)):
            raise ValueError(f"Invalid growth_rate: {growth_rate!r} (expected a number >= 1)")
        if math.isnan(growth_rate) or growth_rate < 1:
            raise ValueError(f"Invalid growth_rate value: {growth_rate} (expected a number >= 1)")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "beta3": beta3,
            "eps": eps,
            "weight_decay": weight_decay,
            "decouple": bool(decouple),
            "use_bias_correction": bool(use_bias_correction),
            "safeguard_warmup": bool(safeguard_warmup),
            "d0": d0,
            "d_coef": d_coef,
            "growth_rate": float(growth_rate),
            "fsdp_in_use": bool(fsdp_in_use),
            "slice_p": slice_p,
        }
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def convert_state_dict(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Reshape ``s`` and ``p0`` saved flat (by earlier versions) like their parameters;
        anything else is left for the layout checks."""
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if len(groups) != len(self.param_groups):
            return state_dict
        state = dict(saved_state)
        for group, saved in zip(self.param_groups, groups):
            for p, pid in zip(group["params"], saved["params"]):
                here, loaded = self.state.get(p, {}), state.get(pid)
                if not isinstance(loaded, dict):
                    continue
                for key in ("s", "p0"):
                    value, want = loaded.get(key), here.get(key)
                    if (
                        isinstance(value, Tensor)
                        and isinstance(want, Tensor)
                        and value.dim() == 1
                        and value.shape != want.shape
                        and value.numel() == want.numel()
                    ):
                        loaded = state[pid] = {**loaded, key: value.reshape(want.shape)}
        return {**state_dict, "state": state}

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (in place; creates no state, reads nothing on the host).

        Args:
            closure: re-evaluates the model and returns the loss.
        """
        loss = F.run_closure(closure)
        first = self.param_groups[0]
        lrs = [g["lr"] for g in self.param_groups]
        if all(isinstance(x, (int, float)) for x in lrs):
            lr: Any = max(lrs)
            for i, x in enumerate(lrs):
                if x not in (lr, 0.0):
                    raise RuntimeError(
                        "Prodigy: every param group's lr must be the same or 0 (the distance "
                        f"estimate is shared); group {i} has lr={x}, the largest is {lr}"
                    )
        else:
            d = first["d"]
            lr = torch.stack([MF.scalar(x, d) for x in lrs]).max()
        groups = []
        fsdp = first["fsdp_in_use"]
        for group, params, grads, state in self.gather():
            vs, ss, p0s = state["exp_avg_sq"], state["s"], state["p0"]
            ms = [state["exp_avg"]] if "exp_avg" in state else []
            fsdp = fsdp or any(hasattr(p, "_fsdp_flattened") for p in params)
            if D.has_dtensor(params):
                # FSDP2: local shards (p0 and s flattened views of theirs); the two sums
                # are partial per rank and all-reduced
                fsdp = True
                params, grads, vs, ss, p0s, *ms = D.local_lists([params, grads, vs, ss, p0s, *ms])
            ss = [x.view(-1) for x in ss]  # the kernel reads them flat
            p0s = [x.view(-1) if x.dim() else x for x in p0s]
            group_lr = group["lr"]
            groups.append(
                MF.ProdigyGroup(
                    params,
                    grads,
                    ms[0] if ms else None,
                    vs,
                    ss,
                    p0s,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    safeguard_warmup=group["safeguard_warmup"],
                    slice_p=group["slice_p"],
                    active=group_lr > 0 if isinstance(group_lr, Tensor) else float(group_lr) > 0,
                )
            )
        beta1, beta2 = first["betas"]
        MF.prodigy_groups(
            groups,
            {gs.name: first[gs.name] for gs in self.group_state},
            lr=lr,
            beta1=beta1,
            beta2=beta2,
            beta3=first["beta3"],
            d0=first["d0"],
            d_coef=first["d_coef"],
            growth_rate=first["growth_rate"],
            decouple=first["decouple"],
            use_bias_correction=first["use_bias_correction"],
            all_reduce=fsdp,
        )
        return loss
