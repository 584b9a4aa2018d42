"""Optimizer and scheduler state through torch.distributed.checkpoint (DCP), with
get_optimizer_state_dict / set_optimizer_state_dict, resumed on another number of ranks.

Three jobs: FSDP2 on 2 ranks saves after 2 of 4 steps (checkpoint A) and goes on; one
plain process resumes from A (2 -> 1) and, from scratch, saves checkpoint B after 2
steps; FSDP2 on 2 ranks resumes from B (1 -> 2). Every run ends where one process
training all 4 steps uninterrupted ends (tolerance ``_harness.RTOL``/``ATOL``).
"""

from __future__ import annotations

from pathlib import Path

import _jobs
import pytest
import torch
from _harness import ATOL, RTOL, launch, once, train_single

NAMES = ["SGD", "AdamW", "Lamb", "Adafactor", "RMSprop", "Muon", "AdEMAMix"]
"""Momentum, bias-corrected moments with a host step, whole-tensor norms, factored
moments (replicated vectors beside sharded state), and the modern family's matrix rule."""


@once
def runs(tmp: str) -> dict[str, dict]:
    a, b = f"{tmp}/A", f"{tmp}/B"
    fsdp_save = launch(_jobs.dcp_job, 2, "fsdp", NAMES, [(None, a)])
    plain = launch(_jobs.dcp_job, 1, "plain", NAMES, [(a, None), (None, b)])
    fsdp_load = launch(_jobs.dcp_job, 2, "fsdp", NAMES, [(b, None)])
    return {
        "2 ranks, saving": fsdp_save[0][0],
        "2 -> 1": plain[0][0],
        "1 rank, saving": plain[0][1],
        "1 -> 2 (rank 0)": fsdp_load[0][0],
        "1 -> 2 (rank 1)": fsdp_load[1][0],
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    return runs(str(Path(tmp_path_factory.mktemp("dcp"))))


@pytest.mark.parametrize("name", NAMES)
def test_resumed_runs_continue_on_the_same_trajectory(results: dict, name: str) -> None:
    want, _ = train_single(name)
    for label, per_name in results.items():
        got = per_name[name]
        assert "error" not in got, f"{label}: {got.get('tb')}"
        for key, value in want.items():
            torch.testing.assert_close(
                got["params"][key],
                value,
                rtol=RTOL,
                atol=ATOL,
                msg=lambda m, label=label, key=key: f"{label}, {key}: {m}",
            )
