"""SGD and ASGD against torch.optim (trajectories, every option, float32 and float64), and
the functional kernels against the classes."""

from __future__ import annotations

import itertools

import pytest
import torch

from waferopt.sgd import ASGD, SGD

STEPS = 50
# float32: both sides round the same ops in a different order (foreach / fused vs for-loop);
# float64: the scalar state (ASGD's eta and mu, SGD's first-step flag) is float32, as in the spec.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-6, atol=1e-6)}


def make_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(7, 5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(3, 2, 2, dtype=dtype)),
    ]


def groups(params, settings):
    """Two param groups with different settings (the second overrides some)."""
    return [{"params": params[:2]}, {"params": params[2:], **settings}]


def trajectory(factory, dtype, group_settings=None, steps=STEPS):
    params = make_params(dtype)
    opt = factory(groups(params, group_settings or {}))
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen, dtype=dtype)
        opt.step()
    return params, opt


SGD_OPTIONS = [
    dict(momentum=m, dampening=d, nesterov=n, weight_decay=wd, maximize=mx)
    for m, d, n, wd, mx in itertools.product(
        [0.0, 0.9], [0.0, 0.3], [False, True], [0.0, 0.05], [False, True]
    )
    if not (n and (m == 0 or d != 0))
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize(
    "options", SGD_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())
)
def test_sgd_matches_torch(options, fused, dtype):
    """Every option combination, two groups (the second with other lr/weight decay), 50 steps."""
    other = {"lr": 0.02, "weight_decay": 0.1}
    ours, _ = trajectory(lambda g: SGD(g, lr=0.05, fused=fused, **options), dtype, other)
    ref, _ = trajectory(
        lambda g: torch.optim.SGD(g, lr=0.05, foreach=False, **options), dtype, other
    )
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(weight_decay=0.05),
        dict(maximize=True),
        dict(t0=10.0),
        dict(t0=5.0, lambd=1e-2, alpha=0.5),
    ],
)
def test_asgd_matches_torch_including_average(options, dtype):
    """Parameters and the running average ax follow torch.optim.ASGD."""
    ours, opt = trajectory(lambda g: ASGD(g, lr=0.05, **options), dtype, {"lr": 0.01})
    ref, ref_opt = trajectory(
        lambda g: torch.optim.ASGD(g, lr=0.05, foreach=False, **options), dtype, {"lr": 0.01}
    )
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL[dtype])
        torch.testing.assert_close(opt.state[a]["ax"], ref_opt.state[b]["ax"], **TOL[dtype])
        torch.testing.assert_close(opt.state[a]["eta"], ref_opt.state[b]["eta"], rtol=1e-6, atol=0)
        torch.testing.assert_close(opt.state[a]["mu"], ref_opt.state[b]["mu"], rtol=1e-6, atol=0)


def test_tensor_lr_and_weight_decay_match_numbers():
    """0-d tensors in the group (as schedulers write them) give the trajectory of the
    numbers over the full run (the kit's tensor-hyperparameter check runs a few steps)."""
    as_numbers, _ = trajectory(
        lambda g: SGD(g, lr=0.05, momentum=0.9, weight_decay=0.01), torch.float32
    )

    def tensors(g):
        opt = SGD(g, lr=0.05, momentum=0.9, weight_decay=0.01)
        for group in opt.param_groups:
            group["lr"] = torch.tensor(0.05)
            group["weight_decay"] = torch.tensor(0.01)
        return opt

    as_tensors, _ = trajectory(tensors, torch.float32)
    for a, b in zip(as_numbers, as_tensors):
        torch.testing.assert_close(a, b)


def test_functional_kernels_match_the_classes():
    """waferopt.sgd.functional.sgd / asgd, called on plain lists, give the classes' steps."""
    from waferopt.sgd import functional

    params = make_params(torch.float32)
    ref = [p.detach().clone().requires_grad_() for p in params]
    opt = SGD(ref, lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)
    bufs = [torch.zeros_like(p) for p in params]
    first = [torch.ones((), dtype=torch.float32) for _ in params]
    asgd_ref = [p.detach().clone().requires_grad_() for p in params]
    asgd_opt = ASGD(asgd_ref, lr=0.05, t0=2.0, weight_decay=0.1)
    axs = [torch.zeros_like(p) for p in params]
    etas = [torch.tensor(0.05) for _ in params]
    mus = [torch.tensor(1.0) for _ in params]
    steps = [torch.tensor(0.0) for _ in params]
    asgd_params = [p.detach().clone() for p in params]
    gen = torch.Generator().manual_seed(3)
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=gen) for p in params]
        for r, a, g in zip(ref, asgd_ref, grads):
            r.grad, a.grad = g.clone(), g.clone()
        opt.step()
        asgd_opt.step()
        with torch.no_grad():
            functional.sgd(
                params, grads, bufs, first, lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01
            )
            torch._foreach_add_(steps, 1.0)
            functional.asgd(
                asgd_params,
                grads,
                axs,
                etas,
                mus,
                steps,
                lr=0.05,
                lambd=1e-4,
                alpha=0.75,
                t0=2.0,
                weight_decay=0.1,
            )
    for a, b in zip(params, ref):
        torch.testing.assert_close(a.detach(), b.detach())
    for a, b, ax in zip(asgd_params, asgd_ref, axs):
        torch.testing.assert_close(a, b.detach())
        torch.testing.assert_close(ax, asgd_opt.state[b]["ax"])
