"""Muon (with AdamW for what is not a hidden matrix), state created at construction."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from torch import Tensor, nn

from waferopt.core.authoring import DeclaredOptimizer, GroupState, Hyperparameter, StateSpec
from waferopt.core.validation import check_betas, check_non_negative

from . import functional as MF
from ._base import check_choice, check_int

__all__ = ["ADAMW_GROUP_DEFAULTS", "Muon", "muon_param_groups"]

ADAMW_GROUP_DEFAULTS: dict[str, Any] = {"betas": (0.9, 0.999), "eps": 1e-8}
"""What a ``use_muon=False`` group takes when it does not say (torch.optim.AdamW's defaults)."""

ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def _muon_group(group: Any) -> bool:
    return bool(group["use_muon"])


def _adamw_group(group: Any) -> bool:
    return not group["use_muon"]


def _check_use_muon(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"Invalid {name}: {value!r} (expected True or False)")


def _check_ns_steps(name: str, value: Any) -> None:
    check_int(name, value)
    if value >= 100:
        raise ValueError(f"Invalid {name} value: {value} (expected fewer than 100)")


def _check_ns_coefficients(name: str, value: Any) -> None:
    if (
        not isinstance(value, Sequence)
        or len(value) != 3
        or not all(isinstance(c, (int, float)) for c in value)
    ):
        raise ValueError(f"Invalid {name}: {value!r} (expected three numbers a, b, c)")


class Muon(DeclaredOptimizer):
    r"""Muon: momentum orthogonalized by Newton-Schulz, for the hidden matrices of a network.

    For a 2-D parameter :math:`\theta \in \mathbb{R}^{A \times B}` with gradient :math:`g`:

    .. math::
        B_t &= \mu B_{t-1} + (1-\mu)\, g_t \\
        U_t &= \begin{cases} (1-\mu)\, g_t + \mu B_t & \text{nesterov} \\ B_t & \text{otherwise}\end{cases} \\
        O_t &= \mathrm{NS}^{(a,b,c)}_{k}(U_t) \approx \text{the orthogonal factor } U V^\top
               \text{ of } U_t = U S V^\top \\
        \theta_t &= \theta_{t-1}(1 - \eta\lambda) - \eta\, r(A, B)\, O_t

    where :math:`\mathrm{NS}` is ``ns_steps`` iterations of the quintic
    :math:`X \leftarrow aX + (bXX^\top + c(XX^\top)^2)X` in bfloat16 from
    :math:`X_0 = U_t/\max(\lVert U_t\rVert_F, \epsilon)`, and :math:`r(A, B)` is
    :math:`\sqrt{\max(1, A/B)}` (``adjust_lr_fn="original"`` or None) or
    :math:`0.2\sqrt{\max(A, B)}` (``"match_rms_adamw"``: the update's RMS matches
    AdamW's, so AdamW's learning rate and weight decay carry over). Same arguments,
    defaults and trajectory as ``torch.optim.Muon``.

    **Muon with AdamW.** Muon is meant for hidden-layer matrices; embeddings, the
    output head, biases and norms are trained with AdamW. One optimizer does both: a
    param group with ``"use_muon": False`` runs AdamW (decoupled weight decay,
    ``torch.optim.AdamW``'s update) with the group's ``lr``, ``weight_decay``,
    ``betas`` and ``eps`` (``betas=(0.9, 0.999)`` and ``eps=1e-8`` unless the group
    gives them). :func:`muon_param_groups` builds the two groups from a model. A
    group tagged ``"adamw"`` (Model Zoo configs: ``params: [{params: [...], tag:
    adamw}]``) is such a group too. A parameter that is not 2-D in a Muon group is a
    ``ValueError`` at construction.

    State per parameter, created at construction: ``momentum_buffer`` (Muon groups),
    ``exp_avg`` and ``exp_avg_sq`` (AdamW groups, whose group keeps a 0-d ``step``),
    and ``step`` (float32) with ``enable_global_step=True``.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\eta` (a number or a 0-d tensor).
        weight_decay: decoupled weight decay :math:`\lambda` (scaled by :math:`\eta`).
        momentum: momentum :math:`\mu`.
        nesterov: use the Nesterov form of the momentum.
        ns_coefficients: :math:`(a, b, c)` of the Newton-Schulz polynomial.
        eps: lower bound of the norm :math:`U_t` is divided by.
        ns_steps: Newton-Schulz iterations :math:`k` (< 100).
        adjust_lr_fn: None, ``"original"`` or ``"match_rms_adamw"``.
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    References:
        Keller Jordan et al., "Muon: An optimizer for hidden layers in neural networks"
        (2024), https://kellerjordan.github.io/posts/muon/ ;
        Jingyuan Liu et al., "Muon is Scalable for LLM Training", arXiv:2502.16982.
    """

    kernel = MF.muon_with_adamw
    hyperparameters = (
        Hyperparameter("use_muon", _check_use_muon),
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("momentum", check_non_negative),
        Hyperparameter("nesterov"),
        Hyperparameter("ns_coefficients", _check_ns_coefficients),
        Hyperparameter("ns_steps", _check_ns_steps),
        Hyperparameter("eps", check_non_negative),
        Hyperparameter("adjust_lr_fn", lambda name, v: check_choice(name, v, ADJUST_LR_FNS)),
        Hyperparameter("betas", check_betas),  # AdamW groups only
    )
    param_state = (
        StateSpec("momentum_buffer", when=_muon_group),
        StateSpec("exp_avg", when=_adamw_group),
        StateSpec("exp_avg_sq", when=_adamw_group),
    )
    group_state = (GroupState("step", when=_adamw_group),)
    whole_group = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = MF.MUON_NS_COEFFICIENTS,
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
        *,
        enable_global_step: bool = False,
    ) -> None:
        _check_ns_coefficients("ns_coefficients", ns_coefficients)  # before tuple() below
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": bool(nesterov),
            "ns_coefficients": tuple(ns_coefficients),
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults, enable_global_step=enable_global_step)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; an AdamW group (``use_muon=False`` or tag ``adamw``) gets AdamW's
        ``betas`` and ``eps`` unless it gives its own; a Muon group must hold 2-D
        parameters only."""
        group = dict(param_group)
        tags = group.get("tags")
        tagged = tags == "adamw" or (
            isinstance(tags, (set, frozenset, list, tuple)) and "adamw" in tags
        )
        if "use_muon" not in group:
            group["use_muon"] = not tagged
        _check_use_muon("use_muon", group["use_muon"])
        index = len(self.param_groups)
        params = group["params"]
        params = group["params"] = [params] if isinstance(params, Tensor) else list(params)
        if group["use_muon"]:
            for i, p in enumerate(params):
                if isinstance(p, Tensor) and p.ndim != 2:
                    raise ValueError(
                        f"Muon only updates 2-D parameters, but parameter {i} of param group "
                        f"{index} has shape {tuple(p.shape)}: put it in a group with "
                        "'use_muon': False (AdamW), e.g. with waferopt.modern.muon_param_groups"
                    )
        else:
            for key, value in ADAMW_GROUP_DEFAULTS.items():
                group.setdefault(key, value)
        super().add_param_group(group)


def muon_param_groups(
    model: nn.Module | Iterable[tuple[str, Tensor]],
    *,
    adamw: dict[str, Any] | None = None,
    adamw_names: Sequence[str] = ("embed", "lm_head", "head"),
) -> list[dict[str, Any]]:
    """Split a model's trainable parameters into a Muon group and an AdamW group.

    The recipe of the Muon paper's users: the hidden-layer matrices (2-D weights)
    go to Muon; everything else goes to AdamW (``use_muon=False``): parameters that
    are not 2-D (biases, norms, convolution kernels), the weights of
    ``nn.Embedding`` / ``nn.EmbeddingBag`` modules, and any parameter whose name
    contains one of ``adamw_names`` as a dotted component prefix (the input
    embedding and the output head, which Muon's authors keep on AdamW).

    Args:
        model: a module, or ``(name, parameter)`` pairs.
        adamw: hyperparameters of the AdamW group (``lr``, ``betas``, ``eps``,
            ``weight_decay``); unspecified ones come from the optimizer.
        adamw_names: name fragments that send a 2-D parameter to AdamW: a
            parameter goes there when a component of its dotted name starts
            with one of them.

    Returns:
        ``[{"params": [...], "use_muon": True}, {"params": [...], "use_muon": False, **adamw}]``,
        without the groups that would be empty.
    """
    embedding_ids: set[int] = set()
    if isinstance(model, nn.Module):
        for module in model.modules():
            if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
                embedding_ids.update(id(p) for p in module.parameters(recurse=False))
        named: list[tuple[str, Tensor]] = list(model.named_parameters())
    else:
        named = list(model)
    pattern = re.compile(
        r"(^|\.)(" + "|".join(re.escape(n) for n in adamw_names) + r")" if adamw_names else r"$^"
    )
    matrices: list[Tensor] = []
    others: list[Tensor] = []
    for name, p in named:
        if not p.requires_grad:
            continue
        if p.ndim == 2 and id(p) not in embedding_ids and not pattern.search(name):
            matrices.append(p)
        else:
            others.append(p)
    groups: list[dict[str, Any]] = []
    if matrices:
        groups.append({"params": matrices, "use_muon": True})
    if others:
        groups.append({"params": others, "use_muon": False, **(adamw or {})})
    return groups
