"""Adadelta, Adagrad and RMSprop follow torch.optim (foreach=False) step for step.

Every option combination the signatures allow, two param groups with different
settings, float32 and float64, 60 steps. Gradients depend on the trajectory
(``g = noise + 0.3 * p``), so a wrong update shows up in later gradients too.

Tolerances: float64 1e-12 relative (both sides differ only by rounding: multi-tensor
vs for-loop order, Adadelta's single square root of a quotient); float32 1e-5.
Hyperparameters given as 0-d tensors are compared with a looser 1e-6 (float64): a
float32 tensor lr is a rounded 0.05, and Adagrad's lr_decay factor is computed in
float32 as the step counter is (spec: ``state["step"]`` float32).

Adagrad: the spec's default ``eps=1e-6`` differs from torch's 1e-10, so every
Adagrad case passes ``eps`` explicitly to both sides.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from waferopt.adaptive import Adadelta, Adagrad, RMSprop

STEPS = 60
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12)}
TENSOR_TOL = dict(rtol=1e-6, atol=1e-7)


def make_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(3, 2, 4, dtype=dtype)),
        torch.nn.Parameter(torch.randn(1, dtype=dtype)),
    ]


def run(factory, dtype, first, second, steps=STEPS):
    """Two groups: params[:2] with ``first``, params[2:] with ``second``."""
    params = make_params(dtype)
    opt = factory([{"params": params[:2], **first}, {"params": params[2:], **second}])
    gen = torch.Generator().manual_seed(1)
    for i in range(steps):
        for j, p in enumerate(params):
            if j == 3 and i % 7 == 3:
                p.grad = None  # skipped: no update, no state change
                continue
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
            p.grad = noise + 0.3 * p.detach()
        opt.step()
    return [p.detach().clone() for p in params]


def assert_same(ours, ref, **tol):
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **tol)


def ids(options):
    return "-".join(f"{k}={v}" for k, v in options.items())


DTYPES = [torch.float32, torch.float64]

ADAGRAD_OPTIONS = [
    dict(lr_decay=d, weight_decay=w, initial_accumulator_value=a, maximize=m)
    for d, w, a, m in itertools.product([0.0, 0.02], [0.0, 0.1], [0.0, 0.2], [False, True])
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", ADAGRAD_OPTIONS, ids=ids)
def test_adagrad_matches_torch(options, dtype):
    second = {"lr": 0.03, "eps": 1e-6, "lr_decay": 0.05}
    ours = run(lambda g: Adagrad(g, lr=0.1, eps=1e-10, **options), dtype, {}, second)
    ref = run(
        lambda g: torch.optim.Adagrad(g, lr=0.1, eps=1e-10, foreach=False, **options),
        dtype,
        {},
        second,
    )
    assert_same(ours, ref, **TOL[dtype])


ADADELTA_OPTIONS = [
    dict(rho=r, weight_decay=w, maximize=m)
    for r, w, m in itertools.product([0.9, 0.5], [0.0, 0.1], [False, True])
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", ADADELTA_OPTIONS, ids=ids)
def test_adadelta_matches_torch(options, dtype):
    second = {"lr": 0.3, "eps": 1e-4}
    ours = run(lambda g: Adadelta(g, lr=1.0, eps=1e-6, **options), dtype, {}, second)
    ref = run(
        lambda g: torch.optim.Adadelta(g, lr=1.0, eps=1e-6, foreach=False, **options),
        dtype,
        {},
        second,
    )
    assert_same(ours, ref, **TOL[dtype])


RMSPROP_OPTIONS = [
    dict(alpha=a, weight_decay=w, momentum=mu, centered=c)
    for a, w, mu, c in itertools.product([0.99, 0.8], [0.0, 0.1], [0.0, 0.9], [False, True])
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", RMSPROP_OPTIONS, ids=ids)
def test_rmsprop_matches_torch(options, dtype):
    second = {"lr": 0.003, "eps": 1e-6}
    ours = run(lambda g: RMSprop(g, lr=0.01, eps=1e-8, **options), dtype, {}, second)
    ref = run(
        lambda g: torch.optim.RMSprop(g, lr=0.01, eps=1e-8, foreach=False, **options),
        dtype,
        {},
        second,
    )
    assert_same(ours, ref, **TOL[dtype])


def test_groups_with_different_options_match_torch():
    """One group centered with momentum and decay, the other plain: each follows torch."""
    first = {"momentum": 0.9, "centered": True, "weight_decay": 0.05}
    second = {"lr": 0.002, "alpha": 0.9}
    ours = run(lambda g: RMSprop(g, lr=0.01), torch.float64, first, second)
    ref = run(
        lambda g: torch.optim.RMSprop(g, lr=0.01, foreach=False), torch.float64, first, second
    )
    assert_same(ours, ref, **TOL[torch.float64])


T = torch.tensor


@pytest.mark.parametrize(
    ("name", "ours_factory", "torch_factory"),
    [
        (
            "Adagrad",
            lambda g: Adagrad(g, lr=T(0.05), lr_decay=T(0.01), weight_decay=T(0.1), eps=1e-10),
            lambda g: torch.optim.Adagrad(
                g, lr=0.05, lr_decay=0.01, weight_decay=0.1, eps=1e-10, foreach=False
            ),
        ),
        (
            "Adagrad-lr-only",  # tensor lr still takes the fused kernel
            lambda g: Adagrad(g, lr=T(0.05), eps=1e-10),
            lambda g: torch.optim.Adagrad(g, lr=0.05, eps=1e-10, foreach=False),
        ),
        (
            "Adadelta",
            lambda g: Adadelta(g, lr=T(0.5), rho=T(0.9), eps=T(1e-6), weight_decay=T(0.1)),
            lambda g: torch.optim.Adadelta(g, lr=0.5, weight_decay=0.1, foreach=False),
        ),
        (
            "RMSprop",
            lambda g: RMSprop(
                g, lr=T(0.01), alpha=T(0.9), weight_decay=T(0.1), momentum=T(0.5), centered=True
            ),
            lambda g: torch.optim.RMSprop(
                g, lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5, centered=True, foreach=False
            ),
        ),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_tensor_hyperparameters_match_torch(name, ours_factory, torch_factory):
    """0-d float32 tensors (what schedulers write) give torch's trajectory too."""
    ours = run(ours_factory, torch.float64, {}, {})
    ref = run(torch_factory, torch.float64, {}, {})
    assert_same(ours, ref, **TENSOR_TOL)


def test_adagrad_foreach_path_matches_torch(monkeypatch):
    """The multi-tensor formulation (taken under torch.compile) also follows torch."""
    from waferopt.adaptive import functional as module

    def no_fused(*args, **kwargs):
        raise AssertionError("fused=False must not take the fused kernel")

    options = dict(lr=0.1, lr_decay=0.02, weight_decay=0.1, eps=1e-10, maximize=True)
    monkeypatch.setattr(module, "_fused_adagrad", no_fused)
    monkeypatch.setattr(module.F, "fused_supported", lambda params: False)
    ours = run(
        lambda g: Adagrad(g, initial_accumulator_value=0.1, **options),
        torch.float64,
        {},
        {},
    )
    monkeypatch.undo()
    ref = run(
        lambda g: torch.optim.Adagrad(g, initial_accumulator_value=0.1, foreach=False, **options),
        torch.float64,
        {},
        {},
    )
    # the lr_decay factor is computed in the params' dtype: float64 precision here
    assert_same(ours, ref, **TOL[torch.float64])


def test_adagrad_default_eps_is_cerebras():
    """Signature default eps=1e-6 (Cerebras), not torch's 1e-10."""
    assert Adagrad([torch.nn.Parameter(torch.zeros(1))]).defaults["eps"] == 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_cpu_chunking_and_splitting_match_torch(monkeypatch, dtype):
    """With tiny CPU chunks (tensors cut into flat views of 4 elements) nothing changes."""
    from waferopt.core import foreach as _foreach

    monkeypatch.setattr(_foreach, "CPU_CHUNK_BYTES", 32)
    for ours_factory, torch_factory in [
        (
            lambda g: Adadelta(g, weight_decay=0.1),
            lambda g: torch.optim.Adadelta(g, weight_decay=0.1, foreach=False),
        ),
        (
            lambda g: RMSprop(g, momentum=0.9, centered=True),
            lambda g: torch.optim.RMSprop(g, momentum=0.9, centered=True, foreach=False),
        ),
        (
            lambda g: Adagrad(g, lr=T(0.1, dtype=dtype), lr_decay=0.01, eps=1e-10),
            lambda g: torch.optim.Adagrad(g, lr=0.1, lr_decay=0.01, eps=1e-10, foreach=False),
        ),
    ]:
        ours = run(ours_factory, dtype, {}, {"lr": 0.02})
        ref = run(torch_factory, dtype, {}, {"lr": 0.02})
        assert_same(ours, ref, **(TENSOR_TOL if dtype == torch.float64 else TOL[dtype]))
