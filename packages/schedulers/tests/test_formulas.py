"""Schedules the spec defines by a formula (Keras, TensorFlow, the papers) or where it
differs from PyTorch on purpose: each checked against a reference written here."""

from __future__ import annotations

import math

import pytest
import torch
from _sched_helpers import assert_rel_close, make_optimizer, torch_trace, trace
from torch.optim import lr_scheduler as T

from waferopt.schedulers import (
    ChainedLR,
    ConstantLR,
    CosineAnnealingWarmRestarts,
    CosineDecayLR,
    CyclicLR,
    ExponentialLR,
    InverseExponentialTimeDecayLR,
    InverseSquareRootDecayLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PiecewiseConstantLR,
    PolynomialLR,
    StepLR,
)

N = 1000


def reference(fn) -> torch.Tensor:
    return torch.tensor([fn(t) for t in range(N + 1)], dtype=torch.float64)


# ----------------------------------------------------------------------------- Keras
def keras_cosine_decay(initial, decay_steps, alpha):
    """tf.keras.optimizers.schedules.CosineDecay (no warmup)."""

    def fn(step):
        step = min(step, decay_steps)
        cosine_decay = 0.5 * (1 + math.cos(math.pi * step / decay_steps))
        decayed = (1 - alpha) * cosine_decay + alpha
        return initial * decayed

    return fn


@pytest.mark.parametrize(
    ("initial", "end", "total"), [(0.1, 0.0, 700), (1e-3, 1e-5, 100), (0.5, 0.05, 1000)]
)
def test_cosine_decay_is_keras_cosine_decay(initial, end, total):
    actual = trace(CosineDecayLR(make_optimizer(), initial, end, total))
    assert_rel_close(actual, reference(keras_cosine_decay(initial, total, end / initial)))


def keras_inverse_time_decay(initial, decay_steps, decay_rate, staircase):
    """tf.keras.optimizers.schedules.InverseTimeDecay."""

    def fn(step):
        p = step / decay_steps
        if staircase:
            p = math.floor(p)
        return initial / (1 + decay_rate * p)

    return fn


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize(("total", "rate"), [(10, 0.5), (333, 2.0)])
def test_inverse_time_decay_is_keras_inverse_time_decay(staircase, total, rate):
    actual = trace(InverseExponentialTimeDecayLR(make_optimizer(), 0.1, 1, total, rate, staircase))
    assert_rel_close(actual, reference(keras_inverse_time_decay(0.1, total, rate, staircase)))


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay_with_step_exponent(staircase):
    """v = init / (1 + r * a), a = t^k / T (floored with staircase)."""

    def fn(t):
        a = t**1.5 / 40
        return 0.2 / (1 + 0.3 * (math.floor(a) if staircase else a))

    actual = trace(InverseExponentialTimeDecayLR(make_optimizer(), 0.2, 1.5, 40, 0.3, staircase))
    assert_rel_close(actual, reference(fn))


@pytest.mark.parametrize(
    ("initial", "scale", "warmup"), [(1.0, 1.0, 1), (0.5, 0.01, 100), (2.0, 3.0, 4000)]
)
def test_inverse_square_root_decay(initial, scale, warmup):
    actual = trace(InverseSquareRootDecayLR(make_optimizer(), initial, scale, warmup))
    assert_rel_close(actual, reference(lambda t: initial * scale / math.sqrt(max(t, warmup))))


# ----------------------------------------------------------------------------- TF polynomial
def tf_polynomial_decay(initial, decay_steps, end, power, cycle):
    """tf.compat.v1.train.polynomial_decay."""

    def fn(step):
        if cycle:
            multiplier = 1.0 if step == 0 else math.ceil(step / decay_steps)
            steps = decay_steps * multiplier
        else:
            steps = decay_steps
            step = min(step, decay_steps)
        return (initial - end) * (1 - step / steps) ** power + end

    return fn


@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize(
    ("end", "total", "power"), [(0.001, 100, 1.0), (0.0, 300, 2.0), (0.02, 77, 0.5)]
)
def test_polynomial_is_tensorflow_polynomial_decay(cycle, end, total, power):
    actual = trace(PolynomialLR(make_optimizer(), 0.1, end, total, power, cycle))
    assert_rel_close(actual, reference(tf_polynomial_decay(0.1, total, end, power, cycle)))


def test_polynomial_cycle_restarts_after_total_iters():
    """Decision 2: with cycle=True the value rises again after T (Cerebras 2.3 held end)."""
    values = trace(LinearLR(make_optimizer(), 1.0, 0.0, 10, cycle=True), steps=30)
    assert values[10] == 0.0
    assert values[11] == pytest.approx(1 - 11 / 20)
    assert values[20] == pytest.approx(0.0, abs=1e-7)
    assert values[21] == pytest.approx(1 - 21 / 30)


# ----------------------------------------------------------------------------- exponential
@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize(("total", "rate"), [(100, 0.5), (7, 0.9)])
def test_exponential_tf_style(staircase, total, rate):
    """init * rate^(t/T), floored exponent with staircase, no clamp after T."""

    def fn(t):
        e = t / total
        return 0.1 * rate ** (math.floor(e) if staircase else e)

    assert_rel_close(
        trace(ExponentialLR(make_optimizer(), 0.1, total, rate, staircase)),
        reference(fn),
        atol=1e-30,
    )


# ----------------------------------------------------------------------------- piecewise / constant
def test_piecewise_constant():
    milestones, values = [100, 250, 600], [0.1, 0.05, 0.01, 0.001]

    def fn(t):
        return values[sum(t >= m for m in milestones)]

    assert_rel_close(
        trace(PiecewiseConstantLR(make_optimizer(), values, milestones)), reference(fn)
    )


def test_piecewise_constant_with_as_many_values_as_milestones_holds_the_last():
    actual = trace(PiecewiseConstantLR(make_optimizer(), [0.1, 0.01], [10, 20]), steps=30)
    assert actual[9] == pytest.approx(0.1)
    assert actual[10] == pytest.approx(0.01)
    assert actual[30] == pytest.approx(0.01)


def test_constant():
    actual = trace(ConstantLR(make_optimizer(), 0.003, total_iters=5), steps=20)
    assert_rel_close(actual, torch.full((21,), 0.003, dtype=torch.float64))


# ----------------------------------------------------------------------------- lambda
def test_lambda_list_multiplies_the_functions():
    """Decision 3: value = initial x product of the lambdas (no squaring of initial)."""
    actual = trace(
        LambdaLR(make_optimizer(), 0.2, [lambda t: t / 30, lambda t: 0.95**t]), steps=200
    )
    assert_rel_close(
        actual, torch.tensor([0.2 * (t / 30) * 0.95**t for t in range(201)], dtype=torch.float64)
    )


def test_lambda_subclass_overriding_set_value_lambda():
    class Warmup(LambdaLR):
        def set_value_lambda(self):
            return [lambda t: torch.clamp(t / 10, max=1.0)]

    actual = trace(Warmup(make_optimizer(), 0.5), steps=20)
    assert_rel_close(
        actual, torch.tensor([0.5 * min(t / 10, 1.0) for t in range(21)], dtype=torch.float64)
    )


def test_lambda_without_function_is_an_error():
    with pytest.raises(TypeError, match="lr_lambda"):
        LambdaLR(make_optimizer(), 0.1)


# ----------------------------------------------------------------------------- deliberate differences
def test_onecycle_holds_final_value_past_total_steps():
    """Decision 8: past total_steps - 1 the value stays at initial / final_div_factor."""
    values = trace(
        OneCycleLR(make_optimizer(), 0.004, 0.1, total_steps=100, final_div_factor=1e3), steps=300
    )
    assert values[99] == pytest.approx(0.004 / 1e3, rel=1e-6)
    assert torch.all(values[99:] == values[99])


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_onecycle_initial_value_is_the_argument(strategy):
    """initial_learning_rate is torch's max_lr / div_factor: the value at step 0."""
    values = trace(
        OneCycleLR(make_optimizer(), 0.003, 0.3, 200, 0.25, anneal_strategy=strategy), steps=200
    )
    assert values[0] == pytest.approx(0.003, rel=1e-7)
    assert values[49] == pytest.approx(0.3, rel=1e-7)  # end of phase 1: pct_start * N - 1
    assert values[199] == pytest.approx(0.003 / 1e4, rel=1e-6)


@pytest.mark.parametrize("mode", ["triangular2", "exp_range"])
@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_cyclic_honours_scale_mode(mode, scale_mode):
    """Decision 8: scale_mode picks the argument of the mode's scale function (as torch with scale_fn)."""
    scale_fn = (lambda x: 1 / (2.0 ** (x - 1))) if mode == "triangular2" else (lambda x: 0.999**x)
    expected = torch_trace(
        lambda o: T.CyclicLR(
            o, 0.01, 0.1, 20, 30, scale_fn=scale_fn, scale_mode=scale_mode, cycle_momentum=False
        ),
        0.01,
    )
    actual = trace(CyclicLR(make_optimizer(), 0.01, 0.1, 20, 30, mode, 0.999, scale_mode))
    assert_rel_close(actual, expected)


def test_cyclic_scale_mode_changes_exp_range():
    by_cycle = trace(
        CyclicLR(make_optimizer(), 0.01, 0.1, 20, mode="exp_range", gamma=0.99, scale_mode="cycle"),
        200,
    )
    by_step = trace(CyclicLR(make_optimizer(), 0.01, 0.1, 20, mode="exp_range", gamma=0.99), 200)
    assert not torch.allclose(by_cycle, by_step)


@pytest.mark.parametrize(("T_0", "T_mult"), [(5, 1), (4, 2), (2, 3)])
def test_warm_restarts_restart_at_the_spec_points(T_0, T_mult):
    """Decision 1: T_cur counts from the last restart; restarts at T_0 (1 + T_mult + ...)."""
    values = trace(CosineAnnealingWarmRestarts(make_optimizer(), 1.0, T_0, T_mult, 0.0), steps=200)
    restart, period = 0, T_0
    while restart + period <= 200:
        for t_cur in range(period):
            expected = 0.5 * (1 + math.cos(math.pi * t_cur / period))
            assert values[restart + t_cur] == pytest.approx(expected, abs=1e-7)
        restart += period
        period *= T_mult


def test_warm_restarts_is_not_cerebras_square_wave():
    values = trace(CosineAnnealingWarmRestarts(make_optimizer(), 1.0, 10), steps=30)
    assert values[15] == pytest.approx(0.5, abs=1e-6)  # Cerebras 2.3 gave eta_min or initial here


def test_multistep_repeated_milestone_decays_twice():
    values = trace(MultiStepLR(make_optimizer(), 1.0, 0.5, [3, 3]), steps=5)
    assert values.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.25, 0.25, 0.25])


def test_step_staircase_boundaries():
    values = trace(StepLR(make_optimizer(), 1.0, 3, 0.1), steps=7)
    assert values.tolist() == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])


# ----------------------------------------------------------------------------- chained
def test_chained_first_absolute_rest_relative_to_their_initial():
    o = make_optimizer()
    chained = ChainedLR(
        [CosineDecayLR(o, 0.1, 0.0, 100), StepLR(o, 2.0, 10, 0.5), ExponentialLR(o, 4.0, 1, 0.99)]
    )
    cos = keras_cosine_decay(0.1, 100, 0.0)
    assert_rel_close(
        trace(chained), reference(lambda t: cos(t) * (0.5 ** (t // 10)) * 0.99**t), atol=1e-20
    )


def test_chained_cerebras_alias_and_torch():
    """ChainedScheduler (LR alias) of multiplicative shapes equals torch's ChainedScheduler."""
    from waferopt.schedulers import ChainedScheduler

    o = make_optimizer()
    ours = ChainedScheduler([StepLR(o, 0.1, 50, 0.5), ExponentialLR(o, 1.0, 1, 0.999)])
    expected = torch_trace(
        lambda to: T.ChainedScheduler([T.StepLR(to, 50, 0.5), T.ExponentialLR(to, 0.999)]), 0.1
    )
    assert_rel_close(trace(ours), expected)
