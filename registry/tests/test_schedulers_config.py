"""configure_lr_scheduler, configure_scheduler, configure_scheduler_params: Model Zoo
style round trips (each checked against the schedulers built by hand), every format of
docs/explanation/semantics.md#semantics-5, the Decisions (9 to 13), and bad configurations that fail before the
optimizer is touched."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch

pytest.importorskip("waferopt.schedulers")
pytest.importorskip("waferopt.sgd")

import waferopt.schedulers as S
from waferopt.core import Scheduler
from waferopt.registry import get_registry
from waferopt.registry.errors import ConfigError, ConfigErrors, UnknownNameError
from waferopt.registry.schedulers_config import (
    configure_lr_scheduler,
    configure_scheduler,
    configure_scheduler_params,
)
from waferopt.sgd import SGD

STEPS = 150


def make_sgd(groups: int = 1, **group_extra) -> SGD:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(2))], **group_extra} for _ in range(groups)
    ]
    return SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)


def values(sched: Scheduler, key: str = "lr", steps: int = STEPS) -> list[list[float]]:
    from waferopt.core import read_group_value

    out = []
    for k in range(steps + 1):
        if k:
            sched.step()
        out.append([float(read_group_value(g, key)) for g in sched.optimizer.param_groups])
    return out


def assert_same(a: Scheduler, b: Scheduler, key: str = "lr") -> None:
    assert type(a) is type(b)
    assert values(a, key) == values(b, key)


# ============================================================================ round trips
def _warmup_cosine(o):
    return S.SequentialLR(
        o, [S.LinearLR(o, 0.0, 1e-3, 20), S.CosineDecayLR(o, 1e-3, 1e-5, 100)], [20]
    )


ROUND_TRIPS = {
    "constant-float": (1e-3, lambda o: S.ConstantLR(o, 1e-3)),
    "constant-int": (1, lambda o: S.ConstantLR(o, 1.0)),
    "single-dict-short-name": (
        {
            "scheduler": "CosineDecay",
            "initial_learning_rate": 0.1,
            "end_learning_rate": 0.0,
            "total_iters": 80,
        },
        lambda o: S.CosineDecayLR(o, 0.1, 0.0, 80),
    ),
    "warmup-then-cosine": (
        [
            {
                "scheduler": "Linear",
                "initial_learning_rate": 0.0,
                "end_learning_rate": 1e-3,
                "total_iters": 20,
            },
            {
                "scheduler": "CosineDecay",
                "initial_learning_rate": 1e-3,
                "end_learning_rate": 1e-5,
                "total_iters": 100,
            },
        ],
        _warmup_cosine,
    ),
    "warmup-linear-constant": (
        [
            {
                "scheduler": "LinearLR",
                "initial_learning_rate": 0.0,
                "end_learning_rate": 2e-4,
                "total_iters": 10,
            },
            {
                "scheduler": "linear",
                "initial_learning_rate": 2e-4,
                "end_learning_rate": 2e-5,
                "total_iters": 90,
            },
            {"scheduler": "Constant", "learning_rate": 2e-5},
        ],
        lambda o: S.SequentialLR(
            o,
            [S.LinearLR(o, 0.0, 2e-4, 10), S.LinearLR(o, 2e-4, 2e-5, 90), S.ConstantLR(o, 2e-5)],
            [10, 100],
        ),
    ),
    "chained": (
        [
            {
                "scheduler": "CosineDecay",
                "initial_learning_rate": 0.1,
                "end_learning_rate": 0.0,
                "total_iters": 100,
            },
            {
                "scheduler": "Step",
                "initial_learning_rate": 1.0,
                "step_size": 30,
                "gamma": 0.5,
                "main_scheduler": "ChainedLR",
            },
        ],
        lambda o: S.ChainedLR([S.CosineDecayLR(o, 0.1, 0.0, 100), S.StepLR(o, 1.0, 30, 0.5)]),
    ),
    "chained-lowercase-main": (
        [
            {
                "scheduler": "Exponential",
                "initial_learning_rate": 0.1,
                "total_iters": 10,
                "decay_rate": 0.5,
                "main_scheduler": "chained",
            },
            {"scheduler": "Multiplicative", "initial_learning_rate": 2.0, "coefficient": 0.99},
        ],
        lambda o: S.ChainedLR([S.ExponentialLR(o, 0.1, 10, 0.5), S.MultiplicativeLR(o, 2.0, 0.99)]),
    ),
    "piecewise-constant": (
        {
            "scheduler": "PiecewiseConstant",
            "learning_rates": [0.1, 0.01, 0.001],
            "milestones": [30, 90],
        },
        lambda o: S.PiecewiseConstantLR(o, [0.1, 0.01, 0.001], [30, 90]),
    ),
    "exponential-staircase": (
        {
            "scheduler": "Exponential",
            "initial_learning_rate": 0.1,
            "total_iters": 25,
            "decay_rate": 0.8,
            "staircase": True,
        },
        lambda o: S.ExponentialLR(o, 0.1, 25, 0.8, True),
    ),
    "t5-inverse-sqrt": (
        {
            "scheduler": "InverseSquareRootDecay",
            "initial_learning_rate": 0.01,
            "scale": 1.0,
            "warmup_steps": 40,
        },
        lambda o: S.InverseSquareRootDecayLR(o, 0.01, 1.0, 40),
    ),
    "warmup-multistep": (
        [
            {
                "scheduler": "Linear",
                "initial_learning_rate": 0.0,
                "end_learning_rate": 0.1,
                "total_iters": 10,
            },
            {
                "scheduler": "MultiStep",
                "initial_learning_rate": 0.1,
                "gamma": 0.1,
                "milestones": [50, 100],
            },
        ],
        lambda o: S.SequentialLR(
            o, [S.LinearLR(o, 0.0, 0.1, 10), S.MultiStepLR(o, 0.1, 0.1, [50, 100])], [10]
        ),
    ),
    "cosine-annealing-then-cyclic": (
        [
            {
                "scheduler": "CosineAnnealing",
                "initial_learning_rate": 0.1,
                "T_max": 40,
                "eta_min": 0.01,
            },
            {
                "scheduler": "Cyclic",
                "base_lr": 0.01,
                "max_lr": 0.1,
                "step_size_up": 10,
                "mode": "triangular2",
            },
        ],
        lambda o: S.SequentialLR(
            o,
            [
                S.CosineAnnealingLR(o, 0.1, 40, 0.01),
                S.CyclicLR(o, 0.01, 0.1, 10, mode="triangular2"),
            ],
            [40],
        ),
    ),
    "onecycle": (
        {
            "scheduler": "OneCycleLR",
            "initial_learning_rate": 0.004,
            "max_lr": 0.1,
            "total_steps": 120,
            "three_phase": True,
        },
        lambda o: S.OneCycleLR(o, 0.004, 0.1, 120, three_phase=True),
    ),
    "warm-restarts": (
        {
            "scheduler": "CosineAnnealingWarmRestarts",
            "initial_learning_rate": 0.1,
            "T_0": 10,
            "T_mult": 2,
        },
        lambda o: S.CosineAnnealingWarmRestarts(o, 0.1, 10, 2),
    ),
}


@pytest.mark.parametrize("case", sorted(ROUND_TRIPS))
def test_learning_rate_round_trip(case):
    config, by_hand = ROUND_TRIPS[case]
    snapshot = copy.deepcopy(config)
    built = configure_lr_scheduler(make_sgd(), config)
    assert config == snapshot  # Decision 10: not mutated
    assert_same(built, by_hand(make_sgd()))


def test_warmup_cosine_values_against_the_formula():
    sched = configure_lr_scheduler(make_sgd(), ROUND_TRIPS["warmup-then-cosine"][0])
    got = [v[0] for v in values(sched)]
    for t, v in enumerate(got):
        if t < 20:
            expected = 1e-3 * t / 20
        else:
            s = min(t - 20, 100)
            expected = 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * s / 100))
        assert v == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_per_layer_adjust_learning_rate():
    """adjust_learning_rate wraps the schedule in ScalePerParamLR; factors from the groups."""
    o = make_sgd(groups=3)
    o.param_groups[1]["adjust_learning_rate"] = 0.125
    o.param_groups[2]["adjust_learning_rate"] = 10.0
    config = ROUND_TRIPS["warmup-then-cosine"][0]
    sched = configure_lr_scheduler(
        o, config, adjust_learning_rate={"decoder_kernel": 0.125, "embedding": 10.0}
    )
    assert isinstance(sched, S.ScalePerParamLR)
    assert isinstance(sched._scheduler, S.SequentialLR)
    got = values(sched)
    base = [v[0] for v in values(_warmup_cosine(make_sgd()))]
    for row, b in zip(got, base):
        assert row == pytest.approx([b, b * 0.125, b * 10.0], rel=1e-6)


def test_adjust_learning_rate_single_scheduler():
    o = make_sgd(groups=2)
    o.param_groups[0]["adjust_learning_rate"] = 2.0
    sched = configure_lr_scheduler(o, 0.01, adjust_learning_rate=True)
    assert isinstance(sched, S.ScalePerParamLR)
    assert [float(g["lr"]) for g in o.param_groups] == pytest.approx([0.02, 0.01])


@pytest.mark.parametrize("empty", [None, {}, [], ""])
def test_empty_learning_rate_gives_no_scheduler(empty):
    assert configure_lr_scheduler(make_sgd(), empty) is None


def test_numeric_string_is_converted_with_a_warning():
    """Decision 11: YAML's '1e-06' (a string) is a number."""
    with pytest.warns(UserWarning, match="1e-06"):
        sched = configure_lr_scheduler(make_sgd(), "1e-06")
    assert isinstance(sched, S.ConstantLR)
    assert sched.val == 1e-6
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        sched = configure_lr_scheduler(
            make_sgd(),
            {
                "scheduler": "Linear",
                "initial_learning_rate": 0,
                "end_learning_rate": "1e-4",
                "total_iters": "10",
            },
        )
    assert sorted(str(w.message).split(":")[0] for w in record) == [
        "learning_rate.end_learning_rate",
        "learning_rate.total_iters",
    ]
    assert sched.end_val == 1e-4
    assert sched.total_iters == 10


def test_deprecated_names_are_translated():
    """Decision 12: steps, decay_steps, learning_rate, values, boundaries, t_0... with a DeprecationWarning."""
    config = [
        {"scheduler": "Linear", "learning_rate": 0.0, "end_learning_rate": 1e-4, "steps": 50},
        {"scheduler": "Exponential", "learning_rate": 1e-4, "decay_steps": 100, "decay_rate": 0.5},
    ]
    with pytest.warns(DeprecationWarning, match="deprecated") as record:
        sched = configure_lr_scheduler(make_sgd(), config)
    messages = " ".join(str(w.message) for w in record)
    for new in ("total_iters", "initial_learning_rate"):
        assert new in messages
    by_hand = S.SequentialLR(
        o := make_sgd(), [S.LinearLR(o, 0.0, 1e-4, 50), S.ExponentialLR(o, 1e-4, 100, 0.5)], [50]
    )
    assert_same(sched, by_hand)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        piecewise = configure_lr_scheduler(
            make_sgd(),
            {"scheduler": "PiecewiseConstant", "values": [0.1, 0.01], "boundaries": [10]},
        )
    assert {w.category for w in record} == {DeprecationWarning}
    assert {str(w.message).split("use ")[-1] for w in record} == {
        "'learning_rates'",
        "'milestones'",
    }
    assert piecewise.vals == [0.1, 0.01]
    assert piecewise.milestones == [10]
    with pytest.warns(DeprecationWarning, match="'T_0'"):
        configure_lr_scheduler(
            make_sgd(),
            {"scheduler": "CosineAnnealingWarmRestarts", "initial_learning_rate": 0.1, "t_0": 5},
        )


def test_deprecated_and_new_key_together_is_an_error():
    with pytest.raises(ConfigError, match="steps") as info:
        configure_lr_scheduler(
            make_sgd(),
            {
                "scheduler": "Linear",
                "initial_learning_rate": 0.0,
                "end_learning_rate": 1.0,
                "total_iters": 5,
                "steps": 5,
            },
        )
    assert info.value.path == "learning_rate.steps"


@pytest.mark.parametrize("name", ["linear", "LINEARLR", "LinearLR", "lInEaR"])
def test_names_are_case_insensitive_with_optional_suffix(name):
    cls, kwargs = configure_scheduler_params(
        {
            "scheduler": name,
            "initial_learning_rate": 0.0,
            "end_learning_rate": 1.0,
            "total_iters": 5,
        }
    )
    assert cls is S.LinearLR
    assert kwargs == {"initial_learning_rate": 0.0, "end_learning_rate": 1.0, "total_iters": 5}


def test_configure_scheduler_params_does_not_mutate():
    config = {
        "scheduler": "CosineDecay",
        "initial_learning_rate": 0.1,
        "end_learning_rate": 0.0,
        "total_iters": 5,
    }
    snapshot = copy.deepcopy(config)
    cls, kwargs = configure_scheduler_params(config)
    assert config == snapshot
    assert cls is S.CosineDecayLR
    assert "scheduler" not in kwargs


# ============================================================================ configure_scheduler
def test_configure_scheduler_lr_wd_and_any_key():
    o = make_sgd(betas=(0.9, 0.999))
    lr = configure_scheduler(
        o,
        {
            "CosineDecayLR": {
                "initial_learning_rate": 0.1,
                "end_learning_rate": 0.0,
                "total_iters": 50,
            }
        },
    )
    wd = configure_scheduler(
        o, {"cosinedecaywd": {"initial_val": 0.01, "end_val": 0.1, "total_iters": 50}}
    )
    mom = configure_scheduler(
        o,
        {
            "CosineDecayScheduler": {
                "param_group_key": "momentum",
                "initial_val": 0.95,
                "end_val": 0.85,
                "total_iters": 50,
            }
        },
    )
    beta = configure_scheduler(
        o,
        {
            "LinearScheduler": {
                "param_group_key": "betas[0]",
                "initial_val": 0.9,
                "end_val": 0.8,
                "total_iters": 50,
            }
        },
    )
    assert isinstance(lr, S.CosineDecayLR)
    assert isinstance(wd, S.CosineDecayWD)
    assert isinstance(mom, S.CosineDecayScheduler)
    assert isinstance(beta, S.LinearScheduler)
    for s in (lr, wd, mom, beta):
        for _ in range(25):
            s.step()
    g = o.param_groups[0]
    assert float(g["lr"]) == pytest.approx(0.05, rel=1e-6)
    assert float(g["weight_decay"]) == pytest.approx(0.055, rel=1e-6)
    assert float(g["momentum"]) == pytest.approx(0.9, rel=1e-6)
    assert float(g["betas"][0]) == pytest.approx(0.85, rel=1e-6)
    assert g["betas"][1] == 0.999
    with pytest.raises(ConfigError, match="betas") as info:
        configure_scheduler(
            make_sgd(),
            {
                "LinearScheduler": {
                    "param_group_key": "betas[0]",
                    "initial_val": 0.9,
                    "end_val": 0.8,
                    "total_iters": 5,
                }
            },
        )
    assert info.value.path == "LinearScheduler.param_group_key"


def test_configure_scheduler_nested_sequential_milestones():
    """Milestones come from total_iters; a nested SequentialLR's duration is its last
    milestone plus its last child's total_iters."""
    config = {
        "SequentialLR": {
            "schedulers": [
                {
                    "SequentialLR": {
                        "schedulers": [
                            {
                                "LinearLR": {
                                    "initial_learning_rate": 0.0,
                                    "end_learning_rate": 1.0,
                                    "total_iters": 10,
                                }
                            },
                            {"ConstantLR": {"learning_rate": 1.0, "total_iters": 5}},
                        ]
                    }
                },
                {
                    "CosineDecayLR": {
                        "initial_learning_rate": 1.0,
                        "end_learning_rate": 0.0,
                        "total_iters": 20,
                    }
                },
            ]
        }
    }
    snapshot = copy.deepcopy(config)
    sched = configure_scheduler(make_sgd(), config)
    assert config == snapshot
    assert sched._milestones == [15]
    assert sched._schedulers[0]._milestones == [10]
    o = make_sgd()
    inner = S.SequentialLR(o, [S.LinearLR(o, 0.0, 1.0, 10), S.ConstantLR(o, 1.0, 5)], [10])
    assert_same(sched, S.SequentialLR(o, [inner, S.CosineDecayLR(o, 1.0, 0.0, 20)], [15]))


def test_configure_scheduler_sequential_wd_with_tags():
    o = make_sgd()
    o.param_groups[0]["tags"] = {"backbone"}
    o.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "tags": {"head"}})
    config = {
        "SequentialWD": {
            "param_group_tags": ["backbone"],
            "schedulers": [
                {"ConstantWD": {"val": 0.0, "total_iters": 5}},
                {"LinearWD": {"initial_val": 0.0, "end_val": 0.1, "total_iters": 10}},
            ],
        }
    }
    sched = configure_scheduler(o, config)
    assert sched._milestones == [5]
    assert all(c.param_group_tags == {"backbone"} for c in sched._schedulers)
    for _ in range(10):
        sched.step()
    assert float(o.param_groups[0]["weight_decay"]) == pytest.approx(0.05)
    assert o.param_groups[1]["weight_decay"] == 0.01  # untouched: other tag


def test_configure_scheduler_chained_and_scale_per_param():
    o = make_sgd(groups=2)
    o.param_groups[1]["adjust_learning_rate"] = 0.5
    config = {
        "ScalePerParamLR": {
            "scheduler": {
                "ChainedScheduler": {
                    "schedulers": [
                        {
                            "CosineDecayLR": {
                                "initial_learning_rate": 0.1,
                                "end_learning_rate": 0.0,
                                "total_iters": 40,
                            }
                        },
                        {"StepLR": {"initial_learning_rate": 1.0, "step_size": 10, "gamma": 0.5}},
                    ]
                }
            }
        }
    }
    sched = configure_scheduler(o, config)
    assert isinstance(sched, S.ScalePerParamLR)
    assert isinstance(sched._scheduler, S.ChainedLR)
    p = make_sgd(groups=2)
    p.param_groups[1]["adjust_learning_rate"] = 0.5
    assert_same(
        sched,
        S.ScalePerParamLR(
            p, S.ChainedLR([S.CosineDecayLR(p, 0.1, 0.0, 40), S.StepLR(p, 1.0, 10, 0.5)])
        ),
    )


def test_configure_scheduler_generic_sequential_on_momentum():
    config = {
        "SequentialScheduler": {
            "schedulers": [
                {
                    "LinearScheduler": {
                        "param_group_key": "momentum",
                        "initial_val": 0.85,
                        "end_val": 0.95,
                        "total_iters": 10,
                    }
                },
                {
                    "CosineDecayScheduler": {
                        "param_group_key": "momentum",
                        "initial_val": 0.95,
                        "end_val": 0.85,
                        "total_iters": 30,
                    }
                },
            ]
        }
    }
    sched = configure_scheduler(make_sgd(), config)
    assert sched.param_group_key == "momentum"
    assert sched._milestones == [10]


def test_configure_scheduler_third_party_scheduler():
    """A scheduler registered by someone else is built, and nested, the same way."""
    from waferopt.core import LRScheduler

    class HalvingLR(LRScheduler):
        def __init__(
            self, optimizer, initial_learning_rate, every, total_iters=None, param_group_tags=None
        ):
            self.initial_learning_rate, self.every = initial_learning_rate, every
            super().__init__(optimizer, total_iters, param_group_tags=param_group_tags)

        def _get_closed_form(self):
            return self.initial_learning_rate * 0.5 ** torch.div(
                self.last_epoch, self.every, rounding_mode="floor"
            )

    get_registry().add(HalvingLR)
    config = {
        "SequentialLR": {
            "schedulers": [
                {"HalvingLR": {"initial_learning_rate": 0.1, "every": 2, "total_iters": 6}},
                {"ConstantLR": {"learning_rate": 0.01}},
            ]
        }
    }
    sched = configure_scheduler(make_sgd(), config)
    got = [v[0] for v in values(sched, steps=8)]
    assert got == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.01, 0.01, 0.01])
    with pytest.raises(ConfigError, match="every") as info:
        configure_scheduler(make_sgd(), {"HalvingLR": {"initial_learning_rate": 0.1}})
    assert info.value.path == "HalvingLR.every"


def test_ambiguous_short_name_lists_both():
    """Decision 13."""
    with pytest.raises(ConfigError, match=r"CosineDecayLR.*CosineDecayWD"):
        configure_scheduler(
            make_sgd(), {"CosineDecay": {"initial_val": 0.1, "end_val": 0.0, "total_iters": 5}}
        )


def test_short_name_that_is_unambiguous_resolves():
    sched = configure_scheduler(make_sgd(), {"linear": None} | {}) if False else None
    assert sched is None
    s = configure_scheduler(
        make_sgd(), {"cosineannealingwarmrestarts": {"initial_learning_rate": 0.1, "T_0": 4}}
    )
    assert isinstance(s, S.CosineAnnealingWarmRestarts)


# ============================================================================ bad configs
def _untouched(o, make_bad):
    before = [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups]
    registry_before = len(o._schedulers_registry)
    with pytest.raises((ValueError, TypeError)) as info:
        make_bad(o)
    after = [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups]
    assert after == before
    assert all(not isinstance(v, torch.Tensor) for g in after for v in g.values())
    assert len(o._schedulers_registry) == registry_before
    return info.value


BAD_LR = {
    "unknown-name": (
        [
            {
                "scheduler": "CosineDecy",
                "initial_learning_rate": 0.1,
                "end_learning_rate": 0.0,
                "total_iters": 5,
            }
        ],
        "learning_rate[0].scheduler",
        "CosineDecayLR",
    ),
    "missing-arg": (
        [{"scheduler": "CosineDecay", "initial_learning_rate": 0.1, "total_iters": 5}],
        "learning_rate[0].end_learning_rate",
        "end_learning_rate",
    ),
    "item-without-total-iters": (
        [
            {"scheduler": "Constant", "learning_rate": 0.1},
            {
                "scheduler": "CosineDecay",
                "initial_learning_rate": 0.1,
                "end_learning_rate": 0.0,
                "total_iters": 5,
            },
        ],
        "learning_rate[0].total_iters",
        "total_iters",
    ),
    "milestones-not-increasing": (
        {
            "scheduler": "PiecewiseConstant",
            "learning_rates": [0.1, 0.01, 0.001],
            "milestones": [50, 20],
        },
        "learning_rate.milestones",
        "increasing",
    ),
    "negative-total-iters": (
        [
            {
                "scheduler": "Linear",
                "initial_learning_rate": 0.0,
                "end_learning_rate": 0.1,
                "total_iters": -10,
            },
            {"scheduler": "Constant", "learning_rate": 0.1},
        ],
        "learning_rate[0].total_iters",
        "total_iters",
    ),
    "string-for-number": (
        {
            "scheduler": "Exponential",
            "initial_learning_rate": "fast",
            "total_iters": 5,
            "decay_rate": 0.5,
        },
        "learning_rate.initial_learning_rate",
        "number",
    ),
    "unknown-key": (
        {"scheduler": "Step", "initial_learning_rate": 0.1, "step_size": 5, "gama": 0.5},
        "learning_rate.gama",
        "did you mean 'gamma'",
    ),
    "junk-main-scheduler": (
        [
            {
                "scheduler": "Constant",
                "learning_rate": 0.1,
                "total_iters": 5,
                "main_scheduler": "Parallel",
            },
            {"scheduler": "Constant", "learning_rate": 0.2},
        ],
        "learning_rate[0].main_scheduler",
        "ChainedLR",
    ),
    "item-not-a-dict": (
        [0.1, {"scheduler": "Constant", "learning_rate": 0.1}],
        "learning_rate[0]",
        "dict",
    ),
    "no-scheduler-key": ({"initial_learning_rate": 0.1}, "learning_rate", "scheduler"),
    "composite-by-name": (
        {"scheduler": "SequentialLR", "schedulers": []},
        "learning_rate.scheduler",
        "list",
    ),
    "bool": (True, "learning_rate", "number"),
    "non-numeric-string": ("fast", "learning_rate", "number"),
}


@pytest.mark.parametrize("case", sorted(BAD_LR))
def test_bad_learning_rate_fails_before_the_optimizer_is_touched(case):
    config, path, match = BAD_LR[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        error = _untouched(make_sgd(), lambda o: configure_lr_scheduler(o, config))
    assert isinstance(error, ConfigError)
    paths = [e.path for e in error.errors] if isinstance(error, ConfigErrors) else [error.path]
    assert path in paths
    assert match in str(error)


def test_unknown_name_is_a_value_error_with_did_you_mean():
    with pytest.raises(ValueError, match="Did you mean 'CosineDecayLR'") as info:
        configure_lr_scheduler(
            make_sgd(), {"scheduler": "CosineDecayL", "initial_learning_rate": 0.1}
        )
    assert isinstance(info.value, UnknownNameError)


def test_several_problems_are_reported_together():
    config = [
        {"scheduler": "Linear", "initial_learning_rate": 0.0, "total_iters": 5},
        {"scheduler": "Nope"},
    ]
    with pytest.raises(ConfigErrors) as info:
        configure_lr_scheduler(make_sgd(), config)
    assert {e.path for e in info.value.errors} == {
        "learning_rate[0].end_learning_rate",
        "learning_rate[1].scheduler",
    }


def test_chained_with_adjust_learning_rate_is_an_error():
    config = ROUND_TRIPS["chained"][0]
    _untouched(make_sgd(), lambda o: configure_lr_scheduler(o, config, adjust_learning_rate=True))


BAD_NAMED = {
    "unknown-name": ({"CosineDecayLRR": {}}, "CosineDecayLRR", "Did you mean"),
    "two-keys": (
        {"ConstantLR": {"learning_rate": 0.1}, "ConstantWD": {"val": 0.1}},
        "",
        "single key",
    ),
    "user-milestones": (
        {
            "SequentialLR": {
                "milestones": [5],
                "schedulers": [
                    {"ConstantLR": {"learning_rate": 0.1, "total_iters": 5}},
                    {"ConstantLR": {"learning_rate": 0.2}},
                ],
            }
        },
        "SequentialLR.milestones",
        "computed",
    ),
    "child-without-total-iters": (
        {
            "SequentialWD": {
                "schedulers": [{"ConstantWD": {"val": 0.1}}, {"ConstantWD": {"val": 0.2}}]
            }
        },
        "SequentialWD.schedulers[0].total_iters",
        "total_iters",
    ),
    "nested-bad-arg": (
        {
            "SequentialLR": {
                "schedulers": [
                    {
                        "LinearLR": {
                            "initial_learning_rate": 0.0,
                            "end_learning_rate": 1.0,
                            "total_iters": "ten",
                        }
                    },
                    {"ConstantLR": {"learning_rate": 0.2}},
                ]
            }
        },
        "SequentialLR.schedulers[0].LinearLR.total_iters",
        "int",
    ),
    "child-tags-differ": (
        {
            "SequentialLR": {
                "param_group_tags": "a",
                "schedulers": [
                    {
                        "ConstantLR": {
                            "learning_rate": 0.1,
                            "total_iters": 5,
                            "param_group_tags": "b",
                        }
                    },
                    {"ConstantLR": {"learning_rate": 0.2}},
                ],
            }
        },
        "SequentialLR.schedulers[0].ConstantLR.param_group_tags",
        "differ",
    ),
    "wrong-key-for-lr": (
        {"CosineDecayLR": {"initial_val": 0.1, "end_val": 0.0, "total_iters": 5}},
        "CosineDecayLR.initial_val",
        "accepts",
    ),
    "tags-match-nothing": (
        {"ConstantLR": {"learning_rate": 0.1, "param_group_tags": "nowhere"}},
        "ConstantLR.param_group_tags",
        "match no",
    ),
    "lr-child-in-wd-sequence": (
        {"SequentialWD": {"schedulers": [{"ConstantLR": {"learning_rate": 0.1}}]}},
        "SequentialWD",
        "'weight_decay'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_NAMED))
def test_bad_scheduler_config_fails_before_the_optimizer_is_touched(case):
    config, path, match = BAD_NAMED[case]
    snapshot = copy.deepcopy(config)
    error = _untouched(make_sgd(), lambda o: configure_scheduler(o, config))
    assert config == snapshot
    assert isinstance(error, ConfigError)
    paths = [e.path for e in error.errors] if isinstance(error, ConfigErrors) else [error.path]
    assert path in paths, paths
    assert match in str(error)


def test_front_door_reexports():
    import waferopt.optim as optim

    assert optim.configure_lr_scheduler is configure_lr_scheduler
    assert optim.configure_scheduler is configure_scheduler
    assert optim.configure_scheduler_params is configure_scheduler_params


# ============================================================================ declarations
def test_composites_are_declared_not_sniffed():
    """A third-party composite whose constructor names its arguments differently is
    built from its declaration (Scheduler.composite / children_argument)."""
    from waferopt.core import LRScheduler

    class BothLR(LRScheduler):
        """The larger of two LR schedules (a third-party composite)."""

        composite = "chained"
        children_argument = "parts"

        def __init__(self, parts, param_group_tags=None):
            self.parts = list(parts)
            for part in self.parts:
                part.optimizer._schedulers_registry.pop(part, None)
            super().__init__(parts[0].optimizer, None, param_group_tags=param_group_tags)

        def _get_closed_form(self):
            return torch.maximum(*(p._value_tensor(self.last_epoch) for p in self.parts))

        def hyperparameter_names(self):
            return ()

    get_registry().add(BothLR)
    sched = configure_scheduler(
        make_sgd(),
        {
            "BothLR": {
                "parts": [
                    {"ConstantLR": {"learning_rate": 0.01}},
                    {
                        "LinearLR": {
                            "initial_learning_rate": 0.1,
                            "end_learning_rate": 0.0,
                            "total_iters": 10,
                        }
                    },
                ]
            }
        },
    )
    got = [v[0] for v in values(sched, steps=11)]
    assert got == pytest.approx([max(0.01, 0.1 * (1 - t / 10)) for t in range(12)], rel=1e-6)


def test_declarations_of_first_party_classes():
    assert S.SequentialLR.composite == "sequential"
    assert S.ChainedLR.composite == "chained"
    assert S.ScalePerParamWD.composite == "wrapper"
    assert S.ScalePerParamWD.children_argument == "scheduler"
    assert S.CosineDecayLR.composite is None
    assert S.CosineDecayLR.argument_aliases == {
        "initial_val": "initial_learning_rate",
        "end_val": "end_learning_rate",
    }
    assert S.CosineDecayWD.argument_aliases == {}


def test_a_generic_name_given_to_an_lr_class_names_its_own():
    """The declared aliases turn a generic name into a precise message."""
    with pytest.raises(
        ConfigError, match="takes 'initial_learning_rate' \\(its name for 'initial_val'\\)"
    ) as info:
        configure_scheduler(
            make_sgd(),
            {"CosineDecayLR": {"initial_val": 0.1, "end_learning_rate": 0.0, "total_iters": 5}},
        )
    assert info.value.path == "CosineDecayLR.initial_val"


@pytest.mark.parametrize(
    ("optimizer", "config", "path", "match"),
    [
        (
            "SGD",
            {"ConstantScheduler": {"param_group_key": "momentum", "val": -0.5}},
            "ConstantScheduler",
            r"gives momentum -0\.5 at step 0.*SGD: Invalid momentum value",
        ),
        (
            "SGD",
            {
                "SequentialScheduler": {
                    "schedulers": [
                        {
                            "LinearScheduler": {
                                "param_group_key": "momentum",
                                "initial_val": 0.5,
                                "end_val": 0.9,
                                "total_iters": 5,
                            }
                        },
                        {
                            "CosineDecayScheduler": {
                                "param_group_key": "momentum",
                                "initial_val": 0.9,
                                "end_val": -0.1,
                                "total_iters": 5,
                            }
                        },
                    ]
                }
            },
            "SequentialScheduler.schedulers[1].CosineDecayScheduler",
            r"gives momentum -0\.1 at step 5",
        ),
        (
            "AdamW",
            {
                "LinearScheduler": {
                    "param_group_key": "betas[0]",
                    "initial_val": 0.9,
                    "end_val": 1.0,
                    "total_iters": 10,
                }
            },
            "LinearScheduler",
            r"gives betas\[0\] 1\.0 at step 10.*AdamW: Invalid betas parameter at index 0",
        ),
    ],
)
def test_a_schedule_outside_the_optimizers_bounds_fails_before_the_optimizer_is_touched(
    optimizer, config, path, match
):
    """The bounds an optimizer declares for a key (SGD's momentum >= 0, AdamW's betas in
    [0, 1)) hold for every value a schedule of it gives: the error names the key path,
    the step and the optimizer's own message; the optimizer is unchanged."""
    from waferopt.optim import configure_optimizer

    model = torch.nn.Linear(2, 2)
    opt = configure_optimizer(optimizer, model.parameters(), lr=0.1, momentum=0.9)
    before = copy.deepcopy(
        [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    )
    with pytest.raises(ConfigError, match=match) as error:
        configure_scheduler(opt, config)
    assert error.value.path.startswith(path)
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == before


def test_a_per_group_factor_that_takes_a_value_out_of_bounds_is_rejected():
    """ScalePerParamScheduler multiplies its child's value by each group's
    adjust_learning_rate: a betas[0] of 0.5 times 10 is refused in that group."""
    from waferopt.optim import configure_optimizer

    model = torch.nn.Linear(2, 2)
    opt = configure_optimizer(
        "AdamW",
        [{"params": [model.weight], "adjust_learning_rate": 10.0}, {"params": [model.bias]}],
        lr=0.1,
    )
    config = {
        "ScalePerParamScheduler": {
            "scheduler": {"ConstantScheduler": {"param_group_key": "betas[0]", "val": 0.5}}
        }
    }
    with pytest.raises(ConfigError, match=r"betas\[0\] 5\.0 at step 0 for param group 0"):
        configure_scheduler(opt, config)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)
