r"""Writing a schedule once: its formula, its arguments, and the classes derived from it.

A schedule shape is one :class:`Schedule`: a **formula** (a pure function of the step
``t`` and the shape's hyperparameters), its **arguments** (:class:`Arg`: name, default,
the name the LR class gives it, validation, documentation) and a one-line summary.
:meth:`Schedule.classes` derives the three scheduler classes from it, with real
signatures (``inspect.signature``, ``help()``) and docstrings:

* ``<Name>LR(optimizer, <args with LR names>, param_group_tags=None)``, a
  :class:`~waferopt.core.LRScheduler`;
* ``<Name>WD(optimizer, <args>, param_group_tags=None)``, a
  :class:`~waferopt.core.WeightDecayScheduler`;
* ``<Name>Scheduler(optimizer, param_group_key, <args>, param_group_tags=None)``, which
  drives any key (``"momentum"``, ``"betas[0]"``...).

Every class validates its arguments (errors name the argument as the caller spelled
it), matches param groups by tags, saves a declared ``state_dict`` and takes the fast
eager step: the formula is evaluated on the host in Python floats and written with one
``fill_`` per group; under ``torch.compile`` or CUDA-graph capture the same formula
runs on tensors.

The formula is written once for both: it receives ``t`` as a Python float or as a 0-d
floating tensor, and uses arithmetic operators plus the functions of :func:`ops`
(``cos``, ``sqrt``, ``pow``, ``where``, ``minimum``...), never ``math`` or ``torch``
directly, and never a Python ``if`` on a value that depends on ``t``.

Example (a complete third-party schedule; see ``docs/contributing/schedules.md``):

    >>> from waferopt.core.schedule import Arg, Schedule, checks, ops
    >>> def half_cosine(t, initial, total_iters):
    ...     '''Half a cosine from ``initial`` to 0: ``v(t) = initial cos(pi/2 min(t, T)/T)``.'''
    ...     m = ops(t)
    ...     return initial * m.cos(1.5707963267948966 * m.minimum(t, total_iters) / total_iters)
    >>> HALF_COSINE = Schedule(
    ...     "HalfCosine",
    ...     half_cosine,
    ...     summary="Half a cosine from the initial value to 0.",
    ...     args=[
    ...         Arg("initial_val", checks.number(non_negative=True), param="initial",
    ...             lr_name="initial_learning_rate", doc="the value at step 0.",
    ...             annotation="float"),
    ...         Arg("total_iters", checks.integer(minimum=1), doc="the length of the decay.",
    ...             annotation="int"),
    ...     ],
    ...     total_iters="total_iters",
    ... )
    >>> HalfCosineLR, HalfCosineWD, HalfCosineScheduler = HALF_COSINE.classes(__name__)
    >>> import inspect
    >>> list(inspect.signature(HalfCosineLR).parameters)
    ['optimizer', 'initial_learning_rate', 'total_iters', 'param_group_tags']
    >>> inspect.signature(HalfCosineWD).parameters["initial_val"].annotation
    <class 'float'>
    >>> half_cosine(50.0, 1.0, 100) == half_cosine(50, 1.0, 100)
    True
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import torch

from .optimizer import Optimizer
from .scheduler import (
    LRScheduler,
    Scheduler,
    WeightDecayScheduler,
    decisive_steps,
    group_matches,
    normalize_tags,
)

__all__ = [
    "REQUIRED",
    "Arg",
    "Bindings",
    "Schedule",
    "ScheduleScheduler",
    "checks",
    "evaluate",
    "normalize_tags",
    "ops",
]

REQUIRED: Any = inspect.Parameter.empty
"""The default of an :class:`Arg` that the caller must give."""

Check = Callable[[Any, str], Any]
"""A validator: ``check(value, where) -> normalised value``; raises ``TypeError`` or
``ValueError`` whose message starts with ``where`` (``"CosineDecayLR: total_iters"``)."""


# ---------------------------------------------------------------------------- checks
class checks:
    """Validators for :class:`Arg`: each factory returns a :data:`Check`.

    Every error names the argument as the caller spelled it and says what was expected.
    """

    @staticmethod
    def number(*, positive: bool = False, non_negative: bool = False) -> Check:
        """A finite real number (a 1-element tensor is read once, at construction)."""

        def check(value: Any, where: str) -> float:
            if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
                value = float(value.detach().cpu())
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{where} must be a number, got {type(value).__name__} {value!r}")
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"{where} must be finite, got {value!r}")
            if positive and not number > 0:
                raise ValueError(f"{where} must be > 0, got {value!r}")
            if non_negative and not number >= 0:
                raise ValueError(f"{where} must be >= 0, got {value!r}")
            return number

        return check

    @staticmethod
    def integer(*, minimum: int = 0) -> Check:
        """An int (an integral float such as ``1000.0`` is accepted) >= ``minimum``."""

        def check(value: Any, where: str) -> int:
            if isinstance(value, bool):
                raise TypeError(f"{where} must be an int, got bool {value!r}")
            if isinstance(value, numbers.Integral):
                number = int(value)
            elif (
                isinstance(value, numbers.Real)
                and math.isfinite(float(value))
                and float(value).is_integer()
            ):
                number = int(float(value))
            elif isinstance(value, numbers.Real):
                raise ValueError(f"{where} must be an integer, got {value!r}")
            else:
                raise TypeError(f"{where} must be an int, got {type(value).__name__} {value!r}")
            if number < minimum:
                raise ValueError(f"{where} must be >= {minimum}, got {value!r}")
            return number

        return check

    @staticmethod
    def flag() -> Check:
        """A bool."""

        def check(value: Any, where: str) -> bool:
            if not isinstance(value, bool):
                raise TypeError(f"{where} must be a bool, got {type(value).__name__} {value!r}")
            return value

        return check

    @staticmethod
    def choice(*options: Any) -> Check:
        """One of ``options``."""

        def check(value: Any, where: str) -> Any:
            if value not in options:
                raise ValueError(f"{where} must be one of {list(options)}, got {value!r}")
            return value

        return check

    @staticmethod
    def optional(inner: Check) -> Check:
        """``None``, or a value ``inner`` accepts."""

        def check(value: Any, where: str) -> Any:
            return None if value is None else inner(value, where)

        return check

    @staticmethod
    def int_list(*, increasing: bool = False, minimum: int = 0) -> Check:
        """A list of ints (a tuple or an array is converted); strictly increasing on demand."""
        item = checks.integer(minimum=minimum)

        def check(value: Any, where: str) -> list[int]:
            if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
                value = value.tolist()
            if not isinstance(value, (list, tuple)):
                raise TypeError(
                    f"{where} must be a list of ints, got {type(value).__name__} {value!r}"
                )
            items = [item(v, f"{where}[{i}]") for i, v in enumerate(value)]
            if increasing and any(b <= a for a, b in itertools.pairwise(items)):
                raise ValueError(f"{where} must be strictly increasing, got {items}")
            return items

        return check

    @staticmethod
    def number_list() -> Check:
        """A non-empty list of finite numbers."""
        item = checks.number()

        def check(value: Any, where: str) -> list[float]:
            if not isinstance(value, (list, tuple)) or not value:
                raise TypeError(f"{where} must be a non-empty list of numbers, got {value!r}")
            return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]

        return check

    @staticmethod
    def anything() -> Check:
        """Any value, unchanged (for arguments a :class:`Schedule`'s ``validate`` checks)."""
        return lambda value, where: value


# ---------------------------------------------------------------------------- ops
class _HostOps:
    """The functions a formula uses, on Python floats (the eager path)."""

    cos = staticmethod(math.cos)
    sin = staticmethod(math.sin)
    sqrt = staticmethod(math.sqrt)
    log = staticmethod(math.log)
    exp = staticmethod(math.exp)
    pi = math.pi

    @staticmethod
    def floor(x: float) -> float:
        return float(math.floor(x))

    @staticmethod
    def ceil(x: float) -> float:
        return float(math.ceil(x))

    @staticmethod
    def pow(base: float, exponent: float) -> float:
        try:
            return math.pow(base, exponent)
        except ZeroDivisionError:
            return math.inf
        except (OverflowError, ValueError):
            return math.inf if base > 0 or float(exponent).is_integer() else math.nan

    @staticmethod
    def where(cond: bool, a: float, b: float) -> float:
        return a if cond else b

    @staticmethod
    def minimum(x: float, y: float) -> float:
        return x if x <= y else y

    @staticmethod
    def maximum(x: float, y: float) -> float:
        return x if x >= y else y

    @staticmethod
    def clamp(x: float, lo: float, hi: float) -> float:
        return lo if x < lo else hi if x > hi else x

    @staticmethod
    def remainder(x: float, y: float) -> float:
        return x - y * math.floor(x / y)

    @staticmethod
    def count_le(values: Sequence[float], t: float) -> float:
        """How many of ``values`` are <= ``t``."""
        return float(sum(1 for v in values if v <= t))

    @staticmethod
    def take(values: Sequence[float], index: float) -> float:
        """``values[index]``, the last one for an index past the end."""
        return float(values[min(int(index), len(values) - 1)])

    @staticmethod
    def full(t: float, value: float) -> float:
        return float(value)


class _TensorOps:
    """The same functions on 0-d tensors (the traced path); numbers become tensors of
    the step's dtype and device."""

    pi = math.pi

    def __init__(self, t: torch.Tensor) -> None:
        self.t = t

    def _t(self, x: Any) -> torch.Tensor:
        return x if isinstance(x, torch.Tensor) else torch.full_like(self.t, x)

    def cos(self, x: Any) -> torch.Tensor:
        return torch.cos(self._t(x))

    def sin(self, x: Any) -> torch.Tensor:
        return torch.sin(self._t(x))

    def sqrt(self, x: Any) -> torch.Tensor:
        return torch.sqrt(self._t(x))

    def log(self, x: Any) -> torch.Tensor:
        return torch.log(self._t(x))

    def exp(self, x: Any) -> torch.Tensor:
        return torch.exp(self._t(x))

    def floor(self, x: Any) -> torch.Tensor:
        return torch.floor(self._t(x))

    def ceil(self, x: Any) -> torch.Tensor:
        return torch.ceil(self._t(x))

    def pow(self, base: Any, exponent: Any) -> torch.Tensor:
        return torch.pow(self._t(base), exponent)

    def where(self, cond: Any, a: Any, b: Any) -> torch.Tensor:
        return torch.where(cond, self._t(a), self._t(b))

    def minimum(self, x: Any, y: Any) -> torch.Tensor:
        if isinstance(y, torch.Tensor):
            return torch.minimum(self._t(x), y)
        return torch.clamp(self._t(x), max=y)

    def maximum(self, x: Any, y: Any) -> torch.Tensor:
        if isinstance(y, torch.Tensor):
            return torch.maximum(self._t(x), y)
        return torch.clamp(self._t(x), min=y)

    def clamp(self, x: Any, lo: float, hi: float) -> torch.Tensor:
        return torch.clamp(self._t(x), lo, hi)

    def remainder(self, x: Any, y: float) -> torch.Tensor:
        return torch.remainder(self._t(x), y)

    def count_le(self, values: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (values <= t).sum().to(t.dtype)

    def take(self, values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        i = index.to(torch.int64).clamp(max=values.numel() - 1).reshape(1)
        return values.index_select(0, i).reshape(()).to(self.t.dtype)

    def full(self, t: torch.Tensor, value: float) -> torch.Tensor:
        return torch.full_like(t, value)


_HOST = _HostOps()


def ops(t: Any) -> Any:
    """The math of a formula for step ``t``: Python floats for a number, tensor ops for
    a tensor.

    Functions: ``cos sin sqrt log exp floor ceil`` (one argument), ``pow(base,
    exponent)``, ``where(cond, a, b)``, ``minimum(x, y)``, ``maximum(x, y)``,
    ``clamp(x, lo, hi)``, ``remainder(x, y)``, ``count_le(values, t)`` (how many of
    ``values`` are <= ``t``), ``take(values, index)`` and ``full(t, value)``;
    the constant ``pi``. Sequence arguments (an :class:`Arg` with ``tensor=``) arrive
    as lists on the host and as tensors on the traced path.
    """
    return _TensorOps(t) if isinstance(t, torch.Tensor) else _HOST


# ---------------------------------------------------------------------------- Arg / Schedule
@dataclass(frozen=True)
class Arg:
    """One argument of a schedule.

    Args:
        name: the generic name (``initial_val``): the name in the WD and any-key classes.
        check: the validator (see :class:`checks`).
        default: the default, or :data:`REQUIRED`.
        param: the formula's parameter name, when it differs from ``name``.
        lr_name: the name in the LR class (``initial_learning_rate``), when it differs.
        doc: one line for the Args section of the generated docstrings.
        annotation: the type shown in the signature, as source text evaluated when the
            class is made (``"float"``, ``"int | None"``, ``"Sequence[int]"``, ``"Any"``).
        tensor: for a list argument the formula indexes: the dtype of the tensor it
            becomes on the traced path (``torch.int64`` for steps, ``"compute"`` for
            values); ``None`` otherwise.
    """

    name: str
    check: Check
    default: Any = REQUIRED
    param: str | None = None
    lr_name: str | None = None
    doc: str = ""
    annotation: str = ""
    tensor: Any = None

    @property
    def formula_name(self) -> str:
        return self.param or self.name

    def public_name(self, binding: str) -> str:
        return self.lr_name if binding == "lr" and self.lr_name else self.name


class Bindings(NamedTuple):
    """The three classes of a schedule."""

    lr: type
    wd: type
    generic: type


@dataclass(frozen=True)
class Schedule:
    """A schedule shape, written once; :meth:`classes` derives its scheduler classes.

    Args:
        name: the shape's name (``"CosineDecay"``): the classes are ``<name>LR``,
            ``<name>WD`` and ``<name>Scheduler`` unless ``lr_name`` / ``wd_name`` /
            ``generic_name`` say otherwise.
        formula: ``formula(t, **args) -> value``, a pure function of the step written
            with :func:`ops` (it receives a float on the eager path, a tensor on the
            traced one). Its docstring is the shape's documentation.
        args: the arguments, in signature order (after ``optimizer`` and, for the
            any-key class, ``param_group_key``).
        summary: a one-line description (the registry lists it).
        total_iters: the schedule's duration: the formula name of an argument, a
            function of the checked arguments, or ``None`` (no duration; the shape
            cannot be followed in a ``SequentialLR``).
        validate: ``validate(args, name_of)`` for checks across arguments; ``args``
            maps formula names to checked values, ``name_of(formula_name)`` gives the
            name the caller used, for the message. Raise ``ValueError``.
        constants: values passed to the formula and saved in the state dict that are
            not arguments (``LinearLR`` saves ``power=1.0``).
        host: ``False`` if the formula cannot run on floats (it calls user code that
            expects tensors): every step then takes the traced path.
        last_epoch: whether the classes take ``last_epoch`` (before ``param_group_tags``).
        lr_aliases: other names the registry accepts for the LR class.
        lr_summary, wd_summary: the first line of the LR / WD class docstrings.
    """

    name: str
    formula: Callable[..., Any]
    args: Sequence[Arg]
    summary: str
    total_iters: str | Callable[[Mapping[str, Any]], int | None] | None = None
    validate: Callable[[dict[str, Any], Callable[[str], str]], None] | None = None
    constants: Mapping[str, Any] = field(default_factory=dict)
    host: bool = True
    last_epoch: bool = False
    lr_name: str | None = None
    wd_name: str | None = None
    generic_name: str | None = None
    lr_aliases: tuple[str, ...] = ()
    lr_summary: str | None = None
    wd_summary: str | None = None
    base: type | None = None

    @property
    def names(self) -> tuple[str, str, str]:
        """The class names ``(LR, WD, any-key)``."""
        return (
            self.lr_name or f"{self.name}LR",
            self.wd_name or f"{self.name}WD",
            self.generic_name or f"{self.name}Scheduler",
        )

    def classes(self, module: str) -> Bindings:
        """The LR, WD and any-key classes of this shape, defined in ``module`` (pass
        ``__name__``): assign them to module-level names so that they pickle and the
        registry can name them as ``"module:Class"``."""
        if "_bindings" in self.__dict__:
            raise RuntimeError(f"the classes of Schedule {self.name!r} exist already")
        generic = _bind(self, "generic", module, (self.base or ScheduleScheduler,), None)
        lr = _bind(self, "lr", module, (generic, LRScheduler), "lr")
        wd = _bind(self, "wd", module, (generic, WeightDecayScheduler), "weight_decay")
        bindings = Bindings(lr, wd, generic)
        object.__setattr__(self, "_bindings", bindings)
        return bindings

    @property
    def bindings(self) -> Bindings:
        """The classes :meth:`classes` made."""
        try:
            return self.__dict__["_bindings"]  # type: ignore[no-any-return]
        except KeyError:
            raise RuntimeError(f"call Schedule {self.name!r}.classes(__name__) first") from None

    def duration(self, args: Mapping[str, Any]) -> int | None:
        if self.total_iters is None:
            return None
        if isinstance(self.total_iters, str):
            return args[self.total_iters]  # type: ignore[no-any-return]
        return self.total_iters(args)


# ---------------------------------------------------------------------------- the base class
class ScheduleScheduler(Scheduler):
    """The base of the classes :meth:`Schedule.classes` derives.

    The hyperparameters live in one dict, ``self._args`` (formula names), behind
    properties named as the class's arguments (and, on an LR class, the generic
    names as aliases: ``initial_val`` is ``initial_learning_rate``).
    """

    schedule: ClassVar[Schedule]
    """The shape this class binds."""

    binding: ClassVar[str] = "generic"
    """``"lr"``, ``"wd"`` or ``"generic"``: which names the arguments take."""

    _host_form = True
    _formula: Callable[..., Any]
    _args: dict[str, Any]
    _tensor_cache: dict[tuple[Any, ...], torch.Tensor]
    """List arguments as tensors, by (name, dtype, values, device): built once, outside
    any captured or compiled region (a plain attribute: Dynamo before 2.12 cannot trace
    ``self.__dict__.setdefault``)."""
    _param_group_key: str

    def __init__(self, optimizer: Optimizer, param_group_key: str, **kwargs: Any) -> None:
        # The generated constructors call _construct; this signature documents the
        # generic form for readers of the base class.
        _construct(self, optimizer, param_group_key, kwargs, kwargs.pop("param_group_tags", None))

    @property
    def param_group_key(self) -> str:
        return self._param_group_key

    def _arg_name(self, formula_name: str) -> str:
        """The name the caller used for the argument ``formula_name``."""
        for arg in self.schedule.args:
            if arg.formula_name == formula_name:
                return arg.public_name(self.binding)
        return formula_name

    def _value_host(self, step: int) -> float:
        try:
            return float(self._formula(float(step), **self._args))
        except ZeroDivisionError:  # a pole: tensor ops give inf there too
            return math.inf

    def _value_tensor(self, step: torch.Tensor) -> torch.Tensor:
        t = step.to(self.compute_dtype)
        return self.schedule.formula(t, **self._tensor_args())  # type: ignore[no-any-return]

    def _get_closed_form(self) -> torch.Tensor:
        return self._value_tensor(self.last_epoch)

    def _tensor_args(self) -> dict[str, Any]:
        """The formula's arguments, with list arguments as tensors on the device
        (cached: built once, outside any captured or compiled region)."""
        out = dict(self._args)
        cache = self._tensor_cache
        device = self._epoch_t.device
        for arg in self.schedule.args:
            if arg.tensor is None:
                continue
            value = out[arg.formula_name]
            dtype = self.compute_dtype if arg.tensor == "compute" else arg.tensor
            key = (arg.formula_name, dtype, tuple(value), device)
            if key not in cache:
                cache[key] = torch.tensor(value, dtype=dtype, device=device)
            out[arg.formula_name] = cache[key]
        return out

    def hyperparameter_names(self) -> tuple[str, ...]:
        names = [a.public_name(self.binding) for a in self.schedule.args if a.name != "total_iters"]
        return (*names, *self.schedule.constants)

    def _check_hyperparameters(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Validate every saved argument with its :class:`Arg` check, and the
        combination with the schedule's ``validate``: nothing is set on failure."""
        prefix = f"{type(self).__name__}.load_state_dict:"
        args = dict(self._args)
        settings: dict[str, Any] = {}
        for arg in self.schedule.args:
            public = arg.public_name(self.binding)
            if public in state_dict:
                value = arg.check(state_dict[public], f"{prefix} {public}")
                args[arg.formula_name] = value
                settings[public] = value
        for name in self.schedule.constants:
            if name in state_dict:
                value = checks.number()(state_dict[name], f"{prefix} {name}")
                if value != self.schedule.constants[name]:
                    raise ValueError(
                        f"{prefix} {name} is fixed at {self.schedule.constants[name]!r} in "
                        f"{type(self).__name__}, got {value!r}"
                    )
        if self.schedule.validate is not None:
            self.schedule.validate(args, lambda n: f"{prefix} {self._arg_name(n)}")
        _check_finite(self, args, prefix, self.optimizer, self._matching_indices())
        return settings

    def _prepare_load(self, state_dict: Any, write: bool = True) -> Callable[[], None]:
        apply = super()._prepare_load(state_dict, write)

        def apply_and_forget_tensors() -> None:
            self._tensor_cache = {}
            apply()

        return apply_and_forget_tensors


def _args_property(formula_name: str, doc: str) -> property:
    def fget(self: ScheduleScheduler) -> Any:
        return self._args[formula_name]

    def fset(self: ScheduleScheduler, value: Any) -> None:
        self._args[formula_name] = value

    return property(fget, fset, doc=doc)


def _check_finite(
    scheduler: ScheduleScheduler,
    args: dict[str, Any],
    prefix: str,
    optimizer: Any = None,
    groups: Sequence[int] = (),
) -> None:
    """The closed form must be finite in float32 (and >= 0 for lr / weight_decay) at the
    steps that decide it: the first 128 steps, a grid of 256 steps up to the duration or
    10**4 steps (whichever is longer) and the steps around the end of the duration.
    (The shapes are monotone or periodic between those points, so their extrema are
    among them; a schedule that grows without end is checked over its first 10**4
    steps.) Its smallest and largest values must also be accepted by ``optimizer``'s
    declared bounds for the key in each param group of ``groups``
    (:meth:`~waferopt.core.Optimizer.check_scheduled_value`: ``momentum``,
    ``betas[0]`` in [0, 1) ...)."""
    if not scheduler.schedule.host:
        return
    steps = decisive_steps(scheduler.schedule.duration(args))
    key = getattr(scheduler, "_param_group_key", None)
    sign = key in ("lr", "weight_decay")
    f32_max = 3.4028234663852886e38
    check = ", ".join(scheduler._arg_name(n) for n in args)
    low = (math.inf, 0)
    high = (-math.inf, 0)
    for step in steps:
        try:
            value = float(scheduler.schedule.formula(float(step), **args))
        except ZeroDivisionError:
            value = math.inf
        if not math.isfinite(value) or abs(value) > f32_max:
            raise ValueError(
                f"{prefix} the schedule is not finite in float32 at step {step} "
                f"({value!r}); check {check}"
            )
        if sign and value < 0:
            raise ValueError(
                f"{prefix} the schedule gives a negative {key} ({value!r}) at step {step}; "
                f"check {check}"
            )
        if value < low[0]:
            low = (value, step)
        if value > high[0]:
            high = (value, step)
    bound = getattr(optimizer, "check_scheduled_value", None)
    if bound is None or key is None:
        return
    for index in groups:
        for value, step in dict.fromkeys((low, high)):
            try:
                bound(index, key, value)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"{prefix} the schedule gives {key} {value!r} at step {step}, which the "
                    f"optimizer does not accept in param group {index} ({exc}); check {check}"
                ) from None


def _construct(
    self: ScheduleScheduler,
    optimizer: Optimizer,
    param_group_key: Any,
    given: Mapping[str, Any],
    param_group_tags: Any,
    last_epoch: int = -1,
) -> None:
    """What every generated constructor does: check the arguments (naming them as the
    caller did), store them, run the base constructor (which writes the value at the
    current step)."""
    cls_name = type(self).__name__
    if not isinstance(param_group_key, str):
        raise TypeError(
            f"{cls_name}: param_group_key must be a str such as 'lr', 'momentum' "
            f"or 'betas[0]', got {type(param_group_key).__name__} {param_group_key!r}"
        )
    schedule = self.schedule
    args: dict[str, Any] = {}
    for arg in schedule.args:
        public = arg.public_name(self.binding)
        args[arg.formula_name] = arg.check(given[public], f"{cls_name}: {public}")
    args.update(schedule.constants)
    if schedule.validate is not None:
        schedule.validate(args, lambda n: f"{cls_name}: {self._arg_name(n)}")
    self._param_group_key = param_group_key
    self._formula = schedule.formula
    self._args = args
    self._tensor_cache = {}
    groups: list[int] = []
    if isinstance(optimizer, Optimizer):  # else Scheduler.__init__ says what is wrong
        tags = normalize_tags(param_group_tags)
        groups = [i for i, g in enumerate(optimizer.param_groups) if group_matches(tags, g)]
    _check_finite(self, args, f"{cls_name}:", optimizer, groups)
    total = schedule.duration(args)
    Scheduler.__init__(
        self, optimizer, total, last_epoch=last_epoch, param_group_tags=param_group_tags
    )


def _bind(
    schedule: Schedule, binding: str, module: str, bases: tuple[type, ...], key: str | None
) -> type:
    """One class of ``schedule``: a generated ``__init__`` with the real signature,
    properties for the arguments, and a docstring built from the formula's."""
    lr_name, wd_name, generic_name = schedule.names
    name = {"lr": lr_name, "wd": wd_name, "generic": generic_name}[binding]
    params = ["self", "optimizer: Optimizer"]
    if key is None:
        params.append("param_group_key: str")
    defaults: dict[str, Any] = {}
    given = []
    for i, arg in enumerate(schedule.args):
        public = arg.public_name(binding)
        annotation = f": {arg.annotation}" if arg.annotation else ""
        if arg.default is REQUIRED:
            params.append(f"{public}{annotation}")
        else:
            defaults[f"_default_{i}"] = arg.default
            params.append(f"{public}{annotation} = _default_{i}")
        given.append(f"{public!r}: {public}")
    if schedule.last_epoch:
        params.append("last_epoch: int = -1")
    params.append("param_group_tags: Any = None")
    key_expr = repr(key) if key is not None else "param_group_key"
    last = ", last_epoch" if schedule.last_epoch else ""
    source = (
        f"def __init__({', '.join(params)}) -> None:\n"
        f"    _construct(self, optimizer, {key_expr}, {{{', '.join(given)}}}, "
        f"param_group_tags{last})\n"
    )
    namespace: dict[str, Any] = {
        "_construct": _construct,
        "Optimizer": Optimizer,
        "Any": Any,
        "Sequence": Sequence,
        "Callable": Callable,
        **defaults,
    }
    # dont_inherit: this module's `from __future__ import annotations` would turn the
    # annotations into strings.
    exec(compile(source, f"<{name}>", "exec", dont_inherit=True), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{name}.__init__"
    init.__module__ = module
    body: dict[str, Any] = {
        "__init__": init,
        "__module__": module,
        "__doc__": _docstring(schedule, binding, name, key),
        "schedule": schedule,
        "binding": binding,
        "_host_form": schedule.host,
        "argument_aliases": {
            a.name: a.lr_name for a in schedule.args if binding == "lr" and a.lr_name
        },
    }
    for arg in schedule.args:
        if arg.name == "total_iters":
            continue  # Scheduler.total_iters is the attribute itself
        doc = arg.doc or f"The argument ``{arg.public_name(binding)}``."
        body[arg.public_name(binding)] = _args_property(arg.formula_name, doc)
        if binding == "lr" and arg.lr_name:
            body[arg.name] = _args_property(arg.formula_name, f"Alias of ``{arg.lr_name}``.")
    for constant in schedule.constants:
        body[constant] = _args_property(constant, f"Fixed at ``{schedule.constants[constant]}``.")
    if any(a.name == "total_iters" for a in schedule.args):
        body["total_iters"] = _args_property("total_iters", "The duration in steps.")
    return type(name, bases, body)


_KEY_DOC = {
    "lr": "the learning rate",
    "wd": "the weight decay",
    "generic": "any param-group key",
}


def _docstring(schedule: Schedule, binding: str, name: str, key: str | None) -> str:
    summary = {"lr": schedule.lr_summary, "wd": schedule.wd_summary}.get(binding)
    if not summary:
        summary = schedule.summary
        if binding != "generic":
            summary = f"{summary.rstrip('.')} ({_KEY_DOC[binding]})."
    formula_doc = inspect.cleandoc(schedule.formula.__doc__ or "")
    body = "\n".join(formula_doc.splitlines()[1:]).strip()
    lines = [summary, ""]
    if body:
        lines += [body, ""]
    lines.append("Args:")
    lines.append("    optimizer: the waferopt optimizer to schedule.")
    if key is None:
        lines.append(
            '    param_group_key: the group key to drive (``"lr"``, ``"momentum"``, '
            '``"betas[0]"``).'
        )
    for arg in schedule.args:
        public = arg.public_name(binding)
        default = "" if arg.default is REQUIRED else f" Default: ``{arg.default!r}``."
        lines.append(f"    {public}: {arg.doc or 'see the formula.'}{default}")
    if schedule.last_epoch:
        lines.append("    last_epoch: the step before the first one (-1 starts at step 0).")
    lines.append(
        "    param_group_tags: apply only to param groups whose ``tags`` intersect these "
        "(a tag or a collection of tags); ``None`` applies to every group."
    )
    lines += [
        "",
        f"Formula: :func:`{schedule.formula.__module__}.{schedule.formula.__name__}`; "
        f"defined once by :class:`waferopt.core.schedule.Schedule` ``{schedule.name}``.",
    ]
    return "\n".join(lines)


def evaluate(scheduler: Scheduler, step: Any) -> Any:
    """The value of ``scheduler`` at ``step`` without changing it: a float for an int
    step (where the scheduler has a host form), a tensor for a tensor step."""
    if isinstance(step, torch.Tensor):
        return scheduler._value_tensor(step)
    return scheduler._value_host(int(step))
