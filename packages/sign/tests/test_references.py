"""The sign family against its references: Lion, Rprop, and the functional kernels.

**Lion** against a reference written here from the paper, and on a model it trains.

Reference: Chen et al., "Symbolic Discovery of Optimization Algorithms" (2023),
Algorithm 2 ("Lion"): update = sign(beta1 * m + (1 - beta1) * g);
theta <- theta - lr * (update + lambda * theta); m <- beta2 * m + (1 - beta2) * g.

Tolerances: float64 1e-12; float32 1e-6 (ours forms the interpolation with a lerp,
the reference with mul and add: a coordinate whose interpolation rounds to the other
sign would differ by 2 lr, which the fixed seed here does not hit).

**Rprop** follows torch.optim.Rprop (foreach=False) and rewrites p.grad as documented.

Tolerances: none needed in practice (same constants, same per-element operations);
the comparisons use float32 1e-6 / float64 1e-12 relative to allow a reordered
rounding on other platforms.

**The functional kernels** of waferopt.sign, called without an optimizer, give the
class's step.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from waferopt.sign import Lion, Rprop, functional

LION_STEPS = 60
LION_TOL = {torch.float32: dict(rtol=1e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14)}


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


def lion_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(3, 2, 4, dtype=dtype)),
    ]


def drive(opt, params, dtype, steps=LION_STEPS):
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
    a, b = lion_params(dtype), lion_params(dtype)
    ours = drive(Lion([{"params": a[:2]}, {"params": a[2:], **second}], **config), a, dtype)
    ref_groups = [{"params": b[:2], **config}, {"params": b[2:], **config, **second}]
    ref = drive(PaperLion(ref_groups), b, dtype)
    for x, y in zip(ours, ref):
        torch.testing.assert_close(x, y, **LION_TOL[dtype])


def test_tensor_hyperparameters_match_numbers():
    dtype = torch.float64
    a, b = lion_params(dtype), lion_params(dtype)
    t = lambda v: torch.tensor(v, dtype=dtype)  # noqa: E731
    ours = drive(Lion(a, lr=t(1e-2), betas=(t(0.9), t(0.99)), weight_decay=t(0.1)), a, dtype)
    ref = drive(Lion(b, lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1), b, dtype)
    for x, y in zip(ours, ref):
        torch.testing.assert_close(x, y, **LION_TOL[dtype])


def test_cpu_chunking_and_splitting_do_not_change_results(monkeypatch):
    from waferopt.core import foreach as _foreach

    a, b = lion_params(torch.float32), lion_params(torch.float32)
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


# ---------------------------------------------------------------------- Rprop
RPROP_STEPS = 60
RPROP_TOL = {torch.float32: dict(rtol=1e-6, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-14)}


def rprop_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(3, 2, 4, dtype=dtype)),
    ]


def run(factory, dtype, second, steps=RPROP_STEPS):
    params = rprop_params(dtype)
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
        torch.testing.assert_close(a, b, **RPROP_TOL[dtype])


def test_tensor_lr_matches_torch():
    ours = run(lambda g: Rprop(g, lr=torch.tensor(0.01, dtype=torch.float64)), torch.float64, {})
    ref = run(lambda g: torch.optim.Rprop(g, lr=0.01, foreach=False), torch.float64, {})
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **RPROP_TOL[torch.float64])


def test_cpu_chunking_and_splitting_match_torch(monkeypatch):
    from waferopt.core import foreach as _foreach

    monkeypatch.setattr(_foreach, "CPU_CHUNK_BYTES", 32)
    ours = run(lambda g: Rprop(g, lr=0.01), torch.float32, {})
    ref = run(lambda g: torch.optim.Rprop(g, lr=0.01, foreach=False), torch.float32, {})
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **RPROP_TOL[torch.float32])


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


# ---------------------------------------------------------------------- functional kernels
def params_and_grads(seed, shapes=((4, 3), (3,))):
    gen = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
    return params


def set_grads(params, seed):
    gen = torch.Generator().manual_seed(100 + seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)


def test_lion_kernel_matches_class():
    params, ours = params_and_grads(0), params_and_grads(0)
    opt = Lion(params, lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1)
    exp_avgs = [torch.zeros_like(p) for p in ours]
    for s in range(4):
        set_grads(params, s)
        set_grads(ours, s)
        opt.step()
        with torch.no_grad():
            functional.lion(
                ours,
                [p.grad for p in ours],
                exp_avgs,
                lr=1e-2,
                beta1=0.9,
                beta2=0.99,
                weight_decay=0.1,
            )
    for a, b in zip(params, ours):
        assert torch.equal(a, b)


def test_rprop_kernel_matches_class():
    params, ours = params_and_grads(1), params_and_grads(1)
    opt = Rprop(params, lr=1e-2)
    prevs = [torch.zeros_like(p) for p in ours]
    sizes = [torch.full_like(p, 1e-2) for p in ours]
    for s in range(4):
        set_grads(params, s)
        set_grads(ours, s)
        opt.step()
        with torch.no_grad():
            functional.rprop(
                ours,
                [p.grad for p in ours],
                prevs,
                sizes,
                etaminus=0.5,
                etaplus=1.2,
                step_size_min=1e-6,
                step_size_max=50.0,
            )
    for a, b in zip(params, ours):
        assert torch.equal(a, b)
