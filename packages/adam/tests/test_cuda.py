"""CUDA: the same trajectories on the GPU, no host sync in any step, a compiled step.

Skipped without a CUDA device.
"""

from __future__ import annotations

import math

import pytest
import torch

from waferopt.adam import Adam, Adamax, AdamW, Lamb, NAdam, RAdam

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SHAPES = [(64, 32), (33,), (4, 5, 6), (1,)]
STEPS = 30


def make(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen).cuda().requires_grad_() for s in SHAPES]


def set_grads(ps, step):
    gen = torch.Generator().manual_seed(100 + step)
    for p in ps:
        p.grad = torch.randn(p.shape, generator=gen).cuda()


def lr_value(kind, value):
    return torch.tensor(value, device="cuda") if kind == "tensor" else value


TWINS = {
    # name: (ours(params, lr), torch(params), eps placed before the bias correction?)
    "Adam": (
        lambda ps, lr: Adam(ps, lr=lr, eps=1e-3, weight_decay=0.1, amsgrad=True),
        lambda ps: torch.optim.Adam(
            ps, lr=1e-2, eps=1e-3, weight_decay=0.1, amsgrad=True, foreach=False
        ),
        True,
    ),
    "AdamW": (
        lambda ps, lr: AdamW(ps, lr=lr, eps=1e-3, weight_decay=0.1),
        lambda ps: torch.optim.AdamW(ps, lr=1e-2, eps=1e-3, weight_decay=0.1, foreach=False),
        True,
    ),
    "AdamW(unfused)": (
        lambda ps, lr: AdamW(ps, lr=lr, eps=1e-3, weight_decay=0.1, fused=False),
        lambda ps: torch.optim.AdamW(ps, lr=1e-2, eps=1e-3, weight_decay=0.1, foreach=False),
        True,
    ),
    "Adamax": (
        lambda ps, lr: Adamax(ps, lr=lr, eps=1e-6, weight_decay=0.1, maximize=True),
        lambda ps: torch.optim.Adamax(
            ps, lr=1e-2, eps=1e-6, weight_decay=0.1, maximize=True, foreach=False
        ),
        False,
    ),
    "NAdam": (
        lambda ps, lr: NAdam(ps, lr=lr, weight_decay=0.1),
        lambda ps: torch.optim.NAdam(ps, lr=1e-2, weight_decay=0.1, foreach=False),
        False,
    ),
    "RAdam": (
        lambda ps, lr: RAdam(ps, lr=lr, eps=1e-6, weight_decay=0.1),
        lambda ps: torch.optim.RAdam(ps, lr=1e-2, eps=1e-6, weight_decay=0.1, foreach=False),
        False,
    ),
}


@pytest.mark.parametrize("lr_kind", ["number", "tensor"])
@pytest.mark.parametrize("name", list(TWINS))
def test_cuda_trajectory_matches_torch_without_host_sync(name, lr_kind):
    ours_factory, torch_factory, eps_before = TWINS[name]
    ps, ref_ps = make(), make()
    ours, ref = ours_factory(ps, lr_value(lr_kind, 1e-2)), torch_factory(ref_ps)
    for step in range(1, STEPS + 1):
        set_grads(ps, step)
        set_grads(ref_ps, step)
        if eps_before:
            ref.param_groups[0]["eps"] = 1e-3 / math.sqrt(1.0 - 0.999**step)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            ours.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
        ref.step()
    for a, b in zip(ps, ref_ps):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("lr_kind", ["number", "tensor"])
def test_cuda_lamb_steps_without_host_sync(lr_kind):
    ps = make()
    opt = Lamb(ps, lr=lr_value(lr_kind, 1e-2), weight_decay=0.1)
    for step in range(1, 4):
        set_grads(ps, step)
        torch.cuda.set_sync_debug_mode("error")
        try:
            opt.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert all(torch.isfinite(p).all() for p in ps)


@pytest.mark.compile
@pytest.mark.parametrize("cls", [Adam, AdamW, NAdam])
def test_cuda_compiled_step_compiles_once(cls):
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    ps, ref_ps = make(), make()
    opt = cls(ps, lr=torch.tensor(1e-2, device="cuda"), weight_decay=0.1)
    ref = cls(ref_ps, lr=torch.tensor(1e-2, device="cuda"), weight_decay=0.1)
    counter = CompileCounterWithBackend("inductor")
    step = torch.compile(opt.step, backend=counter, fullgraph=True)
    for i in range(4):
        set_grads(ps, i)
        set_grads(ref_ps, i)
        step()
        ref.step()
        for o in (opt, ref):
            o.param_groups[0]["lr"].fill_(1e-2 / (i + 2))
    assert counter.frame_count == 1
    for a, b in zip(ps, ref_ps):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
