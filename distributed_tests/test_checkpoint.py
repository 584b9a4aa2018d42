"""Optimizer and scheduler state through torch.distributed.checkpoint (DCP), with
get_optimizer_state_dict / set_optimizer_state_dict, resumed on another number of ranks,
for every first-party optimizer.

One process (this one, without a process group: DCP's single-process mode) trains 4
steps and saves checkpoint B after 2; one FSDP2 job on 2 ranks resumes from B (1 -> 2)
and, from scratch, saves checkpoint A after 2 steps; this process resumes from A
(2 -> 1). Every run ends where one process training all 4 steps uninterrupted ends
(tolerance ``_harness.RTOL``/``ATOL``), with the same learning rates after each step
(the scheduler's state went through the checkpoint too). One gloo job for every
optimizer: each job pays for starting its processes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import _jobs
import pytest
from _harness import OPTIMIZERS, STEPS, TOYS, assert_params_close, launch, once, train_single

NAMES = [name for name in OPTIMIZERS if name not in TOYS]
"""Every first-party optimizer (test_coverage checks that OPTIMIZERS lists them all)."""
SPLIT = 2
"""Steps taken before a checkpoint is saved."""


def in_this_process(phases: list[tuple[str | None, str | None]]) -> list[dict]:
    with warnings.catch_warnings():
        # DCP without a process group says it assumes one process; schedule-free warns
        # that the test's LR schedule decays
        warnings.simplefilter("ignore", UserWarning)
        return _jobs.dcp_job(0, 1, "plain", NAMES, phases, SPLIT)


@once
def runs(tmp: str) -> dict[str, dict]:
    a, b = f"{tmp}/A", f"{tmp}/B"
    (one_saving,) = in_this_process([(None, b)])
    fsdp = launch(_jobs.dcp_job, 2, "fsdp", NAMES, [(b, None), (None, a)], SPLIT)
    (two_to_one,) = in_this_process([(a, None)])
    return {
        "1 rank, saving": one_saving,
        "1 -> 2 (rank 0)": fsdp[0][0],
        "1 -> 2 (rank 1)": fsdp[1][0],
        "2 ranks, saving (rank 0)": fsdp[0][1],
        "2 ranks, saving (rank 1)": fsdp[1][1],
        "2 -> 1": two_to_one,
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    return runs(str(Path(tmp_path_factory.mktemp("dcp"))))


@once
def reference(name: str) -> tuple:
    return train_single(name)


@pytest.mark.parametrize("name", NAMES)
def test_resumed_runs_continue_on_the_same_trajectory(results: dict, name: str) -> None:
    want, _ = reference(name)
    for label, per_name in results.items():
        got = per_name[name]
        assert "error" not in got, f"{label}: {got.get('tb')}"
        assert_params_close(got["params"], want, label)


@pytest.mark.parametrize("name", NAMES)
def test_scheduler_state_resumes(results: dict, name: str) -> None:
    """A resumed scheduler goes on from its saved step: the same lr after each step as
    the uninterrupted run, and the same step count at the end."""
    _, want = reference(name)
    for label, per_name in results.items():
        got = per_name[name]
        assert "error" not in got, f"{label}: {got.get('error')}"
        first = SPLIT if label.startswith(("1 ->", "2 ->")) else 0
        assert got["lrs"] == pytest.approx(want[first:], rel=1e-12), label
        assert got["sched_steps"] == STEPS, label
