"""Tests of ``waferopt.core.coefficients``: the formulas and the host copy of 0-d state."""

from __future__ import annotations

import gc
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


def test_write_writes_what_fill_writes_bit_for_bit() -> None:
    gen = torch.Generator().manual_seed(0)
    values = [0.9**k for k in range(1, 200, 7)] + [1e-45, 3e-39, 3.4e38, -0.0, math.inf]
    values += torch.rand(50, generator=gen, dtype=torch.float64).tolist()
    for dtype in (torch.float32, torch.float64):
        ts = [torch.zeros((), dtype=dtype) for _ in values]
        expected = [torch.zeros((), dtype=dtype).fill_(v) for v in values]
        half = len(values) // 2
        C.write_(*[([t], v) for t, v in zip(ts[:half], values[:half])], (ts[half:], 0.0))
        C.write_(*[([t], v) for t, v in zip(ts[half:], values[half:])])
        assert all(torch.equal(t, e) for t, e in zip(ts, expected))
    mixed = [torch.zeros(()), torch.zeros((), dtype=torch.float64)]
    C.write_((mixed, 0.1))  # one value in two dtypes: each rounded as its fill_ rounds it
    assert mixed[0].item() == C.float32(0.1) and mixed[1].item() == 0.1
    C.write_(([], 1.0))


def test_fill_remembers_the_value_written() -> None:
    ts = [torch.zeros(()) for _ in range(3)]
    C.fill_(ts, 0.3)
    assert C.mirrored(ts) == C.float32(0.3)
    C.fill_(ts, 0.7)  # written again: the same tensors, the new value
    assert C.mirrored(ts) == C.float32(0.7)
    ts[0].add_(1.0)
    assert C.mirrored(ts) is None


def test_stack_of_0d_tensors_is_torch_stack_eager_and_compiled() -> None:
    scalars = [torch.tensor(float(i) * 0.5 - 3.0) for i in range(11)]
    expected = torch.stack(scalars)
    assert torch.equal(C.stack(scalars), expected)
    assert torch.equal(C.stack(scalars[:1]), expected[:1])
    torch._dynamo.reset()
    compiled = torch.compile(lambda xs: C.stack(xs) * 2, fullgraph=True)  # inductor
    assert torch.equal(compiled(scalars), expected * 2)
    torch._dynamo.reset()


def test_the_realized_copy_computes_once_what_inductor_would_inline() -> None:
    x = torch.rand(7, dtype=torch.float64) + 0.5
    y = torch.randn(7, 64)
    torch._dynamo.reset()
    step = torch.compile(lambda x, y: y * C.once(torch.expm1(x.log())).unsqueeze(-1))
    torch.testing.assert_close(step(x, y), y * torch.expm1(x.log()).unsqueeze(-1))
    assert torch.equal(torch.ops.waferopt.realized(x), x)
    torch._dynamo.reset()


class _Owner:
    pass


def test_packed_state_is_written_by_one_fill_only_when_it_is_all_there() -> None:
    owner = _Owner()
    values = [0.5, 0.25, 0.125]
    ts = C.pack([torch.tensor(v) for v in values], owner)
    assert [t.item() for t in ts] == values and all(t.dim() == 0 for t in ts)
    flat = C.packed(ts)
    assert flat is not None and flat.tolist() == values
    assert C.packed(ts[:2]) is None and C.packed(ts[::-1]) is None  # a part, another order
    version = ts[1]._version
    C.write_((ts, 0.3))
    assert [t.item() for t in ts] == [C.float32(0.3)] * 3
    assert ts[1]._version > version  # one counter for all: host copies are not trusted
    C.write_((ts[:2], 0.7))  # a param without a gradient: the others only
    assert [t.item() for t in ts] == [C.float32(0.7)] * 2 + [C.float32(0.3)]
    replaced = [ts[0], torch.tensor(0.0), ts[2]]
    assert C.packed(replaced) is None
    C.write_((replaced, 0.9))
    assert [t.item() for t in replaced] == [C.float32(0.9)] * 3 and ts[1].item() == C.float32(0.7)
    for t in ts:  # state moved the old way: each tensor on a storage of its own
        t.data = t.data.clone()
    assert C.packed(ts) is None
    C.write_((ts, 0.1))
    assert [t.item() for t in ts] == [C.float32(0.1)] * 3
    del owner
    gc.collect()
    assert C.packed(ts) is None  # the entry went with its owner


def test_pack_leaves_what_it_cannot_pack_alone() -> None:
    owner = _Owner()
    mixed = [torch.tensor(1.0), torch.tensor(2.0, dtype=torch.float64)]
    assert all(a is b for a, b in zip(C.pack(mixed, owner), mixed))
    one = [torch.tensor(1.0)]
    assert C.pack(one, owner)[0] is one[0]
    vectors = [torch.zeros(2), torch.zeros(2)]
    assert all(a is b for a, b in zip(C.pack(vectors, owner), vectors))
