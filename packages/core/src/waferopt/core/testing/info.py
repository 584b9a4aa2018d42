"""What the kit needs to know about a class: the info tables and error inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..optimizer import Optimizer
from ..scheduler import Scheduler


@dataclass(frozen=True)
class ErrorInput:
    """A constructor call that must fail.

    Args:
        kwargs: constructor keyword arguments (everything but the params or the
            optimizer).
        match: a regex searched (``re.search``) in the exception message.
        error: the exception type expected.
        description: what the case is about (used in failure messages).
    """

    kwargs: Mapping[str, Any]
    match: str
    error: type[BaseException] = ValueError
    description: str = ""


@dataclass
class OptimizerInfo:
    """What the kit needs to know about an optimizer class.

    Args:
        cls: the optimizer class (a subclass of ``waferopt.core.Optimizer``).
        configs: constructor keyword arguments to try, one dict each. Give at
            least one with a non-zero ``weight_decay`` so that the tensor check
            of ``weight_decay`` means something.
        error_inputs: constructor calls that must raise.
        shapes: shapes of the parameters the checks build.
        dtypes: parameter dtypes the bitwise resume check runs with (the other checks
            use float32).
        steps: optimizer steps per check.
        tensor_hyperparams: group keys checked as 0-d tensors (those present in
            the group as a number).
        rtol, atol: tolerance of the tensor-versus-float and compiled-versus-eager
            comparisons (``None``: ``torch.testing.assert_close`` defaults).
            Resume and parameter groups are compared bitwise.
        global_step_counts_steps: the optimizer advances its ``step`` state once
            per ``step()``; set False when it keeps a counter that only the user
            advances (through ``increment_global_step``).
        compile: run the compiled-step check.
        compile_configs: indices in ``configs`` to compile (keep it small).
        compile_backend: ``torch.compile`` backend; ``"eager"`` (the default) runs
            Dynamo only, which is what finds graph breaks and recompiles, fast.
        known_failures: ``{check name: reason}`` for checks the class is known to
            fail (``"no_host_sync"``, ``"compiled_step"``...): pytest marks them
            ``xfail(strict=True)`` (so a fix is noticed), :func:`check_optimizer`
            reports them as skipped.
        name: test id (default: the class name).
    """

    cls: type
    configs: Sequence[Mapping[str, Any]] = ({},)
    error_inputs: Sequence[ErrorInput] = ()
    shapes: Sequence[tuple[int, ...]] = ((5, 4), (4,), (2, 3, 4))
    dtypes: Sequence[torch.dtype] = (torch.float32,)
    steps: int = 4
    tensor_hyperparams: Sequence[str] = ("lr", "weight_decay")
    rtol: float | None = None
    atol: float | None = None
    global_step_counts_steps: bool = True
    compile: bool = True
    compile_configs: Sequence[int] = (0,)
    compile_backend: str = "eager"
    known_failures: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None

    @property
    def id(self) -> str:
        return self.name or self.cls.__name__


SchedulerConfig = Mapping[str, Any] | Callable[[Optimizer], Mapping[str, Any]]


@dataclass
class SchedulerInfo:
    """What the kit needs to know about a scheduler class.

    Args:
        cls: the scheduler class (a subclass of ``waferopt.core.Scheduler``).
        configs: constructor keyword arguments (all but the optimizer), one dict
            each, or a callable ``f(optimizer) -> dict`` for schedulers that take
            other schedulers.
        error_inputs: constructor calls that must raise.
        factory: ``f(cls, optimizer, kwargs) -> scheduler``; default
            ``cls(optimizer, **kwargs)``.
        group_defaults: extra hyperparameters the test optimizer's groups hold
            (``{"momentum": 0.9}`` for a momentum scheduler); the groups always
            hold ``lr=0.1`` and ``weight_decay=0.01``.
        steps: scheduler steps per check.
        closed_form: the value at step ``k`` depends on ``k`` alone (compare a
            fresh scheduler built with ``last_epoch=k-1``); False for a schedule
            the spec defines recursively.
        compile: run the compiled-step check.
        compile_configs: indices in ``configs`` to compile.
        compile_backend: ``torch.compile`` backend (``"eager"``: Dynamo only).
        torch_load_weights_only: load state dicts with ``torch.load(...,
            weights_only=True)`` as torch's default does.
        known_failures: ``{check name: reason}``, as for :class:`OptimizerInfo`.
        name: test id (default: the class name).
    """

    cls: type
    configs: Sequence[SchedulerConfig] = ({},)
    error_inputs: Sequence[ErrorInput] = ()
    factory: Callable[[type, Optimizer, dict[str, Any]], Scheduler] | None = None
    group_defaults: Mapping[str, Any] = field(default_factory=dict)
    steps: int = 12
    closed_form: bool = True
    compile: bool = True
    compile_configs: Sequence[int] = (0,)
    compile_backend: str = "eager"
    torch_load_weights_only: bool = True
    known_failures: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None

    @property
    def id(self) -> str:
        return self.name or self.cls.__name__


class NotApplicable(Exception):
    """Raised by a check that does not apply to the class or configuration."""
