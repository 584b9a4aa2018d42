"""Model Zoo configs (tests/configs/*.yaml) → LR and WD of every param group, checked at
the boundaries of every phase (m-1, m, m+1) and after the last one.

Expected values come from the formulas of docs/explanation/semantics.md#semantics-4, written here with the
numbers of each config, independently of the library's code.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from modelzoo_support import installed, require_optimizer
from tiny_models import TinyDINO, TinyGPT, TinyMLP

from waferopt.modelzoo import build

CONFIGS = Path(__file__).parent / "configs"


# ------------------------------------------------------------------ reference formulas
def linear(t, a, b, T):
    return b + (a - b) * (1 - t / T) if t < T else b


def poly(t, a, b, T, p):
    return b + (a - b) * (1 - t / T) ** p if t < T else b


def cosine_decay(t, a, b, T):
    return b + (a - b) * 0.5 * (1 + math.cos(math.pi * min(t, T) / T))


def exponential(t, a, r, T, staircase=False):
    return a * r ** (t // T if staircase else t / T)


def multistep(t, a, gamma, milestones):
    return a * gamma ** sum(1 for m in milestones if m <= t)


def piecewise(t, values, milestones):
    return values[sum(1 for m in milestones if m <= t)]


def inverse_sqrt(t, a, scale, warmup):
    return a * scale / math.sqrt(max(t, warmup))


def cosine_annealing(t, a, T_max, eta_min):
    return eta_min + (a - eta_min) * 0.5 * (1 + math.cos(math.pi * t / T_max))


def sequence(t, phases):
    """phases: [(start, f)] with f taking the local step t - start."""
    start, f = [p for p in phases if p[0] <= t][-1]
    return f(t - start)


# ------------------------------------------------------------------ the cases
@dataclass
class Case:
    model: Callable
    lr: Callable  # (t, group info) -> expected lr
    wd: Callable  # (t, group info) -> expected weight decay
    boundaries: list[int]
    optimizer: str
    warns: tuple = ()
    scheduler_types: tuple[str, ...] | None = None


def base_wd(t, g):
    return g.weight_decay


def tags(g):
    return g.tags or frozenset()


CASES: dict[str, Case] = {
    "legacy_constant_sgd": Case(
        TinyMLP, lambda t, g: 0.01, base_wd, [1], "SGD", scheduler_types=("ConstantLR",)
    ),
    "legacy_warmup_linear_adamw": Case(
        TinyGPT,
        lambda t, g: sequence(
            t,
            [(0, lambda s: linear(s, 0.0, 6e-4, 100)), (100, lambda s: linear(s, 6e-4, 6e-5, 900))],
        ),
        base_wd,
        [100, 1000],
        "AdamW",
        scheduler_types=("SequentialLR",),
    ),
    "legacy_warmup_cosine_lion": Case(
        TinyGPT,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 0.0, 1e-3, 50)),
                (50, lambda s: cosine_decay(s, 1e-3, 1e-5, 200)),
            ],
        ),
        base_wd,
        [50, 250],
        "Lion",
    ),
    "legacy_piecewise_sgd": Case(
        TinyMLP, lambda t, g: piecewise(t, [0.1, 0.01, 0.001], [30, 60]), base_wd, [30, 60], "SGD"
    ),
    "legacy_exponential_staircase": Case(
        TinyMLP,
        lambda t, g: sequence(
            t, [(0, lambda s: 0.01), (20, lambda s: exponential(s, 0.01, 0.5, 10, True))]
        ),
        base_wd,
        [20, 30, 40],
        "RMSprop",
    ),
    "legacy_mup_adamw": Case(
        TinyGPT,
        lambda t, g: (
            g.adjust_learning_rate
            * sequence(
                t,
                [(0, lambda s: linear(s, 0.0, 1e-2, 10)), (10, lambda s: linear(s, 1e-2, 0.0, 90))],
            )
        ),
        base_wd,
        [10, 100],
        "AdamW",
        scheduler_types=("ScalePerParamLR",),
    ),
    "legacy_chained_sgd": Case(
        TinyMLP,
        lambda t, g: cosine_decay(t, 0.1, 0.001, 50) * linear(t, 0.1, 1.0, 10) / 0.1,
        base_wd,
        [10, 50],
        "SGD",
        scheduler_types=("ChainedLR",),
    ),
    "legacy_1x_names": Case(
        TinyGPT,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 0.0, 1e-4, 50)),
                (50, lambda s: exponential(s, 1e-4, 0.5, 100)),
            ],
        ),
        base_wd,
        [50, 150],
        "AdamW",
        warns=(DeprecationWarning, UserWarning),
    ),
    "legacy_yaml_strings_sgd": Case(
        TinyMLP,
        lambda t, g: sequence(t, [(0, lambda s: linear(s, 1e-3, 1e-5, 40)), (40, lambda s: 1e-5)]),
        lambda t, g: g.weight_decay,
        [40],
        "SGD",
        warns=(UserWarning,),
    ),
    "legacy_single_cosine_adagrad": Case(
        TinyMLP, lambda t, g: cosine_decay(t, 0.05, 0.005, 60), base_wd, [60], "Adagrad"
    ),
    "legacy_int_lr_sgd": Case(TinyMLP, lambda t, g: 1.0, base_wd, [1], "SGD"),
    "legacy_warmup_multistep": Case(
        TinyMLP,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 0.0, 0.1, 5)),
                (5, lambda s: multistep(s, 0.1, 0.1, [20, 40])),
            ],
        ),
        base_wd,
        [5, 25, 45],
        "SGD",
    ),
    "legacy_t5_inverse_sqrt_adafactor": Case(
        TinyGPT,
        lambda t, g: inverse_sqrt(t, 0.5, 1.0, 25),
        base_wd,
        [25],
        "Adafactor",
        warns=(UserWarning,),
    ),
    "legacy_warmup_cosine_annealing": Case(
        TinyMLP,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 0.0, 0.1, 10)),
                (10, lambda s: cosine_annealing(s, 0.1, 20, 0.01)),
            ],
        ),
        base_wd,
        [10, 30, 50],
        "SGD",
    ),
    "legacy_tagged_constant": Case(TinyDINO, lambda t, g: 0.05, base_wd, [1], "SGD"),
    "trainer_warmup_cosine_adamw": Case(
        TinyGPT,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 0.0, 3e-4, 20)),
                (20, lambda s: cosine_decay(s, 3e-4, 3e-5, 180)),
            ],
        ),
        lambda t, g: cosine_decay(t, 0.01, 0.1, 200) if "decay" in tags(g) else g.weight_decay,
        [20, 200],
        "AdamW",
        scheduler_types=("SequentialLR", "CosineDecayWD"),
    ),
    "trainer_dino": Case(
        TinyDINO,
        lambda t, g: {
            "backbone": lambda: sequence(
                t,
                [
                    (0, lambda s: linear(s, 0.0, 5e-4, 10)),
                    (10, lambda s: cosine_decay(s, 5e-4, 1e-6, 90)),
                ],
            ),
            "head": lambda: sequence(
                t,
                [
                    (0, lambda s: linear(s, 0.0, 1e-3, 10)),
                    (10, lambda s: cosine_decay(s, 1e-3, 2e-6, 90)),
                ],
            ),
            "last_layer": lambda: sequence(
                t, [(0, lambda s: 0.0), (20, lambda s: cosine_decay(s, 1e-3, 2e-6, 80))]
            ),
        }[next(iter(tags(g)))](),
        lambda t, g: cosine_decay(t, 0.04, 0.4, 100),
        [10, 20, 100],
        "AdamW",
        warns=(UserWarning,),
        scheduler_types=("CosineDecayWD", "SequentialLR", "SequentialLR", "SequentialLR"),
    ),
    "trainer_chained_sgd": Case(
        TinyMLP,
        lambda t, g: cosine_decay(t, 0.1, 0.001, 50) * linear(t, 0.1, 1.0, 10) / 0.1,
        base_wd,
        [10, 50],
        "SGD",
    ),
    "trainer_mup_autowrap": Case(
        TinyGPT,
        lambda t, g: (
            g.adjust_learning_rate
            * sequence(
                t,
                [
                    (0, lambda s: linear(s, 0.0, 2e-3, 15)),
                    (15, lambda s: linear(s, 2e-3, 2e-4, 45)),
                ],
            )
        ),
        base_wd,
        [15, 60],
        "AdamW",
        scheduler_types=("ScalePerParamLR",),
    ),
    "trainer_scale_per_param_explicit": Case(
        TinyMLP,
        lambda t, g: (
            g.adjust_learning_rate
            * sequence(t, [(0, lambda s: 0.1), (5, lambda s: linear(s, 0.1, 0.0, 25))])
        ),
        lambda t, g: g.adjust_learning_rate * linear(t, 0.05, 0.0, 30),
        [5, 30],
        "SGD",
        warns=(UserWarning,),
        scheduler_types=("ScalePerParamLR", "ScalePerParamWD"),
    ),
    "trainer_init_piecewise": Case(
        TinyMLP,
        lambda t, g: piecewise(t, [0.2, 0.02, 0.002], [10, 25]),
        lambda t, g: piecewise(t, [1e-4, 1e-5], [25]) if "weights" in tags(g) else g.weight_decay,
        [10, 25],
        "SGD",
    ),
    "trainer_nested_sequential": Case(
        TinyMLP,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 0.0, 1.0, 10)),
                (10, lambda s: 1.0),
                (15, lambda s: cosine_decay(s, 1.0, 0.0, 20)),
            ],
        ),
        base_wd,
        [10, 15, 35],
        "SGD",
    ),
    "trainer_sequential_wd": Case(
        TinyMLP,
        lambda t, g: 0.01,
        lambda t, g: (
            sequence(t, [(0, lambda s: 0.0), (10, lambda s: linear(s, 0.0, 0.05, 40))])
            if "decay" in tags(g)
            else 0.0
        ),
        [10, 50],
        "RMSprop",
    ),
    "trainer_lowercase_names": Case(
        TinyMLP,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 1e-4, 1e-3, 8)),
                (8, lambda s: cosine_decay(s, 1e-3, 0.0, 32)),
            ],
        ),
        base_wd,
        [8, 40],
        "AdamW",
    ),
    "trainer_lr_schedule_in_block": Case(
        TinyMLP,
        lambda t, g: sequence(
            t,
            [
                (0, lambda s: linear(s, 1e-5, 1e-4, 12)),
                (12, lambda s: poly(s, 1e-4, 1e-6, 30, 2.0)),
            ],
        ),
        base_wd,
        [12, 42],
        "Lion",
    ),
}


def test_every_config_file_has_a_case():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(CASES)
    assert len(CASES) >= 20
    assert {n.split("_")[0] for n in CASES} == {"legacy", "trainer"}


def checkpoints(boundaries: list[int]) -> list[int]:
    steps = {0}
    for m in boundaries:
        steps |= {m - 1, m, m + 1}
    steps.add(max(boundaries) + 7)
    return sorted(s for s in steps if s >= 0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_values_at_every_boundary(name):
    case = CASES[name]
    require_optimizer(case.optimizer)
    path = CONFIGS / f"{name}.yaml"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = build(case.model(), path)
    categories = {w.category for w in caught}
    for category in case.warns:
        assert any(issubclass(c, category) for c in categories), (
            category,
            [str(w.message) for w in caught],
        )
    if not case.warns:
        assert not [
            w for w in caught if issubclass(w.category, (DeprecationWarning, UserWarning))
        ], [str(w.message) for w in caught]
    assert type(result.optimizer).__name__ == case.optimizer
    if case.scheduler_types is not None:
        assert tuple(type(s).__name__ for s in result.schedulers) == case.scheduler_types

    groups = result.optimizer.param_groups
    infos = result.param_groups
    assert len(groups) == len(infos)
    wanted = checkpoints(case.boundaries)
    t = 0
    for target in wanted:
        while t < target:
            result.step_schedulers()
            t += 1
        for group, info in zip(groups, infos):
            lr, wd = float(group["lr"]), float(group["weight_decay"])
            assert lr == pytest.approx(case.lr(t, info), rel=2e-6, abs=1e-12), (name, "lr", t, info)
            assert wd == pytest.approx(case.wd(t, info), rel=2e-6, abs=1e-12), (name, "wd", t, info)


def test_deprecated_names_warn_with_the_new_key():
    require_optimizer("AdamW")
    with pytest.warns(DeprecationWarning, match="deprecated name") as record:
        result = build(TinyGPT(), CONFIGS / "legacy_1x_names.yaml")
    text = " ".join(str(w.message) for w in record)
    for new in ("betas", "weight_decay", "total_iters"):
        assert f"'{new}'" in text
    group = result.optimizer.param_groups[0]
    assert tuple(group["betas"]) == (0.9, 0.98)
    assert group["eps"] == 1e-6 and isinstance(group["eps"], float)
    assert [g["weight_decay"] for g in result.optimizer.param_groups] == [0.01, 0.0]


def test_mup_groups_carry_factors():
    require_optimizer("AdamW")
    result = build(TinyGPT(), CONFIGS / "legacy_mup_adamw.yaml")
    assert [g.adjust_learning_rate for g in result.param_groups] == [10.0, 0.125, 1.0, 1.0]
    assert [g["adjust_learning_rate"] for g in result.optimizer.param_groups] == [
        10.0,
        0.125,
        1.0,
        1.0,
    ]


def test_dino_groups_per_tag_set():
    require_optimizer("AdamW")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = build(TinyDINO(), CONFIGS / "trainer_dino.yaml")
    assert [(sorted(g.tags), g.weight_decay) for g in result.param_groups] == [
        (["backbone"], 0.04),
        (["backbone"], 0.0),
        (["head"], 0.04),
        (["head"], 0.0),
        (["last_layer"], 0.04),
    ]


def test_trainer_settings_from_files():
    result = build(TinyMLP(), CONFIGS / "legacy_constant_sgd.yaml")
    assert result.trainer_settings == {"max_gradient_norm": 1.0, "log_summaries": True}
    with pytest.warns(UserWarning, match="converted"):
        result = build(TinyMLP(), CONFIGS / "legacy_yaml_strings_sgd.yaml")
    assert result.trainer_settings == {"max_gradient_norm": 1.0}


def test_a_training_step_runs_with_the_built_optimizer():
    """One optimizer step plus one scheduler step, on every config whose optimizer exists."""
    import torch

    for name, case in CASES.items():
        if not installed(case.optimizer):
            continue
        torch.manual_seed(0)
        model = case.model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = build(model, CONFIGS / f"{name}.yaml")
        before = [p.detach().clone() for p in model.parameters()]
        for p in model.parameters():
            p.grad = torch.randn_like(p)
        result.optimizer.step()
        result.step_schedulers()
        moved = any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
        lr0 = float(result.optimizer.param_groups[0]["lr"])
        assert moved or lr0 == 0.0 or case.lr(0, result.param_groups[0]) == 0.0, name
