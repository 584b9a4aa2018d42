"""waferopt.core.distributed on plain tensors: the single-process computation itself.

(The sharded behaviour, with real gloo ranks, is tested in ``distributed_tests/``.)
"""

from __future__ import annotations

import pytest
import torch

from waferopt.core import distributed as D


def tensors() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(4, 3, generator=g),
        torch.randn(5, generator=g),
        torch.randn(2, 3, 4, generator=g),
    ]


def test_local_lists_leaves_plain_tensors_alone() -> None:
    """Without DTensors the same tensor objects come back (no copy, no view)."""
    ts = tensors()
    out = D.local_lists([ts, tuple(ts)])
    assert all(a is b for lst in out for a, b in zip(lst, ts))
    assert not D.has_dtensor(ts) and not D.is_dtensor(ts[0])
    assert D.local(ts[0]) is ts[0]


def test_norms_of_plain_tensors_are_foreach_norm() -> None:
    ts = tensors()
    want = [t.norm() for t in ts]
    for got in (D.norms(ts), D.norms(ts, ts)):
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert D.norms([]) == []


def test_means_and_sums_of_plain_tensors() -> None:
    ts = tensors()
    dims = [(-1,), (0,), (0, 2)]
    for got, t, ds in zip(D.means(ts, ts, dims), ts, dims):
        assert torch.equal(got, t.mean(dim=ds, keepdim=True))
    for got, t, ds in zip(D.sums(ts, ts, dims), ts, dims):
        assert torch.equal(got, t.sum(dim=ds, keepdim=True))


def test_whole_tensor_helpers_on_plain_tensors_are_identity() -> None:
    t = tensors()[0]
    assert D.full_tensor(t, t) is t
    assert D.local_part(t, t) is t
    assert D.shard_region(t) == (slice(None), slice(None))


def test_mismatched_lengths_are_an_error() -> None:
    ts = tensors()
    with pytest.raises(ValueError, match="3 local tensors but 2 sharded"):
        D.norms(ts, ts[:2])
    with pytest.raises(ValueError, match="3 tensors but 1 dims"):
        D.sums(ts, ts, [(0,)])


def test_sum_across_shards_leaves_plain_tensors_and_checks_lengths() -> None:
    values = [torch.tensor(2.0), torch.tensor(3.0)]
    like = [torch.zeros(4), torch.zeros(2, 2)]
    D.sum_across_shards(values, like)  # plain tensors: nothing to sum across
    assert [float(v) for v in values] == [2.0, 3.0]
    with pytest.raises(ValueError, match="sum_across_shards: 1 values for 2 tensors"):
        D.sum_across_shards(values[:1], like)


@pytest.mark.compile
def test_compiled_norms_are_the_norms() -> None:
    """Compiled, the norms are one vector norm per tensor (which inductor fuses into the
    loop computing the operand): the same norms, to rounding, of plain and computed tensors."""
    ts = [t.double() for t in tensors()]
    torch._dynamo.reset()
    compiled = torch.compile(lambda xs: D.norms([x * 2.0 for x in xs], xs), fullgraph=True)
    for got, t in zip(compiled(ts), ts):
        torch.testing.assert_close(got, (t * 2.0).norm(), rtol=1e-12, atol=0)


@pytest.mark.compile
def test_compiled_mean_over_rows_sums_blocks_of_rows_first() -> None:
    """Compiled, a mean over the second-to-last dimension sums blocks of rows first (see
    distributed._mean); it is the same mean (to rounding), and other means are torch's."""
    t = torch.randn(3, 64, 24, dtype=torch.float64)
    plain = [torch.zeros(3, 64, 24)] * 3
    dims = [(-2,), (1,), (-1,)]
    torch._dynamo.reset()
    compiled = torch.compile(lambda x: D.means([x, x, x], plain, dims), backend="eager")
    for got, d in zip(compiled(t), dims):
        torch.testing.assert_close(got, t.mean(dim=d, keepdim=True), rtol=1e-12, atol=0)
