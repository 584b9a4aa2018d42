"""Checkpoints written by the first release (state dicts that were ``__dict__``
snapshots) load into today's schedulers and continue on the same values.

The file ``fixtures/release_0_1_checkpoints.pt`` was written by
``fixtures/make_release_checkpoints.py`` with the first release installed, before the
schedulers were redesigned; it is never regenerated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from waferopt.core import read_group_value

FIXTURES = Path(__file__).with_name("fixtures")
sys.path.insert(0, str(FIXTURES))

from make_release_checkpoints import BUILDERS  # noqa: E402

SAVED = torch.load(FIXTURES / "release_0_1_checkpoints.pt", weights_only=True)


def test_every_builder_has_a_saved_checkpoint():
    assert set(SAVED) == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_release_checkpoint_loads_and_continues(name):
    """Load the saved state into a fresh scheduler: the groups hold the saved step's
    values, and stepping on gives what the uninterrupted run of the release gave."""
    entry = SAVED[name]
    key, make_opt, make = BUILDERS[name]
    assert entry["key"] == key
    optimizer = make_opt()
    scheduler = make(optimizer)
    scheduler.load_state_dict(entry["state"])
    steps, expected = entry["steps"], entry["values"]
    assert int(scheduler.last_epoch) == steps
    for k in range(steps, len(expected)):
        if k > steps:
            scheduler.step()
        got = [float(read_group_value(g, key)) for g in optimizer.param_groups]
        assert got == expected[k], f"{name}: step {k}"
