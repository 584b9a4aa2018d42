"""Tests of the multi-tensor helpers in ``waferopt.core.foreach``."""

from __future__ import annotations

from collections import defaultdict

import pytest
import torch

from waferopt.core import foreach as F


def _params(n: int = 4) -> list[torch.Tensor]:
    return [torch.full((3,), float(i), requires_grad=True) for i in range(n)]


def test_collect_skips_params_without_grad_and_aligns_state_lists() -> None:
    params = _params()
    for i, p in enumerate(params):
        if i != 1:
            p.grad = torch.full_like(p, 10.0 + i)
    state: defaultdict = defaultdict(dict)
    for p in params:
        state[p]["a"] = p.detach() * 2
        state[p]["b"] = p.detach() * 3
    got, grads, (a, b) = F.collect("X", {"params": params}, state, ("a", "b"))
    expected = [params[0], params[2], params[3]]
    assert [id(p) for p in got] == [id(p) for p in expected]
    assert [id(g) for g in grads] == [id(p.grad) for p in expected]
    assert [id(t) for t in a] == [id(state[p]["a"]) for p in expected]
    assert [id(t) for t in b] == [id(state[p]["b"]) for p in expected]


def test_collect_without_keys_leaves_state_alone() -> None:
    params = _params(2)
    for p in params:
        p.grad = torch.ones_like(p)
    state: defaultdict = defaultdict(dict)
    got, grads, lists = F.collect("X", {"params": params}, state, ())
    assert len(got) == 2 and len(grads) == 2 and lists == []
    assert len(state) == 0


def test_collect_with_no_grads_is_empty() -> None:
    params = _params(2)
    got, grads, lists = F.collect("X", {"params": params}, defaultdict(dict), ("a",))
    assert got == [] and grads == [] and lists == [[]]


def test_collect_rejects_a_sparse_gradient_naming_the_optimizer() -> None:
    params = _params(2)
    params[0].grad = torch.ones_like(params[0])
    params[1].grad = torch.ones_like(params[1]).to_sparse()
    with pytest.raises(ValueError, match="MyOpt does not support sparse gradients"):
        F.collect("MyOpt", {"params": params}, defaultdict(dict), ())


def test_chunks_packs_small_tensors_and_splits_large_ones_into_views() -> None:
    a = [torch.zeros(3), torch.zeros(3), torch.zeros(10), torch.zeros(2)]
    b = [torch.ones_like(t) for t in a]
    pieces = list(F.chunks([a, b], 6))
    sizes = [[t.numel() for t in piece[0]] for piece in pieces]
    assert sizes == [[3, 3], [6], [4], [2]]
    assert all(len(piece) == 2 for piece in pieces)
    # the split pieces are views of the large tensor, in order, in every list
    for piece in pieces[1:3]:
        for lst, src in zip(piece, (a[2], b[2])):
            assert lst[0].untyped_storage().data_ptr() == src.untyped_storage().data_ptr()
    assert pieces[2][0][0].storage_offset() == 6


def test_chunks_without_split_keeps_large_tensors_whole() -> None:
    a = [torch.zeros(10), torch.zeros(2)]
    pieces = list(F.chunks([a], 6, split=False))
    assert [[t.numel() for t in piece[0]] for piece in pieces] == [[10], [2]]
    assert pieces[0][0][0] is a[0]


def test_runs_passed_back_unchanged_are_one_run_without_a_new_split() -> None:
    a = [torch.zeros(2), torch.zeros(2, dtype=torch.float64), torch.zeros(3)]
    b = [torch.ones_like(t) for t in a]
    runs = F.group_by_device_and_dtype([a, b])
    assert sorted(len(r[0]) for r in runs) == [1, 2]
    for run in runs:
        assert F.is_one_run(run) and F.is_one_run(run[1:])  # a part of a run is one too
        again = F.group_by_device_and_dtype(run)
        assert len(again) == 1
        assert [[id(t) for t in lst] for lst in again[0]] == [[id(t) for t in lst] for lst in run]
    f32 = next(r for r in runs if r[0][0].dtype == torch.float32)
    f64 = next(r for r in runs if r[0][0].dtype == torch.float64)
    assert not F.is_one_run([f32[0], f64[1]])  # lists of two runs
    assert not F.is_one_run([list(f32[0]), f32[1]])  # a plain list
    grown = F.group_by_device_and_dtype([a, b])[0]
    grown[0].append(torch.zeros(1))
    assert not F.is_one_run(grown)  # a changed length
    assert F.one_run([a, b]) == [a, b] and F.is_one_run(F.one_run([a, b]))


def test_add_one_adds_exactly_one() -> None:
    steps = [torch.tensor(float(v)) for v in (0.0, 7.0, 2.0**24 - 1.0)]
    steps.append(torch.tensor(3.0, dtype=torch.float64))
    F.add_one_(steps)
    assert [s.item() for s in steps] == [1.0, 8.0, 2.0**24, 4.0]
    assert [s.dtype for s in steps[:3]] == [torch.float32] * 3
    F.add_one_([])


def test_same_dense_layout() -> None:
    """Dense tensors laid out alike walk flat in step (fused kernels apply); a slice, or
    operands with different strides at one index, do not."""
    from waferopt.core.foreach import same_dense_layout

    a, b = torch.randn(3, 4), torch.randn(3, 4)
    t = torch.randn(4, 3).t()
    conv = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last)
    assert same_dense_layout([a, b], [a.clone(), b.clone()])
    assert same_dense_layout([t, conv], [torch.empty_like(t), torch.empty_like(conv)])
    assert same_dense_layout([torch.randn(1, 5).t()], [torch.randn(5, 1)])  # size-1 dims
    assert not same_dense_layout([t], [t.contiguous()])  # grad laid out unlike its param
    sliced = torch.randn(3, 8)[:, ::2]
    assert not same_dense_layout([sliced], [torch.empty_like(sliced)])
    assert not same_dense_layout([torch.randn(4).expand(3, 4)], [torch.randn(3, 4)])
    assert same_dense_layout([], [])
    assert not same_dense_layout([sliced], [torch.empty_like(sliced)], [])  # no state list


@pytest.mark.compile
def test_addcmul_and_addcdiv_with_a_number_compile_to_the_eager_values() -> None:
    """Under torch.compile on the CPU they are written per tensor (Dynamo turns each
    into a fused multiply-add); the values stay those of the eager foreach ops up to
    the product's rounding."""
    gen = torch.Generator().manual_seed(0)
    shapes = [(33,), (4, 16), ()]
    xs = [torch.randn(s, generator=gen) for s in shapes]
    a = [torch.randn(s, generator=gen) for s in shapes]
    b = [torch.rand(s, generator=gen) + 0.5 for s in shapes]

    def step(xs, a, b):
        F.addcmul_(xs, a, b, 0.3)
        F.addcdiv_(xs, a, b, -0.7)

    eager = [x.clone() for x in xs]
    step(eager, a, b)
    torch._dynamo.reset()
    compiled = [x.clone() for x in xs]
    torch.compile(step, fullgraph=True)(compiled, a, b)
    torch._dynamo.reset()
    for got, want in zip(compiled, eager):
        torch.testing.assert_close(got, want, rtol=2e-7, atol=1e-7)


def test_fused_supported_reads_each_kernels_devices_and_dtypes() -> None:
    from waferopt.core.foreach import FUSED_DEVICES, fused_supported

    cpu = [torch.zeros(3), torch.zeros(2, dtype=torch.float64)]
    for kernel in FUSED_DEVICES:
        assert fused_supported(cpu, kernel)
        assert not fused_supported([torch.zeros(3, dtype=torch.int64)], kernel)
        assert not fused_supported([torch.zeros(3, device="meta")], kernel)
    assert fused_supported(cpu)  # the default: torch._fused_sgd_'s devices
    # the tables differ where torch's kernels do: Adagrad's runs on the CPU only
    assert "cuda" in FUSED_DEVICES["adam"] and "cuda" not in FUSED_DEVICES["adagrad"]
    with pytest.raises(ValueError, match=r"kernel='lion'.*adam, sgd, adagrad"):
        fused_supported(cpu, "lion")
