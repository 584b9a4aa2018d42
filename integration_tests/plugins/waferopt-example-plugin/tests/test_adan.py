"""Adan against a reference written from Algorithm 1 of Xie et al. (2022)."""

from __future__ import annotations

import math

import pytest
import torch
from waferopt_example_plugin import Adan


def adan_reference(theta, grads, lr, betas_paper, eps, weight_decay, no_prox=False):
    """Algorithm 1 of arXiv:2208.06677 in the paper's notation (float64, one tensor).

    m_k = (1-β1) m_{k-1} + β1 g_k
    v_k = (1-β2) v_{k-1} + β2 (g_k - g_{k-1})
    n_k = (1-β3) n_{k-1} + β3 [g_k + (1-β2)(g_k - g_{k-1})]^2
    η_k = η / (sqrt(n_k) + ε)
    θ_{k+1} = (1 + λη)^{-1} [θ_k - η_k ∘ (m_k + (1-β2) v_k)]

    with zero-initialised moments, g_0 := g_1, and each moment divided by its
    bias correction 1 - (1-β)^k, as in the authors' implementation.
    """
    b1, b2, b3 = betas_paper
    theta = theta.double().clone()
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    n = torch.zeros_like(theta)
    prev = None
    for k, g in enumerate(grads, start=1):
        g = g.double()
        diff = torch.zeros_like(g) if prev is None else g - prev
        m = (1 - b1) * m + b1 * g
        v = (1 - b2) * v + b2 * diff
        n = (1 - b3) * n + b3 * (g + (1 - b2) * diff) ** 2
        m_hat = m / (1 - (1 - b1) ** k)
        v_hat = v / (1 - (1 - b2) ** k)
        n_hat = n / (1 - (1 - b3) ** k)
        eta_k = lr / (n_hat.sqrt() + eps)
        if no_prox:
            theta = theta * (1 - lr * weight_decay) - eta_k * (m_hat + (1 - b2) * v_hat)
        else:
            theta = (theta - eta_k * (m_hat + (1 - b2) * v_hat)) / (1 + lr * weight_decay)
        prev = g
    return theta


@pytest.mark.parametrize("no_prox", [False, True])
@pytest.mark.parametrize(
    ("lr", "betas", "weight_decay"),
    [(1e-2, (0.98, 0.92, 0.99), 0.0), (3e-2, (0.9, 0.8, 0.95), 0.05)],
)
def test_matches_algorithm_1(lr, betas, weight_decay, no_prox):
    """20 steps match the paper's algorithm (paper β = 1 - ours)."""
    gen = torch.Generator().manual_seed(0)
    theta0 = torch.randn(6, 5, generator=gen)
    grads = [torch.randn(6, 5, generator=gen) for _ in range(20)]
    p = torch.nn.Parameter(theta0.clone())
    opt = Adan([p], lr=lr, betas=betas, weight_decay=weight_decay, no_prox=no_prox)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    want = adan_reference(
        theta0, grads, lr, tuple(1 - b for b in betas), 1e-8, weight_decay, no_prox
    )
    torch.testing.assert_close(p.detach().double(), want, rtol=2e-5, atol=2e-6)


def test_first_step_is_a_normalised_gradient_step():
    """Step 1: Δ=0, bias-corrected m = n^½ = |g|, so θ moves by η·sign(g) (up to ε)."""
    p = torch.nn.Parameter(torch.zeros(4))
    opt = Adan([p], lr=0.1, eps=0.0)
    p.grad = torch.tensor([2.0, -3.0, 0.5, -0.25])
    opt.step()
    torch.testing.assert_close(p.detach(), -0.1 * torch.sign(p.grad))


def test_proximal_weight_decay_shrinks_a_zero_gradient_param():
    """With g=0 the update is θ/(1+ηλ) (proximal) or θ(1-ηλ) (no_prox) each step."""
    for no_prox, factor in ((False, 1 / (1 + 0.1 * 0.5)), (True, 1 - 0.1 * 0.5)):
        p = torch.nn.Parameter(torch.ones(3))
        opt = Adan([p], lr=0.1, weight_decay=0.5, no_prox=no_prox)
        for _ in range(3):
            p.grad = torch.zeros(3)
            opt.step()
        torch.testing.assert_close(p.detach(), torch.full((3,), factor**3))


def test_minimises_a_quadratic():
    """Adan drives an ill-conditioned quadratic towards its minimum."""
    torch.manual_seed(0)
    scales = torch.tensor([1.0, 10.0, 100.0])
    p = torch.nn.Parameter(torch.tensor([1.0, -1.0, 1.0]))
    opt = Adan([p], lr=0.05)
    start = float((scales * p.detach() ** 2).sum())
    for _ in range(300):
        opt.zero_grad()
        (scales * p**2).sum().backward()
        opt.step()
    assert float((scales * p.detach() ** 2).sum()) < 1e-3 * start


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -1.0}, "lr"),
        ({"betas": (0.9, 0.9)}, "betas"),
        ({"betas": (0.9, 1.0, 0.9)}, "index 1"),
        ({"eps": -1e-8}, "eps"),
        ({"weight_decay": -0.1}, "weight_decay"),
    ],
)
def test_rejects_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adan([torch.nn.Parameter(torch.zeros(2))], **kwargs)


def test_defaults_are_the_papers():
    """Paper defaults β=(0.02, 0.08, 0.01) are (0.98, 0.92, 0.99) in the torch convention."""
    opt = Adan([torch.nn.Parameter(torch.zeros(2))])
    assert all(math.isclose(a, 1 - b) for a, b in zip(opt.defaults["betas"], (0.02, 0.08, 0.01)))
