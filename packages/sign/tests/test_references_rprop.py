"""Rprop follows torch.optim.Rprop (foreach=False) and rewrites p.grad as documented.

Tolerances: none needed in practice (same constants, same per-element operations);
the comparisons use float32 1e-6 / float64 1e-12 relative to allow a reordered
rounding on other platforms.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from waferopt.sign import Rprop

STEPS = 60
TOL = {torch.float32: dict(rtol=1e-6, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-14)}


def make_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(3, 2, 4, dtype=dtype)),
    ]


def run(factory, dtype, second, steps=STEPS):
    params = make_params(dtype)
    opt = factory([{"params": params[:2]}, {"params": params[2:], **second}])
    gen = torch.Generator().manual_seed(1)
    for i in range(steps):
        for p in params:
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
            g = noise + 2.0 * p.detach()
            if i % 5 == 0:
                g[..., 0] = 0  # exact zeros: the "s == 0" branch
            p.grad = g
        opt.step()
    return [p.detach().clone() for p in params]


OPTIONS = [
    dict(lr=lr, etas=etas, step_sizes=sizes)
    for lr, etas, sizes in itertools.product(
        [1e-3, 0.05], [(0.5, 1.2), (0.3, 1.7)], [(1e-6, 50.0), (1e-3, 0.02)]
    )
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())
)
def test_matches_torch(options, dtype):
    second = {"etas": (0.6, 1.1), "step_sizes": (1e-4, 0.5)}
    ours = run(lambda g: Rprop(g, **options), dtype, second)
    ref = run(lambda g: torch.optim.Rprop(g, foreach=False, **options), dtype, second)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_tensor_lr_matches_torch():
    ours = run(lambda g: Rprop(g, lr=torch.tensor(0.01, dtype=torch.float64)), torch.float64, {})
    ref = run(lambda g: torch.optim.Rprop(g, lr=0.01, foreach=False), torch.float64, {})
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL[torch.float64])


def test_cpu_chunking_and_splitting_match_torch(monkeypatch):
    from waferopt.core import foreach as _foreach

    monkeypatch.setattr(_foreach, "CPU_CHUNK_BYTES", 32)
    ours = run(lambda g: Rprop(g, lr=0.01), torch.float32, {})
    ref = run(lambda g: torch.optim.Rprop(g, lr=0.01, foreach=False), torch.float32, {})
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL[torch.float32])


def test_gradient_is_overwritten_in_place():
    """Where the gradient's sign flipped, p.grad (the same tensor) holds 0 afterwards."""
    p = torch.nn.Parameter(torch.zeros(4))
    opt = Rprop([p], lr=0.1)
    p.grad = torch.tensor([1.0, -1.0, 1.0, 0.0])
    opt.step()
    grad = torch.tensor([-2.0, -3.0, 4.0, 5.0])
    p.grad = grad
    opt.step()
    assert p.grad is grad
    assert torch.equal(grad, torch.tensor([0.0, -3.0, 4.0, 5.0]))
    assert torch.equal(opt.state[p]["prev"], grad)
    # step sizes: eta- where flipped, eta+ where agreed, unchanged where a zero was involved
    torch.testing.assert_close(opt.state[p]["step_size"], torch.tensor([0.05, 0.12, 0.12, 0.1]))


def test_state_is_created_at_construction_with_lr():
    p = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))
    opt = Rprop([p], lr=torch.tensor(0.25))
    assert set(opt.state[p]) == {"prev", "step_size"}
    assert torch.equal(opt.state[p]["step_size"], torch.full_like(p, 0.25))
    assert opt.state[p]["step_size"].dtype == torch.float64


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(lr=-1.0), "lr"),
        (dict(etas=(1.5, 1.2)), "etas"),
        (dict(etas=(0.5, 0.9)), "etas"),
        (dict(etas=(0.0, 1.2)), "etas"),
        (dict(etas=0.5), "etas"),
        (dict(etas=("0.5", 1.2)), "etas"),
        (dict(step_sizes=(-1.0, 50.0)), "step_sizes"),
        (dict(step_sizes=(1.0, 0.5)), "step_sizes"),
        (dict(step_sizes=(1e-6,)), "step_sizes"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Rprop([torch.nn.Parameter(torch.zeros(2))], **kwargs)
