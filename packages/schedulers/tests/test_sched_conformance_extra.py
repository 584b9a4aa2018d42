"""The conformance kit on what test_conformance.py leaves out: every generic shape on
``momentum``, nested and tagged composites, per-group factors, argument errors."""

from __future__ import annotations

from typing import Any

from _sched_table import GENERIC_NAMES, LR_NAMES, SHAPES

import waferopt.schedulers as S
from waferopt.core.testing import ErrorInput, SchedulerInfo, conformance_tests


def _generic_factory(key: str):
    def factory(cls: type, optimizer: Any, kwargs: dict[str, Any]) -> Any:
        return cls(optimizer, key, **kwargs)

    return factory


def _composites(prefix: str) -> list[SchedulerInfo]:
    linear, cosine, const, step = (
        getattr(S, f"{n}{prefix}") for n in ("Linear", "CosineDecay", "Constant", "Step")
    )
    seq = getattr(S, f"Sequential{prefix}")

    def nested(o):
        inner = seq(o, [linear(o, 0.0, 0.1, 3), const(o, 0.1, 2)], [3])
        return {"schedulers": [inner, step(o, 0.1, 2, 0.5)], "milestones": [5]}

    def tagged_sequential(cls, o, kwargs):
        tags = kwargs.get("param_group_tags")
        children = [
            linear(o, 0.0, 0.1, 4, param_group_tags=tags),
            cosine(o, 0.1, 0.01, 6, param_group_tags=tags),
        ]
        return cls(o, children, [4], **kwargs)

    def chained_factory(cls, o, kwargs):
        tags = kwargs.get("param_group_tags")
        children = [
            cosine(o, 0.1, 0.0, 10, param_group_tags=tags),
            step(o, 2.0, 3, 0.5, param_group_tags=tags),
        ]
        return cls(children, **kwargs)

    def scale_factory(cls, o, kwargs):
        tags = kwargs.get("param_group_tags")
        for i, g in enumerate(o.param_groups):
            g["adjust_learning_rate"] = 0.5 * (i + 1)
        child = seq(
            o,
            [
                linear(o, 0.0, 0.1, 3, param_group_tags=tags),
                cosine(o, 0.1, 0.0, 5, param_group_tags=tags),
            ],
            [3],
        )
        return cls(o, child, **kwargs)

    return [
        SchedulerInfo(seq, configs=[nested], compile=True, name=f"Sequential{prefix}[nested]"),
        SchedulerInfo(
            seq,
            configs=[{}],
            factory=tagged_sequential,
            compile=False,
            name=f"Sequential{prefix}[tags]",
        ),
        SchedulerInfo(
            getattr(S, f"Chained{prefix}"),
            configs=[{}],
            factory=chained_factory,
            compile=False,
            name=f"Chained{prefix}[tags]",
        ),
        SchedulerInfo(
            getattr(S, f"ScalePerParam{prefix}"),
            configs=[{}],
            factory=scale_factory,
            compile=prefix == "LR",
            name=f"ScalePerParam{prefix}[factors]",
        ),
    ]


_ERRORS: dict[str, list[ErrorInput]] = {
    "CosineDecay": [
        ErrorInput(
            {"initial_learning_rate": "0.1", "end_learning_rate": 0.0, "total_iters": 10},
            "initial_learning_rate",
            TypeError,
        ),
        ErrorInput(
            {"initial_learning_rate": 0.1, "end_learning_rate": 0.0, "total_iters": -3},
            "total_iters",
        ),
        ErrorInput(
            {"initial_learning_rate": 0.1, "end_learning_rate": 0.0, "total_iters": 2.5},
            "total_iters",
        ),
    ],
    "Step": [ErrorInput({"initial_learning_rate": 0.1, "step_size": 0, "gamma": 0.5}, "step_size")],
    "MultiStep": [
        ErrorInput(
            {"initial_learning_rate": 0.1, "gamma": 0.5, "milestones": 5}, "milestones", TypeError
        )
    ],
    "PiecewiseConstant": [
        ErrorInput({"learning_rates": [0.1, 0.01], "milestones": [5, 3]}, "milestones.*increasing"),
        ErrorInput({"learning_rates": [0.1, 0.01, 0.1, 0.2], "milestones": [5]}, "learning_rates"),
    ],
    "Cyclic": [
        ErrorInput({"base_lr": 0.01, "max_lr": 0.1, "mode": "triangle"}, "mode"),
        ErrorInput({"base_lr": 0.01, "max_lr": 0.1, "scale_mode": "epoch"}, "scale_mode"),
    ],
    "OneCycle": [
        ErrorInput({"initial_learning_rate": 0.01, "max_lr": 0.1, "pct_start": 1.5}, "pct_start"),
        ErrorInput(
            {"initial_learning_rate": 0.01, "max_lr": 0.1, "anneal_strategy": "cosine"},
            "anneal_strategy",
        ),
        ErrorInput({"initial_learning_rate": 0.01, "max_lr": 0.1, "total_steps": 3}, "phase"),
    ],
    "CosineAnnealingWarmRestarts": [
        ErrorInput({"initial_learning_rate": 0.1, "T_0": 10, "T_mult": 0}, "T_mult"),
        ErrorInput({"initial_learning_rate": 0.1, "T_0": 10, "T_mult": 1.5}, "T_mult"),
    ],
    "Lambda": [
        ErrorInput({"initial_learning_rate": 0.1, "lr_lambda": [1.0]}, "lr_lambda", TypeError)
    ],
    "InverseSquareRootDecay": [
        ErrorInput({"initial_learning_rate": 0.1, "warmup_steps": 0}, "warmup_steps")
    ],
    "Constant": [ErrorInput({"learning_rate": None}, "learning_rate", TypeError)],
}

INFOS: list[SchedulerInfo] = []
for shape, (_lr_kwargs, _wd_kwargs, generic_kwargs) in sorted(SHAPES.items()):
    INFOS.append(
        SchedulerInfo(
            getattr(S, GENERIC_NAMES[shape]),
            configs=[generic_kwargs],
            factory=_generic_factory("momentum"),
            group_defaults={"momentum": 0.9},
            compile=False,
            torch_load_weights_only=shape != "Lambda",
            name=f"{GENERIC_NAMES[shape]}[momentum]",
        )
    )
for shape, errors in sorted(_ERRORS.items()):
    INFOS.append(
        SchedulerInfo(
            getattr(S, LR_NAMES[shape]),
            configs=[SHAPES[shape][0]],
            error_inputs=errors,
            compile=False,
            torch_load_weights_only=shape != "Lambda",
            name=f"{LR_NAMES[shape]}[errors]",
        )
    )
INFOS += _composites("LR") + _composites("WD")

TestSchedulerConformanceExtra = conformance_tests(schedulers=INFOS)
