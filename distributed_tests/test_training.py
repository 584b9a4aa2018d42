"""Every first-party optimizer under DDP, FSDP2 and ZeroRedundancyOptimizer agrees with
one process training on the same global batch (tolerance: ``_harness.RTOL``/``ATOL``).

Two jobs: 2 ranks (DDP, ZeRO, FSDP2 with ``reshard_after_forward=True``) and 3 ranks
(FSDP2 with ``reshard_after_forward=False``: uneven shards, one rank holding 1 of 5
rows). Each job trains every optimizer in turn; each (mode, optimizer) is one test.
"""

from __future__ import annotations

import _jobs
import pytest
from _harness import OPTIMIZERS, assert_params_close, launch, once, train_single

NAMES = list(OPTIMIZERS)
JOBS = {
    2: [("ddp", True), ("zero", True), ("fsdp", True)],
    3: [("fsdp", False)],
}
KNOWN_LIMITS: dict[tuple[str, str], str] = {}
"""(mode, optimizer) pairs that do not work yet: strict xfails, so fixing one fails the
test until its entry is removed."""


def known_limit(request: pytest.FixtureRequest, mode: str, name: str) -> None:
    reason = KNOWN_LIMITS.get((mode, name))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


CASES = [(world, mode, reshard) for world, cfgs in JOBS.items() for mode, reshard in cfgs]


COMPILED = ("SGD", "AdamW", "Lamb", "Adafactor", "Muon")
"""Compiled under FSDP2 (2 ranks): element-wise rules with and without a host step,
whole-tensor norms and means (all-reduces inside the graph), a gathered matrix."""


@once
def job(world: int) -> list:
    return launch(_jobs.train_job, world, JOBS[world], NAMES, COMPILED if world == 2 else ())


@once
def reference(name: str, scheduler: bool, evaluate: bool = False) -> tuple:
    return train_single(name, scheduler=scheduler, evaluate=evaluate)


def case_id(case: tuple) -> str:
    world, mode, reshard = case
    return f"{mode}{'' if mode != 'fsdp' else '-reshard' if reshard else '-noreshard'}-{world}ranks"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_single_process(request: pytest.FixtureRequest, case: tuple, name: str) -> None:
    """The params after 4 steps (with an LR schedule, except under ZeRO, whose param
    groups are its own) equal those of one process on the whole batch, on every rank."""
    world, mode, reshard = case
    known_limit(request, mode, name)
    results = job(world)
    expected, _ = reference(name, mode != "zero")
    for rank, per_rank in enumerate(results):
        got = per_rank[(mode, reshard)][name]
        assert "error" not in got, f"rank {rank}: {got.get('tb', got.get('error'))}"
        assert_params_close(got["params"], expected, f"rank {rank}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_schedule_free_eval_average_matches_single_process(case: tuple) -> None:
    """AdamWScheduleFree's eval() after the 4 steps (on every rank; under ZeRO on the
    wrapped optimizers, then ZeRO's broadcast) leaves the average x in the params, the
    same as one process's eval()."""
    world, mode, reshard = case
    name = "AdamWScheduleFree"
    expected, _ = reference(name, mode != "zero", True)
    for rank, per_rank in enumerate(job(world)):
        got = per_rank[(mode, reshard)][name]
        assert "error" not in got, f"rank {rank}: {got.get('tb', got.get('error'))}"
        assert_params_close(got["params_eval"], expected, f"rank {rank}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", [c for c in CASES if c[1] != "zero"], ids=case_id)
def test_scheduler_values_are_plain_and_equal(
    request: pytest.FixtureRequest, case: tuple, name: str
) -> None:
    """The scheduler writes plain 0-d tensors (not DTensors) into the groups, the same
    values on every rank as in one process."""
    world, mode, reshard = case
    known_limit(request, mode, name)
    _, want = reference(name, True)
    for rank, per_rank in enumerate(job(world)):
        got = per_rank[(mode, reshard)][name]
        assert "error" not in got, got.get("error")
        for step, groups in enumerate(got["lrs"]):
            for type_name, is_dtensor, value, dim in groups:
                assert (type_name, is_dtensor, dim) == ("Tensor", False, 0), (rank, step)
                assert value == pytest.approx(want[step], rel=1e-6), (rank, step)


@pytest.mark.parametrize("name", NAMES)
def test_fsdp_state_is_sharded(request: pytest.FixtureRequest, name: str) -> None:
    """Under FSDP2 an element-wise state tensor (the shape of its param) stays a DTensor
    (sharded like the param: its memory is divided among the ranks); scalars are plain."""
    known_limit(request, "fsdp", name)
    got = job(2)[0][("fsdp", True)][name]
    assert "error" not in got, got.get("error")
    for entry in got["state_dtensor"]:
        key, sharded = entry.split(":")
        if key in (
            "exp_avg",
            "exp_avg_sq",
            "momentum_buffer",
            "square_avg",
            "acc_delta",
            "sum",
            "ax",
            "exp_inf",
            "prev",
            "step_size",
        ):
            assert sharded == "True", entry
        if key in ("step", "eta", "mu", "beta1_power", "beta2_power", "mu_product"):
            assert sharded == "False", entry


@pytest.mark.parametrize("name", COMPILED)
def test_compiled_step_under_fsdp2_compiles_once(name: str) -> None:
    """``torch.compile(fullgraph=True)`` of optimizer step + scheduler step under FSDP2
    (2 ranks; Dynamo with the eager backend: inductor's C++ build is not needed to see
    graph breaks and recompiles): one graph for 4 steps, same numbers as one process."""
    expected, _ = reference(name, True)
    for rank, per_rank in enumerate(job(2)):
        got = per_rank[("compile", True)][name]
        assert "error" not in got, f"rank {rank}: {got.get('tb')}"
        assert got["frames"] == 1, f"rank {rank}: {got['frames']} graphs compiled"
        assert_params_close(got["params"], expected, f"rank {rank}")
