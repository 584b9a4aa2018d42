"""waferopt.core.distributed on real shards (3 gloo ranks: uneven and empty shards)."""

from __future__ import annotations

import _jobs
import pytest
from _harness import launch, once

TOL = 1e-12
"""float64 sums of a few numbers in another order."""


@once
def results() -> list:
    return launch(_jobs.helpers_job, 3)


CASES = ["rows-uneven", "rows-empty", "cols-uneven", "3d-middle", "vector", "replicated"]


@pytest.mark.parametrize("case", CASES)
def test_helpers_match_the_whole_tensor(case: str) -> None:
    """shard_region is DTensor's own cut; local_part, full_tensor, norms, sums and means
    equal the whole-tensor computation, on every rank."""
    for rank, per_rank in enumerate(results()):
        for what, diff in per_rank[case].items():
            assert diff <= TOL, f"rank {rank}, {case}, {what}: {diff}"


def test_batched_norms_of_differently_cut_tensors() -> None:
    for per_rank in results():
        assert max(per_rank["batched-norms"].values()) <= 1e-5


def test_partial_placement_is_rejected() -> None:
    for per_rank in results():
        assert (
            "Partial" in per_rank["partial"] and "Shard(dim) or Replicate()" in per_rank["partial"]
        )
