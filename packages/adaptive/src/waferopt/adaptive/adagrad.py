"""Adagrad with every state tensor created at construction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from waferopt.core import Optimizer, check_non_negative, check_params_not_empty
from waferopt.core import foreach as F

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate learning rates from the sum of squared gradients.

    With :math:`t` the step (after its increment), :math:`g' = \pm g + \lambda\theta`:

    .. math::
        s &\leftarrow s + g'^2 \\
        \theta &\leftarrow \theta - \frac{\eta}{1 + (t-1)\,\text{lr\_decay}}
                 \cdot \frac{g'}{\sqrt{s} + \epsilon}

    The trajectory is that of ``torch.optim.Adagrad`` with the same arguments. Note the
    default ``eps=1e-6`` (Cerebras; ``torch.optim.Adagrad`` uses 1e-10).

    State per parameter, created at construction: ``sum`` (filled with
    ``initial_accumulator_value``) and ``step`` (float32; Adagrad always keeps it).

    The eager CPU step runs torch's fused Adagrad kernel (``torch._fused_adagrad_``)
    when every hyperparameter but ``lr`` is a Python number; otherwise (GPU, tensor
    hyperparameters, ``torch.compile``) a multi-tensor (``torch._foreach_*``)
    formulation.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\eta` (a number or a 0-d tensor).
        lr_decay: learning-rate decay.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        initial_accumulator_value: initial value of ``sum``.
        eps: added to the denominator for numerical stability.
        maximize: maximize the objective instead of minimizing it.
        enable_global_step: accepted for a uniform signature; Adagrad always keeps its
            step counter (``False`` raises ``ValueError``).

    Reference:
        Duchi, Hazan, Singer, "Adaptive Subgradient Methods for Online Learning and
        Stochastic Optimization", JMLR 12 (2011). http://jmlr.org/papers/v12/duchi11a.html
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-6,
        maximize: bool = False,
        *,
        enable_global_step: bool = True,
    ) -> None:
        check_non_negative("lr", lr)
        check_non_negative("lr_decay", lr_decay)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("initial_accumulator_value", initial_accumulator_value)
        check_non_negative("eps", eps)
        if not enable_global_step:
            raise ValueError(
                "Invalid enable_global_step: Adagrad always keeps its step counter "
                "(lr_decay uses it); enable_global_step=False is not supported"
            )
        params = check_params_not_empty(params)
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults, enable_global_step=True)

    def preinitialize(self) -> None:
        """Create ``sum`` (and ``step``) for every parameter that has none yet."""
        for group in self.param_groups:
            init = group["initial_accumulator_value"]
            for p in group["params"]:
                state = self.state[p]
                if "sum" not in state:
                    state["sum"] = torch.empty_like(p, memory_format=torch.preserve_format)
                    state["sum"].copy_(torch.as_tensor(init, dtype=p.dtype))
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
            params, grads, (sums, steps) = F.collect("Adagrad", group, self.state, ("sum", "step"))
            if not params:
                continue
            kwargs = {
                "lr": group["lr"],
                "lr_decay": group["lr_decay"],
                "weight_decay": group["weight_decay"],
                "eps": group["eps"],
                "maximize": bool(group["maximize"]),
            }
            if not _hyperparameters_fuse(kwargs):
                _foreach_adagrad(params, grads, sums, steps, **kwargs)
                continue
            for run in F.group_by_device_and_dtype([params, grads, sums, steps]):
                # one device and dtype per run: its first tensor tells for all
                if _device_fuses(run[0][0]):
                    _fused_adagrad(*run, **kwargs)
                else:
                    _foreach_adagrad(*run, **kwargs)
        return loss


def _hyperparameters_fuse(kwargs: dict[str, Any]) -> bool:
    """The fused kernel takes every hyperparameter but lr as a number, and runs eagerly."""
    if torch.compiler.is_compiling():
        return False
    return not any(isinstance(kwargs[k], Tensor) for k in ("lr_decay", "weight_decay", "eps"))


def _device_fuses(p: Tensor) -> bool:
    # torch ships the fused Adagrad kernel for the CPU only (it refuses fused=True on CUDA)
    return p.device.type == "cpu" and F.fused_supported([p])


def _fused_adagrad(
    params: list[Tensor],
    grads: list[Tensor],
    sums: list[Tensor],
    steps: list[Tensor],
    *,
    lr: F.Hyper,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One run of a single device and dtype through torch's fused kernel."""
    torch._foreach_add_(steps, 1.0)
    if isinstance(lr, Tensor):  # the fused kernel reads a float32 lr on the params' device
        lr = lr.to(device=params[0].device, dtype=torch.float32, non_blocking=True)
    torch._fused_adagrad_(
        params,
        grads,
        sums,
        steps,
        lr=lr,  # type: ignore[arg-type]
        lr_decay=float(lr_decay),
        weight_decay=float(weight_decay),
        eps=float(eps),
        maximize=maximize,
    )


def _foreach_adagrad(
    params: list[Tensor],
    grads: list[Tensor],
    sums: list[Tensor],
    steps: list[Tensor],
    *,
    lr: F.Hyper,
    lr_decay: F.Hyper,
    weight_decay: F.Hyper,
    eps: F.Hyper,
    maximize: bool,
) -> None:
    for device_params, device_grads, device_sums, device_steps in F.runs(
        [params, grads, sums, steps]
    ):
        device = device_params[0].device
        lr_, lr_decay_, wd, eps_ = (
            F.on_device(v, device) for v in (lr, lr_decay, weight_decay, eps)
        )
        torch._foreach_add_(device_steps, 1.0)
        if maximize:
            device_grads = torch._foreach_neg(device_grads)
        if F.is_nonzero_or_tensor(wd):
            device_grads = F.added_scaled(device_grads, device_params, wd)
        torch._foreach_addcmul_(device_sums, device_grads, device_grads)
        std = torch._foreach_sqrt(device_sums)
        torch._foreach_add_(std, eps_)
        if isinstance(lr_, Tensor) or F.is_nonzero_or_tensor(lr_decay_):
            # clr_i = lr / (1 + (t_i - 1) * lr_decay), one 0-d tensor per parameter
            dtype = device_params[0].dtype
            steps_ = device_steps if dtype == torch.float32 else [s.to(dtype) for s in device_steps]
            clr = torch._foreach_sub(steps_, 1.0)
            F.mul_(clr, lr_decay_)
            torch._foreach_add_(clr, 1.0)
            torch._foreach_reciprocal_(clr)
            F.mul_(clr, lr_)
            torch._foreach_addcdiv_(
                device_params, torch._foreach_mul(device_grads, clr), std, value=-1.0
            )
        else:
            torch._foreach_addcdiv_(device_params, device_grads, std, value=-lr_)
