"""Lion against a reference written here from the paper, and on a model it trains.

Reference: Chen et al., "Symbolic Discovery of Optimization Algorithms" (2023),
Algorithm 2 ("Lion"): update = sign(beta1 * m + (1 - beta1) * g);
theta <- theta - lr * (update + lambda * theta); m <- beta2 * m + (1 - beta2) * g.

Tolerances: float64 1e-12; float32 1e-6 (ours forms the interpolation with a lerp,
the reference with mul and add: a coordinate whose interpolation rounds to the other
sign would differ by 2 lr, which the fixed seed here does not hit).
"""

from __future__ import annotations

import pytest
import torch

from waferopt.sign import Lion

STEPS = 60
TOL = {torch.float32: dict(rtol=1e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14)}


class PaperLion:
    def __init__(self, groups):
        self.groups = groups
        self.m = {id(p): torch.zeros_like(p) for g in groups for p in g["params"]}

    @torch.no_grad()
    def step(self):
        for group in self.groups:
            lr, wd = group["lr"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                m = self.m[id(p)]
                update = torch.sign(beta1 * m + (1 - beta1) * p.grad)
                p.sub_(lr * (update + wd * p))
                m.copy_(beta2 * m + (1 - beta2) * p.grad)


def make_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(3, 2, 4, dtype=dtype)),
    ]


def drive(opt, params, dtype, steps=STEPS):
    gen = torch.Generator().manual_seed(1)
    for i in range(steps):
        for j, p in enumerate(params):
            if j == 1 and i % 6 == 2:
                p.grad = None
                continue
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
            p.grad = noise + 0.5 * p.detach()
        opt.step()
    return [p.detach().clone() for p in params]


CONFIGS = [
    dict(lr=1e-2, betas=(0.9, 0.99), weight_decay=0.0),
    dict(lr=1e-2, betas=(0.9, 0.99), weight_decay=0.5),
    dict(lr=3e-3, betas=(0.95, 0.98), weight_decay=0.1),
    dict(lr=1e-2, betas=(0.0, 0.5), weight_decay=0.0),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items())
)
def test_matches_paper(config, dtype):
    second = {"lr": 5e-3, "betas": (0.8, 0.9), "weight_decay": 0.2}
    a, b = make_params(dtype), make_params(dtype)
    ours = drive(Lion([{"params": a[:2]}, {"params": a[2:], **second}], **config), a, dtype)
    ref_groups = [{"params": b[:2], **config}, {"params": b[2:], **config, **second}]
    ref = drive(PaperLion(ref_groups), b, dtype)
    for x, y in zip(ours, ref):
        torch.testing.assert_close(x, y, **TOL[dtype])


def test_tensor_hyperparameters_match_numbers():
    dtype = torch.float64
    a, b = make_params(dtype), make_params(dtype)
    t = lambda v: torch.tensor(v, dtype=dtype)  # noqa: E731
    ours = drive(Lion(a, lr=t(1e-2), betas=(t(0.9), t(0.99)), weight_decay=t(0.1)), a, dtype)
    ref = drive(Lion(b, lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1), b, dtype)
    for x, y in zip(ours, ref):
        torch.testing.assert_close(x, y, **TOL[dtype])


def test_cpu_chunking_and_splitting_do_not_change_results(monkeypatch):
    from waferopt.core import foreach as _foreach

    a, b = make_params(torch.float32), make_params(torch.float32)
    ref = drive(Lion(b, lr=1e-2, weight_decay=0.1), b, torch.float32)
    monkeypatch.setattr(_foreach, "CPU_CHUNK_BYTES", 32)
    ours = drive(Lion(a, lr=1e-2, weight_decay=0.1), a, torch.float32)
    for x, y in zip(ours, ref):
        assert torch.equal(x, y)


def test_trains_a_small_model():
    torch.manual_seed(0)
    x = torch.randn(128, 8)
    y = x @ torch.randn(8, 3) + 0.1 * torch.randn(128, 3)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    opt = Lion(model.parameters(), lr=3e-3, weight_decay=0.01)
    first = None
    for _ in range(200):
        loss = torch.nn.functional.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(lr=-1e-4), "lr"),
        (dict(betas=(1.0, 0.99)), "betas"),
        (dict(betas=(0.9, -0.1)), "betas"),
        (dict(betas=(0.9,)), "betas"),
        (dict(weight_decay=-0.1), "weight_decay"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Lion([torch.nn.Parameter(torch.zeros(2))], **kwargs)
