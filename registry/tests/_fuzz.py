"""Generated configurations, valid and invalid, for the property-based tests.

Each generator returns a :class:`Case`: the configuration and, for an invalid one,
the fault planted in it (what is wrong, and the key path the error must name). A
valid configuration is drawn from the documented ranges of each argument; an
invalid one is a valid one with exactly one fault, so that the error expected is
known. Faults that are not caught today, in code other than the ``configure_*``
layer, are listed in ``test_properties.KNOWN_GAPS`` and left out of the draws (each
is an ``xfail(strict=True)`` test of its own there).
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from hypothesis import strategies as st

# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Fault:
    """One planted problem.

    Attributes:
        kind: a short label (``"negative"``, ``"nan"``, ``"text"`` ...).
        key: the argument it is planted in (for the known-gaps table).
        path: fragments the error message must contain (the key path).
    """

    kind: str
    key: str
    path: tuple[str, ...]


@dataclass
class Case:
    """A generated configuration; ``fault`` is None for a valid one."""

    config: Any
    fault: Fault | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN and tensors compare by value, dtype and device."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.device == b.device
            and bool(torch.equal(a, b) or torch.allclose(a, b, rtol=0, atol=0, equal_nan=True))
        )
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (set, frozenset)):
        return a == b
    return bool(a == b)


def snapshot_optimizer(optimizer: torch.optim.Optimizer) -> Any:
    """Every value the optimizer holds: param groups (params by value), state, params."""
    groups = [
        {
            k: ([p.detach().clone() for p in v] if k == "params" else copy.deepcopy(v))
            for k, v in g.items()
        }
        for g in optimizer.param_groups
    ]
    state = {
        i: copy.deepcopy(dict(optimizer.state.get(p, {})))
        for i, p in enumerate(p for g in optimizer.param_groups for p in g["params"])
    }
    return groups, state


# ---------------------------------------------------------------------------- values


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _number_like(strategy: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    """A float, sometimes written as YAML writes it (a numeric string ``"1e-05"``)."""
    return st.one_of(
        strategy, strategy.map(lambda x: f"{x:.3e}"), strategy.map(lambda x: f"{x:.6g}")
    )


# Ranges every first-party optimizer accepts for its arguments (torch.optim's and the
# spec's: betas in [0, 1), non-negative rates, eps > 0 ...).
OPTIMIZER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "lr": _floats(0.0, 0.05),
    "weight_decay": _floats(0.0, 0.1),
    "momentum": _floats(0.0, 0.95),
    "dampening": _floats(0.0, 0.9),
    "nesterov": st.booleans(),
    "maximize": st.booleans(),
    "betas": st.tuples(_floats(0.0, 0.95), _floats(0.0, 0.999)),
    "eps": _floats(1e-10, 1e-3),
    "amsgrad": st.booleans(),
    "correct_bias": st.booleans(),
    "lambd": _floats(0.0, 1e-3),
    "alpha": _floats(0.5, 0.99),
    "t0": _floats(0.0, 1e6),
    "rho": _floats(0.0, 0.99),
    "lr_decay": _floats(0.0, 0.1),
    "initial_accumulator_value": _floats(0.0, 1.0),
    "momentum_decay": _floats(0.0, 0.01),
    "centered": st.booleans(),
    "adam": st.booleans(),
    "etas": st.tuples(_floats(0.1, 0.9), _floats(1.1, 2.0)),
    "step_sizes": st.tuples(_floats(1e-6, 1e-3), _floats(1.0, 50.0)),
    "decay_rate": _floats(-1.0, -0.1),
    "scale_parameter": st.booleans(),
    "l2_regularization_rate": _floats(0.0, 0.1),
}
OPTIMIZER_OVERRIDES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "Adafactor": {"eps": st.tuples(_floats(1e-30, 1e-20), _floats(1e-4, 1e-2))},
}
NUMERIC_KEYS = frozenset(
    {
        "lr",
        "weight_decay",
        "momentum",
        "dampening",
        "eps",
        "lambd",
        "alpha",
        "t0",
        "rho",
        "lr_decay",
        "initial_accumulator_value",
        "momentum_decay",
        "decay_rate",
        "l2_regularization_rate",
    }
)
NON_NEGATIVE_KEYS = NUMERIC_KEYS - {"decay_rate"}
PAIR_KEYS = frozenset({"betas", "etas", "step_sizes"})
FIRST_PARTY = (
    "SGD",
    "ASGD",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "Lamb",
    "Adadelta",
    "Adagrad",
    "Adafactor",
    "RMSprop",
    "Lion",
    "Rprop",
)
"""The 14 first-party optimizers (AdamBase, the concrete base of Adam/AdamW, is not a
config name Model Zoo uses)."""

FLOAT32_MAX = float(torch.finfo(torch.float32).max)
TOO_BIG_FOR_FLOAT32 = 3.4028235677973366e38  # finite in float64, inf in float32


def optimizer_faults(name: str, keys: list[str]) -> list[tuple[str, str, Any]]:
    """``(kind, key, bad value)`` for every argument of optimizer ``name``."""
    faults: list[tuple[str, str, Any]] = []
    for key in keys:
        if key in NUMERIC_KEYS and not (key == "eps" and name == "Adafactor"):
            if key in NON_NEGATIVE_KEYS:
                faults.append(("negative", key, -0.5))
            faults += [
                ("nan", key, math.nan),
                ("inf", key, math.inf),
                ("text", key, "fast"),
                ("float32-overflow", key, TOO_BIG_FOR_FLOAT32),
            ]
            if key != "lr":  # a dict or list learning rate is a schedule
                faults.append(("mapping", key, {"value": 0.1}))
        if key == "betas":
            faults += [
                ("beta-above-1", key, (1.5, 0.999)),
                ("beta-negative", key, (0.9, -0.1)),
                ("beta-nan", key, (math.nan, 0.999)),
                ("pair-length", key, (0.9,)),
                ("text", key, "fast"),
            ]
        if key in ("etas", "step_sizes"):
            faults += [("pair-length", key, (0.5,)), ("text", key, "fast")]
        if key == "eps" and name == "Adafactor":
            faults += [("pair-length", key, (1e-30,)), ("text", key, "fast")]
    return faults


def optimizer_keys(cls: type) -> list[str]:
    """The arguments of an optimizer class that the draws vary (not keyword-only flags)."""
    signature = inspect.signature(cls).parameters
    return [
        k
        for k, p in signature.items()
        if k in OPTIMIZER_VALUES and p.kind is not inspect.Parameter.KEYWORD_ONLY
    ]


SPELLINGS = {
    "lr": ("learning_rate",),
    "betas": ("beta1", "beta2"),
    "weight_decay": ("weight_decay_rate",),
}
"""Other names the drawn configs may give an argument (Model Zoo's, the 1.x ones)."""


@st.composite
def optimizer_case(draw: Callable, classes: Mapping[str, type], faults_left_out: set) -> Case:
    """``(name, kwargs)`` for ``configure_optimizer``, with at most one fault."""
    name = draw(st.sampled_from(FIRST_PARTY))
    cls = classes[name]
    signature = inspect.signature(cls).parameters
    keys = optimizer_keys(cls)
    overrides = OPTIMIZER_OVERRIDES.get(name, {})
    values = {**OPTIMIZER_VALUES, **overrides}
    kwargs: dict[str, Any] = {}
    for key in keys:
        required = signature[key].default is inspect.Parameter.empty
        if required or draw(st.booleans()):
            strategy = values[key]
            numeric = key in NUMERIC_KEYS and key not in overrides
            kwargs[key] = draw(_number_like(strategy) if numeric else strategy)
    if kwargs.get("nesterov"):
        kwargs["dampening"] = 0.0
        kwargs["momentum"] = 0.5
    # Model Zoo spellings: learning_rate for lr, 1.x names, trainer keys, unknown keys.
    if "lr" in kwargs and draw(st.booleans()):
        kwargs["learning_rate"] = kwargs.pop("lr")
    if "betas" in kwargs and draw(st.integers(0, 3)) == 0:
        beta1, beta2 = kwargs.pop("betas")
        kwargs.update(beta1=beta1, beta2=beta2)
    if "weight_decay" in kwargs and draw(st.integers(0, 3)) == 0:
        kwargs["weight_decay_rate"] = kwargs.pop("weight_decay")
    if draw(st.integers(0, 3)) == 0:
        kwargs["max_gradient_norm"] = 1.0
    if draw(st.integers(0, 5)) == 0:
        kwargs["some_trainer_setting"] = "x"
    spelled = draw(st.sampled_from([name, name.lower(), name.upper()]))

    fault = None
    candidates = [
        f for f in optimizer_faults(name, keys) if (name, f[1], f[0]) not in faults_left_out
    ]
    if candidates and draw(st.booleans()):
        kind, key, bad = draw(st.sampled_from(candidates))
        for spelling in (key, *SPELLINGS.get(key, ())):
            kwargs.pop(spelling, None)
        kwargs[key] = bad
        fault = Fault(kind, key, (key,))
    elif draw(st.integers(0, 7)) == 0:
        kind = draw(st.sampled_from(["unknown-name", "both-lr", "bool-lr", "both-betas"]))
        if kind == "unknown-name":
            spelled = name + "Typo"
            fault = Fault(kind, "optimizer_type", (spelled,))
        elif kind == "both-lr":
            kwargs.update(lr=0.01, learning_rate=0.01)
            fault = Fault(kind, "learning_rate", ("learning_rate", "lr"))
        elif kind == "bool-lr":
            kwargs.pop("lr", None)
            kwargs["learning_rate"] = True
            fault = Fault(kind, "learning_rate", ("learning_rate",))
        elif "betas" in keys:
            kwargs.pop("betas", None)
            kwargs.update(beta1=0.9, betas=(0.9, 0.99))
            fault = Fault(kind, "betas", ("betas", "beta1"))
    return Case((spelled, kwargs), fault, {"name": name})


# ---------------------------------------------------------------------------- schedules
# Each shape: its arguments under the generic names (initial_val, end_val, val, vals,
# base_val, max_val), and whether it has a duration (a non-last member of a sequence
# needs total_iters).


def _value(draw: Callable) -> float:
    return draw(_floats(0.0, 0.05))


def _steps(draw: Callable, lo: int = 1, hi: int = 12) -> int:
    return draw(st.integers(lo, hi))


def _shape_args(draw: Callable, shape: str) -> dict[str, Any]:
    v = lambda: _value(draw)  # noqa: E731
    if shape == "Constant":
        return {"val": v(), "total_iters": _steps(draw)}
    if shape in ("Linear", "CosineDecay"):
        return {"initial_val": v(), "end_val": v(), "total_iters": _steps(draw)}
    if shape == "Polynomial":
        return {
            "initial_val": v(),
            "end_val": v(),
            "total_iters": _steps(draw),
            "power": draw(_floats(0.5, 3.0)),
        }
    if shape == "Exponential":
        return {
            "initial_val": v(),
            "total_iters": _steps(draw),
            "decay_rate": draw(_floats(0.1, 1.0)),
            "staircase": draw(st.booleans()),
        }
    if shape == "InverseExponentialTimeDecay":
        return {
            "initial_val": v(),
            "step_exponent": draw(_floats(0.5, 2.0)),
            "total_iters": _steps(draw),
            "decay_rate": draw(_floats(0.0, 1.0)),
        }
    if shape == "InverseSquareRootDecay":
        return {"initial_val": v(), "scale": draw(_floats(0.1, 2.0)), "warmup_steps": _steps(draw)}
    if shape == "Step":
        return {"initial_val": v(), "step_size": _steps(draw), "gamma": draw(_floats(0.1, 1.0))}
    if shape == "MultiStep":
        milestones = sorted(draw(st.sets(st.integers(1, 20), min_size=1, max_size=3)))
        return {"initial_val": v(), "gamma": draw(_floats(0.1, 1.0)), "milestones": milestones}
    if shape == "CosineAnnealing":
        return {"initial_val": v(), "T_max": _steps(draw), "eta_min": v()}
    if shape == "CosineAnnealingWarmRestarts":
        return {"initial_val": v(), "T_0": _steps(draw), "T_mult": draw(st.integers(1, 3))}
    if shape == "Multiplicative":
        return {"initial_val": v(), "coefficient": draw(_floats(0.5, 1.0))}
    if shape == "Cyclic":
        low = v()
        return {
            "base_val": low,
            "max_val": low + v(),
            "step_size_up": _steps(draw),
            "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        }
    if shape == "OneCycle":
        return {
            "initial_val": v(),
            "max_val": v() + 0.01,
            "total_steps": _steps(draw, 10, 40),
            "pct_start": draw(_floats(0.2, 0.5)),
            "anneal_strategy": draw(st.sampled_from(["cos", "linear"])),
            "three_phase": draw(st.booleans()),
        }
    if shape == "PiecewiseConstant":
        milestones = sorted(draw(st.sets(st.integers(1, 20), min_size=1, max_size=3)))
        return {"vals": [v() for _ in range(len(milestones) + 1)], "milestones": milestones}
    raise AssertionError(shape)


SHAPES = (
    "Constant",
    "Linear",
    "Polynomial",
    "CosineDecay",
    "Exponential",
    "InverseExponentialTimeDecay",
    "InverseSquareRootDecay",
    "Step",
    "MultiStep",
    "CosineAnnealing",
    "CosineAnnealingWarmRestarts",
    "Multiplicative",
    "Cyclic",
    "OneCycle",
    "PiecewiseConstant",
)
WITH_DURATION = frozenset(
    {
        "Constant",
        "Linear",
        "Polynomial",
        "CosineDecay",
        "Exponential",
        "InverseExponentialTimeDecay",
        "OneCycle",
    }
)
VALUE_ARGS = ("initial_val", "end_val", "val", "base_val", "max_val")
_LR_NAMES = {
    "initial_val": "initial_learning_rate",
    "end_val": "end_learning_rate",
    "val": "learning_rate",
    "vals": "learning_rates",
    "base_val": "base_lr",
    "max_val": "max_lr",
}


def class_name(shape: str, binding: str) -> str:
    """``("CosineDecay", "lr")`` is ``"CosineDecayLR"``; ``"wd"`` gives ``*WD``."""
    if binding == "lr":
        return shape if shape == "CosineAnnealingWarmRestarts" else f"{shape}LR"
    if binding == "wd":
        return f"{shape}WD"
    return f"{shape}Scheduler"


def arg_name(arg: str, binding: str) -> str:
    """The argument's name in a binding: the LR classes rename the generic ones."""
    return _LR_NAMES.get(arg, arg) if binding == "lr" else arg


def schedule_faults(shape: str) -> list[tuple[str, str, Any]]:
    """``(kind, generic argument, bad value)`` for one shape's arguments (None = remove)."""
    faults: list[tuple[str, str, Any]] = [("unknown-key", "bogus_key", 1)]
    count = "total_iters" if shape != "OneCycle" else "total_steps"
    if shape in WITH_DURATION or shape == "OneCycle":
        faults += [
            ("negative-steps", count, -3),
            ("fractional-steps", count, 2.5),
            ("text", count, "ten"),
        ]
    value = next(
        a for a in ("initial_val", "val", "base_val", "vals") if a in _SIGNATURE_HINTS[shape]
    )
    value_divided = shape == "InverseSquareRootDecay"
    if value == "vals":
        faults += [("text", "vals", ["fast", 0.1]), ("missing", "vals", None)]
    else:
        if shape != "InverseSquareRootDecay":  # its initial_val has a default
            faults.append(("missing", value, None))
        faults += [
            ("text", value, "fast"),
            ("nan", value, math.nan),
            ("inf", value, math.inf),
            ("negative-value", value, -0.5),
            # InverseSquareRootDecay divides by sqrt(warmup_steps) >= 1 from step 0 on
            ("float32-overflow", value, TOO_BIG_FOR_FLOAT32 * (1e2 if value_divided else 1)),
        ]
    return faults


_SIGNATURE_HINTS = {
    "Constant": ("val",),
    "PiecewiseConstant": ("vals",),
    "Cyclic": ("base_val",),
}
for _shape in SHAPES:
    _SIGNATURE_HINTS.setdefault(_shape, ("initial_val",))


def plant(args: dict[str, Any], arg: str, bad: Any) -> None:
    if bad is None:
        args.pop(arg, None)
    else:
        args[arg] = bad


def _spelling(draw: Callable, name: str, lr_suffix: bool) -> str:
    """A case-insensitive spelling; ``lr_suffix``: the ``LR`` suffix may be left out."""
    options = [name, name.lower()]
    if lr_suffix and name.endswith("LR"):
        options += [name[:-2], name[:-2].lower()]
    return draw(st.sampled_from(options))


@st.composite
def _lr_item(draw: Callable, shape: str) -> dict[str, Any]:
    args = _shape_args(draw, shape)
    item: dict[str, Any] = {"scheduler": _spelling(draw, class_name(shape, "lr"), True)}
    item.update({arg_name(k, "lr"): v for k, v in args.items()})
    if "total_iters" in item and draw(st.integers(0, 4)) == 0:
        item["steps"] = item.pop("total_iters")  # a 1.x name
    return item


FACTOR_SHAPES = tuple(s for s in SHAPES if s not in ("Constant", "Cyclic", "PiecewiseConstant"))
"""Shapes that can be a non-first member of a chained schedule (they have initial_val)."""


@st.composite
def lr_case(draw: Callable, faults_left_out: set, allow_fault: bool = True) -> Case:
    """A ``learning_rate`` value for ``configure_lr_scheduler``, with at most one fault."""
    form = draw(st.sampled_from(["number", "dict", "sequential", "chained"]))
    if form == "number":
        value = draw(_floats(1e-6, 0.05))
        return Case(draw(st.sampled_from([value, f"{value:.3e}", 1])))
    if form == "dict":
        shapes = [draw(st.sampled_from(SHAPES))]
    elif form == "sequential":
        count = draw(st.integers(2, 3))
        shapes = [draw(st.sampled_from(sorted(WITH_DURATION))) for _ in range(count - 1)]
        shapes.append(draw(st.sampled_from(SHAPES)))
    else:
        shapes = [draw(st.sampled_from(SHAPES))]
        shapes += [draw(st.sampled_from(FACTOR_SHAPES)) for _ in range(draw(st.integers(1, 2)))]
    items = [draw(_lr_item(shape)) for shape in shapes]
    if form == "chained":
        for item in items[1:]:
            item["initial_learning_rate"] = draw(_floats(0.001, 0.05))
        items[draw(st.integers(0, len(items) - 1))]["main_scheduler"] = draw(
            st.sampled_from(["ChainedLR", "chained"])
        )
    paths = (
        ["learning_rate"] if form == "dict" else [f"learning_rate[{i}]" for i in range(len(items))]
    )

    fault = None
    index = draw(st.integers(0, len(items) - 1))
    shape, item, path = shapes[index], items[index], paths[index]
    candidates = [
        f
        for f in schedule_faults(shape)
        if (class_name(shape, "lr"), arg_name(f[1], "lr"), f[0]) not in faults_left_out
        and not (f[0] == "missing" and form == "chained" and index > 0)
    ]
    roll = draw(st.integers(0, 3)) if allow_fault else 3
    if roll == 0 and candidates:
        kind, arg, bad = draw(st.sampled_from(candidates))
        name = arg_name(arg, "lr")
        if name == "total_iters":
            item.pop("steps", None)
        plant(item, name, bad)
        fault = Fault(kind, name, (path, name))
    elif roll == 1 and draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(["unknown-scheduler", "main-scheduler", "not-a-dict"]))
        if kind == "unknown-scheduler":
            item["scheduler"] = "CosineDecayy"
            fault = Fault(kind, "scheduler", (path, "scheduler", "CosineDecayy"))
        elif kind == "main-scheduler" and form != "dict":
            item["main_scheduler"] = "parallel"
            fault = Fault(kind, "main_scheduler", (path, "main_scheduler"))
        elif form != "dict":
            items[index] = "CosineDecayLR"
            fault = Fault(kind, "item", (path,))
    config: Any = items[0] if form == "dict" else items
    return Case(config, fault, {"form": form})


def gap_name(class_name: str, key: str | None) -> str:
    """The known-gaps name of a scheduler class: ``"ConstantScheduler[momentum]"`` for a
    generic scheduler driving a key other than lr and weight_decay."""
    return class_name if key in (None, "lr", "weight_decay") else f"{class_name}[{key}]"


@st.composite
def _named_leaf(draw: Callable, binding: str, key: str | None, shapes: tuple[str, ...] = SHAPES):
    shape = draw(st.sampled_from(shapes))
    args = {arg_name(k, binding): v for k, v in _shape_args(draw, shape).items()}
    if key is not None:
        args = {"param_group_key": key, **args}
    name = class_name(shape, binding)
    return shape, name, args


@st.composite
def named_case(
    draw: Callable,
    faults_left_out: set,
    allow_fault: bool = True,
    keys: tuple[str, ...] = ("lr", "weight_decay", "momentum"),
    tagged: bool = True,
) -> Case:
    """``{Name: {args}}`` for ``configure_scheduler``, with at most one fault.

    ``keys``: the keys a generic scheduler may drive; ``tagged``: whether the
    scheduler may carry ``param_group_tags: decay`` (the optimizer has such a group).
    """
    binding = draw(st.sampled_from(["lr", "wd", "generic"]))
    key = draw(st.sampled_from(keys)) if binding == "generic" else None
    form = draw(st.sampled_from(["plain", "sequential", "chained", "scaled"]))
    if binding == "wd" and form == "scaled":
        form = "plain"
    tags = draw(st.sampled_from([None, None, "decay", ["decay"]])) if tagged else None
    leaves = []
    if form == "plain":
        leaves = [draw(_named_leaf(binding, key))]
    elif form == "sequential":
        count = draw(st.integers(2, 3))
        leaves = [
            draw(_named_leaf(binding, key, tuple(sorted(WITH_DURATION)))) for _ in range(count - 1)
        ]
        leaves.append(draw(_named_leaf(binding, key)))
    elif form == "chained":
        leaves = [draw(_named_leaf(binding, key))]
        leaves += [
            draw(_named_leaf(binding, key, FACTOR_SHAPES)) for _ in range(draw(st.integers(1, 2)))
        ]
        for _, _, args in leaves[1:]:
            args[arg_name("initial_val", binding)] = draw(_floats(0.001, 0.05))
    else:
        leaves = [draw(_named_leaf(binding, key))]
    outer = {
        "sequential": {
            "lr": "SequentialLR",
            "wd": "SequentialWD",
            "generic": "SequentialScheduler",
        },
        "chained": {"lr": "ChainedLR", "wd": "ChainedWD", "generic": "ChainedGenericScheduler"},
        "scaled": {"lr": "ScalePerParamLR", "generic": "ScalePerParamScheduler"},
    }
    index = draw(st.integers(0, len(leaves) - 1))
    shape, leaf_name, leaf_args = leaves[index]
    if form == "plain":
        leaf_path = leaf_name
    elif form == "scaled":
        leaf_path = f"{outer[form][binding]}.scheduler.{leaf_name}"
    else:
        leaf_path = f"{outer[form][binding]}.schedulers[{index}].{leaf_name}"

    fault = None
    roll = draw(st.integers(0, 3)) if allow_fault else 3
    candidates = [
        f
        for f in schedule_faults(shape)
        if (gap_name(leaf_name, key), arg_name(f[1], binding), f[0]) not in faults_left_out
        and not (f[0] == "missing" and form == "chained" and index > 0)
    ]
    if roll == 0 and candidates:
        kind, arg, bad = draw(st.sampled_from(candidates))
        name = arg_name(arg, binding)
        plant(leaf_args, name, bad)
        fault = Fault(kind, name, (leaf_path, name))
    elif roll == 1 and draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(["unknown-scheduler", "tags-match-nothing", "wrong-key"]))
        if kind == "unknown-scheduler":
            leaves[index] = (shape, "CosineDecayy", leaf_args)
            fault = Fault(kind, "name", ("CosineDecayy",))
        elif kind == "tags-match-nothing":
            tags = "nomatch"
            fault = Fault(kind, "param_group_tags", ("param_group_tags", "nomatch"))
        elif binding == "generic":
            leaf_args["param_group_key"] = "no_such_key"
            fault = Fault(kind, "param_group_key", (leaf_path, "no_such_key"))

    specs = [{name: args} for _, name, args in leaves]
    if form == "plain":
        config = specs[0]
        if tags is not None:
            next(iter(config.values()))["param_group_tags"] = tags
    else:
        body: dict[str, Any] = (
            {"scheduler": specs[0]} if form == "scaled" else {"schedulers": specs}
        )
        if tags is not None:
            body["param_group_tags"] = tags
        config = {outer[form][binding]: body}
    return Case(config, fault, {"binding": binding, "key": key, "form": form})


_EXAMPLE_ARGS: dict[str, dict[str, Any]] = {
    "Constant": {"val": 0.01, "total_iters": 5},
    "Linear": {"initial_val": 0.01, "end_val": 0.0, "total_iters": 5},
    "Polynomial": {"initial_val": 0.01, "end_val": 0.0, "total_iters": 5, "power": 2.0},
    "CosineDecay": {"initial_val": 0.01, "end_val": 0.0, "total_iters": 5},
    "Exponential": {"initial_val": 0.01, "total_iters": 5, "decay_rate": 0.5},
    "InverseExponentialTimeDecay": {
        "initial_val": 0.01,
        "step_exponent": 1.0,
        "total_iters": 5,
        "decay_rate": 0.5,
    },
    "InverseSquareRootDecay": {"initial_val": 0.01, "scale": 1.0, "warmup_steps": 2},
    "Step": {"initial_val": 0.01, "step_size": 2, "gamma": 0.5},
    "MultiStep": {"initial_val": 0.01, "gamma": 0.5, "milestones": [2, 4]},
    "CosineAnnealing": {"initial_val": 0.01, "T_max": 5, "eta_min": 0.0},
    "CosineAnnealingWarmRestarts": {"initial_val": 0.01, "T_0": 3, "T_mult": 2},
    "Multiplicative": {"initial_val": 0.01, "coefficient": 0.9},
    "Cyclic": {"base_val": 0.001, "max_val": 0.01, "step_size_up": 2},
    "OneCycle": {"initial_val": 0.001, "max_val": 0.01, "total_steps": 10},
    "PiecewiseConstant": {"vals": [0.01, 0.001], "milestones": [3]},
}


def example_args(shape: str) -> dict[str, Any]:
    """One valid set of arguments for ``shape`` (generic names)."""
    return copy.deepcopy(_EXAMPLE_ARGS[shape])
