"""The functional kernels of waferopt.sign, called without an optimizer, give the class's step."""

from __future__ import annotations

import torch

from waferopt.sign import Lion, Rprop, functional


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
