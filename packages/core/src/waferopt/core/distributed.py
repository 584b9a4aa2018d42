"""Optimizer steps on sharded parameters (``DTensor``: FSDP2, tensor parallelism).

FSDP2 (``torch.distributed.fsdp.fully_shard``) and tensor parallelism hand the
optimizer ``DTensor`` parameters, gradients and (through ``zeros_like``) state: each
rank holds one shard of every tensor. A ``torch._foreach_*`` op on DTensors goes
through DTensor's dispatch on the host, which is slow and, for some op / placement
pairs, fails outright. This module gives the optimizer step two tools:

* **Local shards.** An element-wise rule (every output element depends on the same
  element of its inputs) gives the same numbers on each shard as on the whole
  tensor, so it runs on the shards' local tensors (:func:`local_lists`): the cost is
  that of a plain-tensor step of the shard's size. Core's gather step
  (:func:`waferopt.core.foreach.group_by_device_and_dtype`) does this for every
  family.
* **Whole-tensor reductions.** A rule that reads a whole tensor (a norm, a mean
  over rows or columns, a matrix function) computes the local partial result and
  combines it across the shards: :func:`norms` (one all-reduce of the squared
  norms), :func:`sums` / :func:`means` (row or column sums of a sharded tensor,
  replicated on every rank), :func:`full_tensor` / :func:`local_part` (gather the
  whole tensor where a method needs it, e.g. Newton-Schulz, and take this rank's
  part of a result of the whole tensor's shape).

Every helper takes the *local* tensors the rule works on together with the
*sharded* tensors they come from (``like``), which say how they are cut; for plain
tensors (no DTensor) the helpers reduce to the ordinary single-process computation
and never touch ``torch.distributed``. Placements supported: ``Shard(dim)`` and
``Replicate()`` on any number of mesh dimensions (FSDP2, HSDP, TP); a ``Partial``
parameter is rejected with a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "any_dtensor",
    "full_tensor",
    "has_dtensor",
    "is_dtensor",
    "local",
    "local_lists",
    "local_part",
    "means",
    "norms",
    "shard_region",
    "sum_across_shards",
    "sums",
]

try:  # torch.distributed is optional in a torch build
    from torch.distributed.tensor import DTensor, Replicate, Shard
except ImportError:  # pragma: no cover - builds without distributed support
    DTensor = None  # type: ignore[assignment, misc]
    Replicate = Shard = None  # type: ignore[assignment, misc]


def is_dtensor(t: Any) -> bool:
    """Whether ``t`` is a ``torch.distributed.tensor.DTensor``."""
    return DTensor is not None and isinstance(t, DTensor)


def has_dtensor(tensors: Sequence[Any]) -> bool:
    """Whether any tensor of ``tensors`` is a DTensor."""
    return DTensor is not None and any(isinstance(t, DTensor) for t in tensors)


def any_dtensor(tensorlists: Sequence[Sequence[Any]]) -> bool:
    """Whether any of the tensor lists holds a DTensor (None entries allowed).

    (Runs on every step: eager, the classes of all the tensors are collected by C-level
    iteration and only those few are tested, no Python call per tensor.)
    """
    if DTensor is None:
        return False
    if torch.compiler.is_compiling():
        return any(isinstance(t, DTensor) for lst in tensorlists for t in lst)
    return any(issubclass(c, DTensor) for c in set(map(type, chain.from_iterable(tensorlists))))


def local(t: Tensor) -> Tensor:
    """The local shard of a DTensor (shares its storage: in-place updates reach it);
    any other tensor unchanged."""
    if is_dtensor(t):
        return t.to_local()  # type: ignore[attr-defined]
    return t


def local_lists(tensorlists: Sequence[Sequence[Tensor]]) -> list[list[Tensor]]:
    """Parallel tensor lists with every DTensor replaced by its local shard.

    Returns the lists themselves (as lists) when none holds a DTensor (see
    :func:`any_dtensor`).
    """
    dtensor = DTensor
    if dtensor is None or not any_dtensor(tensorlists):
        return [lst if isinstance(lst, list) else list(lst) for lst in tensorlists]
    if torch.compiler.is_compiling() or torch.is_grad_enabled():
        return [
            [t.to_local() if isinstance(t, dtensor) else t for t in lst]  # type: ignore[attr-defined]
            for lst in tensorlists
        ]
    # Eager, no grad (a step): the shard itself, which to_local() also returns there
    # except for a Parameter, where it makes a new view on every call.
    return [
        [t._local_tensor if isinstance(t, dtensor) else t for t in lst]  # type: ignore[attr-defined]
        for lst in tensorlists
    ]


# ---------------------------------------------------------------- how a tensor is cut
def _check_placements(like: Tensor) -> None:
    for pl in like.placements:  # type: ignore[attr-defined]
        if not isinstance(pl, (Shard, Replicate)):
            raise ValueError(
                f"waferopt.core.distributed: a tensor with placement {type(pl).__name__} ({pl}) "
                "is not supported "
                "(expected Shard(dim) or Replicate() on every mesh dimension); redistribute it "
                "first"
            )


def shard_region(like: Tensor) -> tuple[slice, ...]:
    """The slices of the global tensor that this rank's shard of ``like`` holds.

    For a plain tensor: the whole tensor. ``Shard(d)`` cuts dimension ``d`` as
    ``torch.chunk`` does (the last shards may be smaller or empty), nested in
    mesh-dimension order when several mesh dimensions shard the same dimension.
    """
    if not is_dtensor(like):
        return tuple(slice(None) for _ in like.shape)
    _check_placements(like)
    mesh = like.device_mesh  # type: ignore[attr-defined]
    coord = mesh.get_coordinate()
    if coord is None:  # this rank holds nothing of the mesh
        return tuple(slice(0, 0) for _ in like.shape)
    start = [0] * like.dim()
    size = list(like.shape)
    for mesh_dim, pl in enumerate(like.placements):  # type: ignore[attr-defined]
        if isinstance(pl, Shard):
            d = pl.dim % like.dim()
            n = mesh.size(mesh_dim)
            chunk = -(-size[d] // n) if size[d] else 0
            offset = min(coord[mesh_dim] * chunk, size[d])
            start[d] += offset
            size[d] = max(min(chunk, size[d] - offset), 0)
    return tuple(slice(s, s + n) for s, n in zip(start, size))


def _groups(like: Tensor) -> tuple[Any, ...]:
    """The process groups (one per mesh dimension that shards ``like``) across which a
    partial result of this rank's shard must be summed."""
    if not is_dtensor(like):
        return ()
    _check_placements(like)
    mesh = like.device_mesh  # type: ignore[attr-defined]
    return tuple(
        mesh.get_group(i)
        for i, pl in enumerate(like.placements)  # type: ignore[attr-defined]
        if isinstance(pl, Shard)
    )


def _all_reduce_by_groups(values: list[Tensor], likes: Sequence[Tensor]) -> None:
    """Sum each ``values[i]`` in place across the shards of ``likes[i]``: one
    all-reduce of a flat buffer per set of process groups."""
    batches: dict[tuple[int, ...], tuple[tuple[Any, ...], list[int]]] = {}
    for i, like in enumerate(likes):
        groups = _groups(like)
        if groups:
            key = tuple(id(g) for g in groups)
            batches.setdefault(key, (groups, []))[1].append(i)
    if not batches:
        return
    import torch.distributed as dist

    for groups, idx in batches.values():
        parts = [values[i] for i in idx]
        flat = torch.cat([v.reshape(-1) for v in parts])
        for g in groups:
            dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=g)
        for v, piece in zip(parts, flat.split([v.numel() for v in parts])):
            v.copy_(piece.view_as(v))


# ---------------------------------------------------------------- whole-tensor reductions
def sum_across_shards(values: list[Tensor], like: Sequence[Tensor]) -> None:
    """Sum each ``values[i]``, a partial result over this rank's shard of ``like[i]``
    (a 0-d sum of squares, say), in place across the ranks that shard ``like[i]``; for
    a plain ``like[i]`` it is left as it is. One all-reduce per set of process groups."""
    if len(values) != len(like):
        raise ValueError(
            f"waferopt.core.distributed.sum_across_shards: {len(values)} values for "
            f"{len(like)} tensors"
        )
    _all_reduce_by_groups(values, like)


def norms(tensors: Sequence[Tensor], like: Sequence[Tensor] | None = None) -> list[Tensor]:
    """The 2-norm of each whole tensor, from local shards.

    Args:
        tensors: the local tensors (shards, or plain tensors).
        like: the sharded tensors they are cut like (same length; DTensors or plain
            tensors); None: ``tensors`` are whole tensors.

    Returns:
        0-d tensors (the dtype of :func:`torch._foreach_norm`), equal on every rank.
        One all-reduce per set of process groups, however many tensors.
    """
    if like is not None:
        _check_like(tensors, like)
    if not tensors:
        return []
    if torch.compiler.is_compiling():
        # one norm per tensor, which inductor fuses into the loop that computes its
        # operand; the foreach norm is an opaque call that needs the operand in memory
        local_norms = [torch.linalg.vector_norm(t) for t in tensors]
    else:
        local_norms = list(torch._foreach_norm(list(tensors)))
    if like is None or not has_dtensor(like):
        return local_norms
    values = list(torch._foreach_mul(local_norms, local_norms))
    _all_reduce_by_groups(values, like)
    return list(torch._foreach_sqrt(values))


def sums(
    tensors: Sequence[Tensor], like: Sequence[Tensor], dims: Sequence[tuple[int, ...]]
) -> list[Tensor]:
    """Sum each whole tensor over ``dims[i]`` (keepdim), from local shards.

    ``tensors[i]`` is this rank's shard of a tensor cut like ``like[i]`` (a gradient
    squared, say); the result is the sum of the *whole* tensor over the given
    dimensions, in the whole tensor's shape with size 1 in the summed dimensions,
    the same on every rank (Adafactor's row and column moments). Take this rank's
    part of it with :func:`local_part`. One all-reduce per set of process groups.
    """
    _check_like(tensors, like)
    if len(dims) != len(tensors):
        raise ValueError(
            f"waferopt.core.distributed.sums: {len(tensors)} tensors but {len(dims)} dims"
        )
    out: list[Tensor] = []
    for t, lk, ds in zip(tensors, like, dims):
        ds = tuple(d % max(lk.dim(), 1) for d in ds)
        partial = t.sum(dim=ds, keepdim=True) if ds else t.clone()
        if not is_dtensor(lk):
            out.append(partial)
            continue
        shape = [1 if d in ds else s for d, s in enumerate(lk.shape)]
        full = torch.zeros(shape, dtype=partial.dtype, device=partial.device)
        region = shard_region(lk)
        full[tuple(slice(None) if d in ds else r for d, r in enumerate(region))] = partial
        out.append(full)
    _all_reduce_by_groups(out, like)
    return out


def means(
    tensors: Sequence[Tensor], like: Sequence[Tensor], dims: Sequence[tuple[int, ...]]
) -> list[Tensor]:
    """Like :func:`sums`, divided by the whole tensor's number of elements in ``dims``.

    For a plain ``like[i]`` this is ``tensors[i].mean(dims[i], keepdim=True)``, the
    single-process computation itself.
    """
    _check_like(tensors, like)
    sharded = [i for i, lk in enumerate(like) if is_dtensor(lk)]
    totals = dict(
        zip(
            sharded,
            sums(
                [tensors[i] for i in sharded],
                [like[i] for i in sharded],
                [dims[i] for i in sharded],
            ),
        )
    )
    out = []
    for i, (t, lk, ds) in enumerate(zip(tensors, like, dims)):
        if i in totals:
            count = 1  # (a loop, not math.prod of a generator: Dynamo traces it)
            for d in ds:
                count *= lk.shape[d]
            out.append(totals[i].div_(max(count, 1)))
        else:
            out.append(_mean(t, ds))
    return out


_ROWS_PER_BLOCK = 8
"""Rows summed together first when a compiled step averages over the second-to-last
dimension (see :func:`_mean`)."""


def _mean(t: Tensor, dims: tuple[int, ...]) -> Tensor:
    """``t.mean(dims, keepdim=True)``. Compiled, a mean over the rows of a matrix (the
    second-to-last dimension) first sums blocks of a few consecutive rows: inductor's
    C++ code would otherwise walk each column strip down every row, a stride of a whole
    row per load, and reload the matrix from memory strip after strip."""
    rows = t.dim() - 2
    if (
        torch.compiler.is_compiling()
        and len(dims) == 1
        and rows >= 0
        and dims[0] % t.dim() == rows
        and t.shape[rows] % _ROWS_PER_BLOCK == 0
        and t.shape[rows] > _ROWS_PER_BLOCK
    ):
        n = t.shape[rows]
        blocks = t.unflatten(rows, (n // _ROWS_PER_BLOCK, _ROWS_PER_BLOCK)).sum(rows + 1)
        return blocks.sum(rows, keepdim=True) / n
    return t.mean(dim=dims, keepdim=True)


def local_part(whole: Tensor, like: Tensor) -> Tensor:
    """This rank's part of ``whole``, a tensor in ``like``'s global shape (or with
    size 1 in some dimensions, which broadcast and are kept whole). A view."""
    if not is_dtensor(like):
        return whole
    region = shard_region(like)
    if whole.dim() != like.dim():
        raise ValueError(
            f"waferopt.core.distributed.local_part: a tensor of shape {tuple(whole.shape)} "
            f"is not in the shape of the sharded tensor {tuple(like.shape)}"
        )
    index = tuple(
        slice(None) if whole.shape[d] == 1 and like.shape[d] != 1 else r
        for d, r in enumerate(region)
    )
    return whole[index]


def full_tensor(tensor: Tensor, like: Tensor) -> Tensor:
    """The whole tensor of which ``tensor`` is this rank's shard (cut like ``like``),
    gathered on every rank (for a method that needs the full matrix, e.g. Muon's
    Newton-Schulz iteration). A plain ``like``: ``tensor`` itself."""
    if not is_dtensor(like):
        return tensor
    _check_placements(like)
    return DTensor.from_local(  # type: ignore[union-attr]
        tensor,
        like.device_mesh,  # type: ignore[attr-defined]
        like.placements,  # type: ignore[attr-defined]
        shape=like.shape,
        stride=like.stride(),
        run_check=False,
    ).full_tensor()


def _check_like(tensors: Sequence[Tensor], like: Sequence[Tensor]) -> None:
    if len(tensors) != len(like):
        raise ValueError(
            f"waferopt.core.distributed: {len(tensors)} local tensors but {len(like)} "
            "sharded tensors to cut them like"
        )
