"""The functional kernels of waferopt.adaptive, called without an optimizer, give the class's step."""

from __future__ import annotations

import pytest
import torch

from waferopt.adaptive import Adadelta, Adafactor, Adagrad, RMSprop, functional

SHAPES = ((4, 3), (3,), (2, 3, 2))


def params_and_grads(seed=0):
    gen = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in SHAPES]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)
    return params


def kernel_call(name, params, grads, state, steps):
    if name == "Adadelta":
        functional.adadelta(
            params,
            grads,
            state["square_avg"],
            state["acc_delta"],
            lr=0.5,
            rho=0.9,
            eps=1e-6,
            weight_decay=0.1,
        )
    elif name == "Adagrad":
        functional.adagrad(
            params, grads, state["sum"], steps, lr=0.1, lr_decay=0.01, weight_decay=0.1, eps=1e-6
        )
    elif name == "RMSprop":
        functional.rmsprop(
            params,
            grads,
            state["square_avg"],
            state["grad_avg"],
            state["momentum_buffer"],
            lr=0.01,
            alpha=0.9,
            eps=1e-8,
            weight_decay=0.1,
            momentum=0.5,
        )
    else:
        functional.adafactor(
            params,
            grads,
            state["exp_avg_sq_row"],
            state["exp_avg_sq_col"],
            state["exp_avg_sq"],
            steps,
            lr=0.01,
            weight_decay=0.1,
        )


CLASSES = {
    "Adadelta": lambda ps: Adadelta(ps, lr=0.5, rho=0.9, eps=1e-6, weight_decay=0.1),
    "Adagrad": lambda ps: Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.1, eps=1e-6),
    "RMSprop": lambda ps: RMSprop(
        ps, lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5, centered=True
    ),
    "Adafactor": lambda ps: Adafactor(ps, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_kernel_without_optimizer_matches_class(name):
    params = params_and_grads()
    opt = CLASSES[name](params)
    ours = params_and_grads()
    keys = {k for p in params for k in opt.state[p]} - {"step"}
    state = {
        k: [opt.state[p][k].clone() if k in opt.state[p] else None for p in params] for k in keys
    }
    state.setdefault("grad_avg", None)
    state.setdefault("momentum_buffer", None)
    steps = [torch.tensor(0.0) for _ in params]
    for _ in range(3):
        opt.step()
        torch._foreach_add_(steps, 1.0)  # kernels take the step already advanced
        with torch.no_grad():
            kernel_call(name, ours, [p.grad for p in ours], state, steps)
    for a, b in zip(params, ours):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
