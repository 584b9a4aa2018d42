"""AdEMAMix with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from waferopt.core.authoring import DeclaredOptimizer, GroupState, Hyperparameter, StateSpec
from waferopt.core.validation import check_betas, check_non_negative

from .functional import ademamix


def _check_betas3(name: str, value: Any) -> None:
    check_betas(name, value, count=3)


def _check_warmup(name: str, value: Any) -> None:
    if value is not None:
        check_non_negative(name, value)
        if float(value) == 0.0:
            raise ValueError(f"Invalid {name} value: 0 (expected None or a number > 0)")


__all__ = ["AdEMAMix"]


class AdEMAMix(DeclaredOptimizer):
    r"""AdEMAMix: Adam with a mixture of a fast and a slow exponential moving average.

    At step :math:`t` with gradient :math:`g` (plus :math:`\lambda\theta` when the
    weight decay is coupled):

    .. math::
        m_1 &\leftarrow \beta_1 m_1 + (1-\beta_1)\, g, \qquad
        m_2 \leftarrow \beta_3(t)\, m_2 + (1-\beta_3(t))\, g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2)\, g^2 \\
        \theta &\leftarrow \theta - \eta\,
            \frac{m_1 / (1-\beta_1^t) + \alpha(t)\, m_2}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    Without ``t_alpha_beta3``, :math:`\alpha(t) = \alpha` and :math:`\beta_3(t) =
    \beta_3`; with it, both warm up over ``t_alpha_beta3`` steps as in the paper:
    :math:`\alpha(t) = \min(t\alpha/T, \alpha)` and :math:`\beta_3(t) =
    \min\big(\exp\frac{\ln\beta_1 \ln\beta_3}{(1-t/T)\ln\beta_3 + (t/T)\ln\beta_1},
    \beta_3\big)`. Decoupled weight decay (``weight_decouple=True``) multiplies
    :math:`\theta` by :math:`1 - \eta\lambda` (:math:`1 - \lambda` with
    ``fixed_decay``) before the step. Same arguments, defaults and trajectory as
    ``pytorch_optimizer.AdEMAMix``.

    State per parameter, created at construction: ``exp_avg`` (:math:`m_1`),
    ``exp_avg_sq`` (:math:`v`), ``exp_avg_slow`` (:math:`m_2`), and ``step``
    (float32) with ``enable_global_step=True``; each group keeps its step count
    :math:`t` as a 0-d tensor under ``"step"``.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\eta` (a number or a 0-d tensor).
        betas: :math:`(\beta_1, \beta_2, \beta_3)`, each in [0, 1).
        weight_decay: weight decay :math:`\lambda`.
        weight_decouple: decoupled (AdamW-style) weight decay instead of an L2 term.
        fixed_decay: decoupled decay not scaled by the learning rate.
        alpha: weight :math:`\alpha` of the slow average.
        t_alpha_beta3: warm-up length :math:`T` of :math:`\alpha` and :math:`\beta_3`
            (None: no warm-up).
        eps: term added to the denominator.
        maximize: maximize the objective instead of minimizing it.
        enable_global_step: keep a per-parameter ``step`` counter, advanced by ``step()``.

    Reference:
        Pagliardini, Ablin, Grangier, "The AdEMAMix Optimizer: Better, Faster, Older",
        ICLR 2025, arXiv:2409.03137 (Algorithm 1).
    """

    kernel = ademamix
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("betas", _check_betas3, kernel_names=("beta1", "beta2", "beta3")),
        Hyperparameter("weight_decay", check_non_negative),
        Hyperparameter("alpha", check_non_negative),
        Hyperparameter("t_alpha_beta3", _check_warmup),
        Hyperparameter("eps", check_non_negative),
        Hyperparameter("weight_decouple"),
        Hyperparameter("fixed_decay"),
        Hyperparameter("maximize"),
    )
    param_state = (StateSpec("exp_avg"), StateSpec("exp_avg_sq"), StateSpec("exp_avg_slow"))
    group_state = (GroupState("step"),)
    whole_group = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float, float] = (0.9, 0.999, 0.9999),
        weight_decay: float = 0.0,
        weight_decouple: bool = False,
        fixed_decay: bool = False,
        alpha: float = 5.0,
        t_alpha_beta3: float | None = None,
        eps: float = 1e-8,
        maximize: bool = False,
        *,
        enable_global_step: bool = False,
    ) -> None:
        _check_betas3("betas", betas)  # before tuple() below
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "weight_decay": weight_decay,
            "weight_decouple": bool(weight_decouple),
            "fixed_decay": bool(fixed_decay),
            "alpha": alpha,
            "t_alpha_beta3": t_alpha_beta3,
            "eps": eps,
            "maximize": bool(maximize),
        }
        super().__init__(params, defaults, enable_global_step=enable_global_step)
