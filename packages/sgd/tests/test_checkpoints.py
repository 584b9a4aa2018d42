"""Checkpoints: a torch.optim.SGD state dict loads and the run continues on torch's
trajectory. (Our own state dicts' bitwise resume and the state dicts that do not fit
are the conformance kit's: test_conformance.py.)"""

from __future__ import annotations

import pytest
import torch

from waferopt.sgd import SGD


def make_params():
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(7, 5)),
        torch.nn.Parameter(torch.randn(5)),
        torch.nn.Parameter(torch.randn(3, 2, 2)),
    ]


@pytest.mark.parametrize("dampening", [0.0, 0.5])
def test_sgd_loads_torch_checkpoint(dampening):
    """A torch.optim.SGD state dict loads and the run continues on torch's trajectory."""
    params = make_params()
    ref = torch.optim.SGD(params, lr=0.05, momentum=0.9, dampening=dampening, foreach=False)
    gen = torch.Generator().manual_seed(5)
    grads = [[torch.randn(p.shape, generator=gen) for p in params] for _ in range(8)]
    for i in range(4):
        for p, g in zip(params, grads[i]):
            p.grad = g.clone()
        ref.step()
    copies = [torch.nn.Parameter(p.detach().clone()) for p in params]
    ours = SGD(copies, lr=0.05, momentum=0.9, dampening=dampening)
    ours.load_state_dict(ref.state_dict())
    for i in range(4, 8):
        for p, q, g in zip(params, copies, grads[i]):
            p.grad, q.grad = g.clone(), g.clone()
        ref.step()
        ours.step()
    for a, b in zip(params, copies):
        torch.testing.assert_close(a, b)
