"""Every scheduler the spec calls similar to a PyTorch one equals torch.optim.lr_scheduler
over 1,000 steps, to 1e-7 relative, after mapping the arguments (absolute values here,
factors of the base lr in torch)."""

from __future__ import annotations

import pytest
from _sched_helpers import assert_rel_close, make_optimizer, torch_trace, trace
from torch.optim import lr_scheduler as T

from waferopt.schedulers import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    SequentialLR,
    StepLR,
)

LR = 0.1

CASES = {
    # StepLR(initial, step_size, gamma) ~ torch StepLR(step_size, gamma)
    "step-7-0.9": (lambda o: StepLR(o, LR, 7, 0.9), lambda o: T.StepLR(o, 7, 0.9)),
    "step-100-0.5": (lambda o: StepLR(o, LR, 100, 0.5), lambda o: T.StepLR(o, 100, 0.5)),
    "step-1-0.995": (lambda o: StepLR(o, LR, 1, 0.995), lambda o: T.StepLR(o, 1, 0.995)),
    # MultiStepLR, including unsorted and repeated milestones
    "multistep-sorted": (
        lambda o: MultiStepLR(o, LR, 0.5, [100, 300, 600]),
        lambda o: T.MultiStepLR(o, [100, 300, 600], 0.5),
    ),
    "multistep-repeated": (
        lambda o: MultiStepLR(o, LR, 0.3, [10, 10, 500, 500, 500]),
        lambda o: T.MultiStepLR(o, [10, 10, 500, 500, 500], 0.3),
    ),
    "multistep-unsorted": (
        lambda o: MultiStepLR(o, LR, 0.7, [800, 20, 400, 0]),
        lambda o: T.MultiStepLR(o, [800, 20, 400, 0], 0.7),
    ),
    # ExponentialLR with total_iters=1 ~ torch ExponentialLR(gamma)
    "exponential-0.995": (
        lambda o: ExponentialLR(o, LR, 1, 0.995),
        lambda o: T.ExponentialLR(o, 0.995),
    ),
    "exponential-0.99": (
        lambda o: ExponentialLR(o, LR, 1, 0.99),
        lambda o: T.ExponentialLR(o, 0.99),
    ),
    "exponential-1.001": (
        lambda o: ExponentialLR(o, LR, 1, 1.001),
        lambda o: T.ExponentialLR(o, 1.001),
    ),
    # PolynomialLR with end 0 ~ torch PolynomialLR(total_iters, power)
    "polynomial-p1": (
        lambda o: PolynomialLR(o, LR, 0.0, 300),
        lambda o: T.PolynomialLR(o, 300, 1.0),
    ),
    "polynomial-p2": (
        lambda o: PolynomialLR(o, LR, 0.0, 700, 2.0),
        lambda o: T.PolynomialLR(o, 700, 2.0),
    ),
    "polynomial-p0.5": (
        lambda o: PolynomialLR(o, LR, 0.0, 999, 0.5),
        lambda o: T.PolynomialLR(o, 999, 0.5),
    ),
    # LinearLR(initial, end, T) ~ torch LinearLR(start_factor, end_factor, T)
    "linear-warmup": (lambda o: LinearLR(o, 0.01, LR, 250), lambda o: T.LinearLR(o, 0.1, 1.0, 250)),
    "linear-decay": (lambda o: LinearLR(o, LR, 0.05, 600), lambda o: T.LinearLR(o, 1.0, 0.5, 600)),
    # MultiplicativeLR(initial, c) ~ torch MultiplicativeLR(lambda _: c)
    "multiplicative-0.999": (
        lambda o: MultiplicativeLR(o, LR, 0.999),
        lambda o: T.MultiplicativeLR(o, lambda _: 0.999),
    ),
    "multiplicative-0.99": (
        lambda o: MultiplicativeLR(o, LR, 0.99),
        lambda o: T.MultiplicativeLR(o, lambda _: 0.99),
    ),
    # LambdaLR(initial, lr_lambda) ~ torch LambdaLR(lr_lambda)
    "lambda-exp": (
        lambda o: LambdaLR(o, LR, lambda t: 0.99**t),
        lambda o: T.LambdaLR(o, lambda e: 0.99**e),
    ),
    "lambda-inv": (
        lambda o: LambdaLR(o, LR, lambda t: 1.0 / (1.0 + t / 50)),
        lambda o: T.LambdaLR(o, lambda e: 1.0 / (1.0 + e / 50)),
    ),
    # CosineAnnealingLR, past T_max included (it oscillates)
    "cosine-annealing-100": (
        lambda o: CosineAnnealingLR(o, LR, 100, 0.001),
        lambda o: T.CosineAnnealingLR(o, 100, 0.001),
    ),
    "cosine-annealing-1000": (
        lambda o: CosineAnnealingLR(o, LR, 1000),
        lambda o: T.CosineAnnealingLR(o, 1000),
    ),
    "cosine-annealing-333": (
        lambda o: CosineAnnealingLR(o, LR, 333, 0.02),
        lambda o: T.CosineAnnealingLR(o, 333, 0.02),
    ),
    # warm restarts: T_mult 1, 2, 3
    "warm-restarts-mult1": (
        lambda o: CosineAnnealingWarmRestarts(o, LR, 37, 1, 0.001),
        lambda o: T.CosineAnnealingWarmRestarts(o, 37, 1, 0.001),
    ),
    "warm-restarts-mult2": (
        lambda o: CosineAnnealingWarmRestarts(o, LR, 10, 2, 0.001),
        lambda o: T.CosineAnnealingWarmRestarts(o, 10, 2, 0.001),
    ),
    "warm-restarts-mult3": (
        lambda o: CosineAnnealingWarmRestarts(o, LR, 3, 3),
        lambda o: T.CosineAnnealingWarmRestarts(o, 3, 3),
    ),
    "warm-restarts-T0-1": (
        lambda o: CosineAnnealingWarmRestarts(o, LR, 1, 2, 0.01),
        lambda o: T.CosineAnnealingWarmRestarts(o, 1, 2, 0.01),
    ),
}

# CyclicLR: every mode, symmetric and asymmetric cycles
for mode in ("triangular", "triangular2", "exp_range"):
    for up, down in ((50, None), (40, 90), (1, 3)):
        CASES[f"cyclic-{mode}-{up}-{down}"] = (
            lambda o, m=mode, u=up, d=down: CyclicLR(o, 0.01, LR, u, d, m, 0.998),
            lambda o, m=mode, u=up, d=down: T.CyclicLR(
                o, 0.01, LR, u, d, m, 0.998, cycle_momentum=False
            ),
        )
# OneCycleLR: both strategies, two and three phases; initial = max_lr / div_factor
for three_phase in (False, True):
    for strategy in ("cos", "linear"):
        for total, pct, div, final in ((1001, 0.3, 25.0, 1e4), (1500, 0.25, 10.0, 100.0)):
            CASES[f"onecycle-{strategy}-{'3' if three_phase else '2'}phase-{total}"] = (
                lambda o, tp=three_phase, s=strategy, n=total, p=pct, d=div, f=final: OneCycleLR(
                    o, LR / d, LR, n, p, f, tp, s
                ),
                lambda o, tp=three_phase, s=strategy, n=total, p=pct, d=div, f=final: T.OneCycleLR(
                    o,
                    LR,
                    total_steps=n,
                    pct_start=p,
                    div_factor=d,
                    final_div_factor=f,
                    three_phase=tp,
                    anneal_strategy=s,
                    cycle_momentum=False,
                ),
            )


def _sequential_warmup_cosine(o):
    return SequentialLR(
        o, [LinearLR(o, 0.01, LR, 100), CosineAnnealingLR(o, LR, 500, 0.001)], [100]
    )


def _sequential_three(o):
    return SequentialLR(
        o,
        [LinearLR(o, 0.001, LR, 50), StepLR(o, LR, 30, 0.8), ExponentialLR(o, 0.05, 1, 0.999)],
        [50, 400],
    )


CASES["sequential-linear-cosine"] = (
    _sequential_warmup_cosine,
    lambda o: T.SequentialLR(
        o, [T.LinearLR(o, 0.1, 1.0, 100), T.CosineAnnealingLR(o, 500, 0.001)], [100]
    ),
)
CASES["sequential-three"] = (
    _sequential_three,
    lambda o: T.SequentialLR(
        o,
        [
            T.LinearLR(o, 0.01, 1.0, 50),
            T.StepLR(o, 30, 0.8),
            # torch's children scale the base lr: 0.05 = 0.5 * LR
            T.LambdaLR(o, lambda e: 0.5 * 0.999**e),
        ],
        [50, 400],
    ),
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch_over_1000_steps(case):
    """Values after construction and after each of 1,000 steps equal torch's to 1e-7 relative."""
    ours, theirs = CASES[case]
    expected = torch_trace(theirs, LR)
    actual = trace(ours(make_optimizer(lr=LR)))
    assert_rel_close(actual, expected)


def test_parity_is_not_vacuous():
    """The comparison detects a schedule that is off by one step."""
    expected = torch_trace(lambda o: T.CosineAnnealingLR(o, 100), LR)
    shifted = trace(CosineAnnealingLR(make_optimizer(lr=LR), LR, 100), steps=1001)[1:]
    with pytest.raises(AssertionError):
        assert_rel_close(shifted, expected)
