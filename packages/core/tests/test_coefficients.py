"""Tests of ``waferopt.core.coefficients``: the formulas and the host copy of 0-d state."""

from __future__ import annotations

import math

import torch

from waferopt.core import coefficients as C


def test_one_minus_pow_is_accurate_for_numbers_and_tensors() -> None:
    beta = 0.999
    for t in (1.0, 2.0, 10.0, 1000.0):
        exact = -math.expm1(t * math.log(beta))
        assert C.one_minus_pow(beta, t) == exact
        got = C.one_minus_pow(beta, torch.tensor([t], dtype=torch.float64))
        assert abs(float(got[0]) - exact) <= 1e-15 * exact


def test_float32_rounds_to_nearest_float32() -> None:
    for x in (0.1, 1 / 3, 0.9 * 0.45, 1e-40):
        assert C.float32(x) == torch.tensor(x, dtype=torch.float32).item()


def test_host_copy_is_trusted_only_while_the_tensor_is_unchanged() -> None:
    ts = [torch.full((), 0.5), torch.full((), 0.5)]
    assert C.mirrored(ts) is None  # never remembered
    C.remember(ts, 0.5)
    assert C.mirrored(ts) == 0.5
    C.fill_(ts, 0.1)
    assert C.mirrored(ts) == C.float32(0.1) == ts[0].item()
    ts[1].mul_(1.0)  # any in-place write makes the copy stale
    assert C.mirrored(ts) is None
    assert C.mirrored([ts[0]]) == ts[0].item()


def test_host_copy_needs_one_value_for_all() -> None:
    ts = [torch.full((), 0.5), torch.full((), 0.25)]
    C.remember(ts, [0.5, 0.25])
    assert C.mirrored(ts) is None
    assert C.mirrored(ts[1:]) == 0.25


def test_host_copy_of_a_dead_tensor_goes() -> None:
    t = torch.full((), 0.5)
    C.remember([t], 0.5)
    key = id(t)
    assert key in C._MIRROR
    del t
    assert key not in C._MIRROR


def test_once_is_the_tensor_eagerly_and_a_copy_of_it_compiled() -> None:
    x = torch.randn(5)
    assert C.once(x) is x
    torch._dynamo.reset()
    got = torch.compile(lambda t: C.once(t.rsqrt()) * 2, backend="eager", fullgraph=True)(x.abs())
    torch.testing.assert_close(got, x.abs().rsqrt() * 2)
