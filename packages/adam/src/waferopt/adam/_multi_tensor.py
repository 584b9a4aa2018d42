"""Machinery shared by the Adam family: bucketed multi-tensor steps.

Every optimizer of this package keeps the Cerebras state layout (one dict of tensors
per parameter) and adds three things that make its step fast without breaking the
static-step contract:

* **Buckets.** The params of a group are split by (device, dtype); a bucket holds the
  lists of params and state tensors that one ``torch._foreach_*`` call works on. The
  lists are built at construction (and after ``load_state_dict`` / ``visit_state``),
  never in ``step()``.
* **Scalar state buffers.** The 0-d float32 scalar states of a bucket (``step``,
  ``beta1_power``, ``mu_product``...) are views into one 1-D buffer per key, so
  advancing all of them is one small op instead of one op per parameter. Each
  ``state[p][key]`` is still a 0-d float32 tensor on ``p.device``; a checkpoint does
  not see the difference.
* **Host step mirror.** Bias corrections are functions of the step number. In an
  eager step with Python-number hyperparameters the optimizer reads the step from a
  Python-side mirror (no device read, no ``.item()``), computes the coefficients as
  Python floats (exactly as torch.optim does) and runs the *host path*: on CPU the
  bucket is processed in cache-sized tiles, which beats both torch's for-loop and
  its foreach flavour; Adam and AdamW use torch's fused kernels there.

  Under ``torch.compile``, or when a hyperparameter is a tensor (a scheduler writes
  0-d tensors into the groups), the *tensor path* runs instead: every coefficient is
  computed on the device from the scalar state, so nothing syncs and a compiled step
  does not recompile as the values move. Once a step has been traced by
  ``torch.compile`` the mirror is no longer trusted and eager steps use the tensor
  path too, until ``load_state_dict`` refreshes it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import Tensor

from waferopt.core import (
    Optimizer,
    check_betas,
    check_non_negative,
    check_params_not_empty,
    check_sparse,
)
from waferopt.core import foreach as F
from waferopt.core.foreach import TensorList

__all__ = [
    "TILE_NUMEL",
    "Bucket",
    "MultiTensorOptimizer",
    "f32",
    "first_moment_",
    "tiles",
    "update_moments_",
    "zeros_like_param",
]

TILE_NUMEL = 1 << 18
"""Elements per tile of the CPU host path (1 MiB of float32 per state array)."""

Number = float | int


def f32(x: float) -> float:
    """Round a Python float to the nearest float32 value (what a float32 tensor holds)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def zeros_like_param(p: Tensor) -> Tensor:
    """The initial value of a moment buffer: zeros in ``p``'s layout."""
    return torch.zeros_like(p, memory_format=torch.preserve_format)


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def sub(values: Any, idx: list[int] | None) -> Any:
    """``values`` restricted to the positions ``idx`` (all of them when ``idx`` is None)."""
    return values if idx is None else [values[i] for i in idx]


class Bucket:
    """The params of one group on one (device, dtype), with their state lists.

    Attributes:
        params: the parameters, in group order.
        tensors: state key -> list of per-parameter state tensors (aligned with params).
        scalars: state key -> 1-D float32 buffer whose element ``i`` is
            ``state[params[i]][key]``.
        host: host mirrors of per-parameter values: ``"step"`` (the step count) and
            whatever else an optimizer needs (NAdam: ``"mu_product"``).
        step_scratch: a 0-d float32 tensor on the bucket's device that the fused Adam
            kernels read their step from (not optimizer state).
    """

    __slots__ = ("device", "dtype", "host", "params", "scalars", "step_scratch", "tensors")

    def __init__(
        self,
        params: list[Tensor],
        tensors: dict[str, list[Tensor]],
        scalars: dict[str, Tensor],
    ) -> None:
        self.params = params
        self.tensors = tensors
        self.scalars = scalars
        self.device = params[0].device
        self.dtype = params[0].dtype
        self.host: dict[str, list] = {}
        self.step_scratch = torch.zeros((), dtype=torch.float32, device=self.device)

    # -------------------------------------------------------------- host step mirror
    def host_groups(
        self, idx: list[int] | None, keys: tuple[str, ...] = ("step",)
    ) -> list[tuple[tuple, list[int] | None]]:
        """Split the stepped params by their host-mirrored values.

        Returns ``(values, positions)`` pairs, ``values`` being the mirrored ``keys``
        (the first is the step count *before* this step) and ``positions`` indexing
        the lists restricted to ``idx`` (None: all of them). Usually one pair.
        """
        cols = [self.host[k] if idx is None else [self.host[k][i] for i in idx] for k in keys]
        rows = list(zip(*cols))
        first = rows[0]
        if all(r == first for r in rows):
            return [(first, None)]
        by_value: dict[tuple, list[int]] = {}
        for pos, r in enumerate(rows):
            by_value.setdefault(r, []).append(pos)
        return list(by_value.items())

    def step_groups(self, idx: list[int] | None) -> list[tuple[int, list[int] | None]]:
        """``(t, positions)``: the step number each stepped param is about to take."""
        return [(values[0] + 1, pos) for values, pos in self.host_groups(idx)]

    def advance(self, idx: list[int] | None) -> None:
        """Add one to the host step of the params at ``idx`` (None: all)."""
        steps = self.host["step"]
        if idx is None:
            self.host["step"] = [s + 1 for s in steps]
        else:
            for i in idx:
                steps[i] += 1

    # -------------------------------------------------------------- scalar state
    def scalar_values(self, key: str, idx: list[int] | None) -> Tensor:
        """The current values of scalar state ``key`` (1-D, float32) for ``idx``."""
        buf = self.scalars[key]
        if idx is None:
            return buf
        return torch.stack([buf[i] for i in idx])

    def scalar_mul_(self, key: str, factor: Any, idx: list[int] | None) -> None:
        buf = self.scalars[key]
        if idx is None:
            buf.mul_(factor)
        elif isinstance(factor, Tensor) and factor.dim() == 1:
            torch._foreach_mul_([buf[i] for i in idx], list(factor.unbind(0)))
        else:
            torch._foreach_mul_([buf[i] for i in idx], factor)

    def scalar_fill_(self, key: str, value: float, idx: list[int] | None) -> None:
        buf = self.scalars[key]
        if idx is None:
            buf.fill_(value)
        else:
            for i in idx:
                buf[i].fill_(value)

    def fill_powers_(self, idx: list[int] | None, betas: dict[str, float]) -> None:
        """Write ``β^(t+1)`` into each power state after step t (host path).

        The closed form keeps ``fl32(β^k)`` exactly (no float32 drift from repeated
        products), so the step can be recovered from the powers after a load.
        """
        for t, pos in self.step_groups(idx):
            members = absolute(idx, pos)
            for key, beta in betas.items():
                self.scalar_fill_(key, float(beta) ** (t + 1), members)

    def scalar_add_(self, key: str, value: Any, idx: list[int] | None) -> None:
        buf = self.scalars[key]
        if idx is None:
            buf.add_(value)
        else:
            torch._foreach_add_([buf[i] for i in idx], value)

    def scalar_copy_(self, key: str, values: Tensor, idx: list[int] | None) -> None:
        buf = self.scalars[key]
        if idx is None:
            buf.copy_(values)
        else:
            torch._foreach_copy_([buf[i] for i in idx], list(values.unbind(0)))


def absolute(idx: list[int] | None, pos: list[int] | None) -> list[int] | None:
    """Bucket positions of the ``pos``-th entries of the lists restricted to ``idx``."""
    if pos is None:
        return idx
    if idx is None:
        return pos
    return [idx[i] for i in pos]


def tiles(lists: Sequence[TensorList], limit: int | None = None) -> list[list[TensorList]]:
    """Cut aligned tensor lists (each param's arrays of one shape) into tiles of about
    ``limit`` elements (:data:`TILE_NUMEL`), with :func:`waferopt.core.foreach.chunks`.

    The update is elementwise, so running it tile by tile gives the same result as
    running it on the whole lists, but each tile's arrays stay in cache between the
    ops of one step.
    """
    return list(F.chunks(list(lists), TILE_NUMEL if limit is None else limit))  # type: ignore[arg-type]


def _buffer_of(views: list[Tensor]) -> Tensor | None:
    """The 1-D tensor whose element ``i`` is ``views[i]``, if they are laid out so."""
    if not views:
        return None
    first = views[0]
    if first.dim() != 0 or first.dtype != torch.float32:
        return None
    storage = first.untyped_storage()
    n = len(views)
    if storage.nbytes() != 4 * n:
        return None
    ptr = storage.data_ptr()
    for i, v in enumerate(views):
        if (
            v.dim() != 0
            or v.dtype != torch.float32
            or v.device != first.device
            or v.untyped_storage().data_ptr() != ptr
            or v.storage_offset() != i
        ):
            return None
    return torch.empty(0, dtype=torch.float32, device=first.device).set_(storage, 0, (n,), (1,))


class MultiTensorOptimizer(Optimizer):
    """Base of the optimizers of this package (see the module docstring).

    Subclasses define :meth:`_state_spec` (which state each group needs),
    :meth:`_check_group` (argument validation), :meth:`_steps_from_state` (the host
    step mirror from loaded state) and :meth:`_step_bucket` (the update).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
        enable_global_step: bool = False,
    ) -> None:
        self._plans: list[tuple[dict[str, Any], list[Bucket]]] = []
        self._host_mirror = {"valid": True}
        super().__init__(check_params_not_empty(params), defaults, enable_global_step)

    # ------------------------------------------------------------------ hooks
    def _state_spec(
        self, group: dict[str, Any]
    ) -> tuple[dict[str, Callable[[Tensor], Tensor]], dict[str, float]]:
        """``({key: p -> initial tensor}, {scalar key: initial value})`` for ``group``."""
        raise NotImplementedError

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        """Raise ``ValueError`` for invalid hyperparameters of ``group``.

        Checks what every Adam-family group has (lr, betas, eps, weight_decay);
        subclasses add their own keys after calling this.
        """
        check_non_negative(f"lr ({where})", group["lr"])
        check_betas(f"betas ({where})", group["betas"])
        check_non_negative(f"eps ({where})", group["eps"])
        check_non_negative(f"weight_decay ({where})", group["weight_decay"])

    def _sync_host(self, group: dict[str, Any], bucket: Bucket) -> None:
        """Fill the bucket's host mirrors from its state (outside ``step()`` only)."""
        bucket.host = {"step": self._steps_from_state(group, bucket)}

    def _steps_from_state(self, group: dict[str, Any], bucket: Bucket) -> list[int]:
        """The step count of each bucket param, read from its (loaded) state."""
        if "step" in bucket.scalars:
            return [round(x) for x in bucket.scalars["step"].tolist()]
        return [0] * len(bucket.params)

    def _step_bucket(
        self,
        group: dict[str, Any],
        bucket: Bucket,
        grads: TensorList,
        idx: list[int] | None,
        host: bool,
    ) -> None:
        """Update the params of ``bucket`` at positions ``idx`` (None: all).

        ``grads`` holds the gradients of exactly those params. ``host`` says whether
        the host step mirror may be used (eager step, mirror valid).
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ state set-up
    def preinitialize(self) -> None:
        """Create every state tensor: per-param tensors and the scalar state buffers."""
        for gi, group in enumerate(self.param_groups):
            self._check_group(group, f"param group {gi}")
            tensor_spec, scalar_spec = self._state_spec(group)
            if self.enable_global_step:
                scalar_spec = {**scalar_spec, "step": 0.0}
            fresh: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
            for p in group["params"]:
                state = self.state[p]
                for key, init in tensor_spec.items():
                    if key not in state:
                        state[key] = init(p)
                if any(key not in state for key in scalar_spec):
                    fresh.setdefault((p.device, p.dtype), []).append(p)
            for (device, _), ps in fresh.items():
                for key, value in scalar_spec.items():
                    buf = torch.full((len(ps),), value, dtype=torch.float32, device=device)
                    for j, p in enumerate(ps):
                        self.state[p].setdefault(key, buf[j])
        self._rebuild_plans()

    def _rebuild_plans(self, keep: bool = True) -> None:
        """Build the buckets of every group (reusing those of unchanged groups)."""
        old = {id(g): (g, buckets) for g, buckets in self._plans} if keep else {}
        plans = []
        for group in self.param_groups:
            entry = old.get(id(group))
            if entry is not None and entry[0] is group and self._plan_matches(group, entry[1]):
                plans.append(entry)
                continue
            plans.append((group, self._make_buckets(group)))
        self._plans = plans

    def _plan_matches(self, group: dict[str, Any], buckets: list[Bucket]) -> bool:
        params = [p for b in buckets for p in b.params]
        if len(params) != len(group["params"]) or {id(p) for p in params} != {
            id(p) for p in group["params"]
        }:
            return False
        for b in buckets:
            for key, lst in b.tensors.items():
                if any(self.state[p].get(key) is not t for p, t in zip(b.params, lst)):
                    return False
            for key, buf in b.scalars.items():
                views = [self.state[p].get(key) for p in b.params]
                if any(v is None for v in views):
                    return False
                other = _buffer_of(views)  # type: ignore[arg-type]
                if other is None or other.data_ptr() != buf.data_ptr():
                    return False
        return True

    def _make_buckets(self, group: dict[str, Any]) -> list[Bucket]:
        tensor_spec, scalar_spec = self._state_spec(group)
        tensor_keys = list(tensor_spec)
        scalar_keys = list(scalar_spec) + (["step"] if self.enable_global_step else [])
        by_key: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
        for p in group["params"]:
            by_key.setdefault((p.device, p.dtype), []).append(p)
        buckets = []
        for ps in by_key.values():
            states = [self.state[p] for p in ps]
            tensors = {k: [s[k] for s in states] for k in tensor_keys}
            scalars = {}
            for key in scalar_keys:
                views = [s[key] for s in states]
                buf = _buffer_of(views)
                if buf is None:
                    # Lay the scalars out as views of one buffer (done outside step() only:
                    # after a state replacement such as visit_state or deepcopy).
                    buf = torch.stack([v.detach().to(torch.float32) for v in views])
                    for j, s in enumerate(states):
                        s[key] = buf[j]
                scalars[key] = buf
            bucket = Bucket(ps, tensors, scalars)
            self._sync_host(group, bucket)
            buckets.append(bucket)
        return buckets

    # ------------------------------------------------------------------ state changes
    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:  # type: ignore[override]
        super().load_state_dict(state_dict)
        self._rebuild_plans(keep=False)
        self._host_mirror["valid"] = True

    def visit_state(self, fn: Callable[[Any], Any]) -> None:
        super().visit_state(fn)
        self._rebuild_plans(keep=False)
        self._host_mirror["valid"] = True

    # The plans are rebuilt on unpickling (core's __getstate__ keeps the rest).
    _not_pickled = (*Optimizer._not_pickled, "_plans")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._plans = []
        self._rebuild_plans(keep=False)
        self._host_mirror["valid"] = True

    # ------------------------------------------------------------------ step
    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Perform one optimization step (see the class docstring for the rule).

        Args:
            closure: a closure that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = F.run_closure(closure)
        if torch.compiler.is_compiling():
            # The host mirror is not advanced inside a traced step. (A dict item, not an
            # attribute: Dynamo replays dict mutations but drops attribute stores on
            # optimizer objects.)
            self._host_mirror["valid"] = False
            host = False
        else:
            host = self._host_mirror["valid"]
        name = type(self).__name__
        for group, buckets in self._plans:
            for bucket in buckets:
                grads = [p.grad for p in bucket.params]
                idx = None
                if any(g is None for g in grads):
                    idx = [i for i, g in enumerate(grads) if g is not None]
                    if not idx:
                        continue
                    grads = [grads[i] for i in idx]
                present = cast(list[Tensor], grads)
                for g in present:
                    if g.is_sparse:
                        check_sparse(name, g)
                self._step_bucket(group, bucket, present, idx, host)
        return loss

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _coef_dtype(bucket: Bucket) -> torch.dtype:
        """dtype of the per-parameter coefficients of the tensor path.

        float64 (bias corrections such as RAdam's ρ_t cancel catastrophically in
        float32); float32 where the device has no float64 (MPS).
        """
        return torch.float32 if bucket.device.type == "mps" else torch.float64


def first_moment_(exp_avgs: TensorList, grads: TensorList, beta1: Any) -> None:
    """``m <- beta1 m + (1 - beta1) g`` (``beta1`` a number or a 0-d tensor)."""
    if is_tensor(beta1):
        torch._foreach_lerp_(exp_avgs, grads, [1.0 - beta1] * len(exp_avgs))
    else:
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)


def update_moments_(
    exp_avgs: TensorList, exp_avg_sqs: TensorList, grads: TensorList, beta1: Any, beta2: Any
) -> None:
    """Adam's moments: ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``."""
    first_moment_(exp_avgs, grads, beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    if is_tensor(beta2):
        torch._foreach_addcmul_(exp_avg_sqs, grads, torch._foreach_mul(grads, 1.0 - beta2))
    else:
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)


def numbers(*values: Any) -> bool:
    """True when every value is a Python number (not a tensor)."""
    return not any(isinstance(v, Tensor) for v in values)


def as_float(x: Any) -> float:
    """A hyperparameter as a Python float (reads a tensor: outside ``step()`` only)."""
    return float(x.detach().cpu()) if isinstance(x, Tensor) else float(x)


def promote(x: Any, dtype: torch.dtype) -> Any:
    """A tensor hyperparameter in the coefficient dtype (numbers are left alone), so
    that products such as ``1 - lr * weight_decay`` are not rounded to float32."""
    return x.to(dtype) if isinstance(x, Tensor) else x


def steps_from_power(power: list[float], beta: float) -> list[int] | None:
    """Invert ``power = beta ** (t + 1)`` (the Cerebras bias-correction state) for ``t``.

    Exact while the powers are the closed form ``fl32(β^(t+1))`` that the host path
    writes. Returns None when ``beta`` carries no information (0 or 1). Powers that have
    underflowed to 0 give the smallest step at which ``beta ** t`` is 0 in float32,
    where every bias correction is exactly 1.
    """
    if not 0.0 < beta < 1.0:
        return None
    log_beta = math.log(beta)
    underflow = math.ceil(math.log(1e-46) / log_beta)
    out = []
    for x in power:
        if x <= 0.0:
            out.append(underflow)
        elif x >= 1.0:
            out.append(0)
        else:
            out.append(max(0, round(math.log(x) / log_beta) - 1))
    return out
