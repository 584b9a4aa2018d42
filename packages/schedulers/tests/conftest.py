"""A minimal waferopt optimizer for the scheduler tests (no other family is imported)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from _sched_helpers import PlainSGD, make_optimizer


@pytest.fixture
def optimizer() -> PlainSGD:
    return make_optimizer()


@pytest.fixture
def tagged_optimizer() -> PlainSGD:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(2))], "tags": "encoder"},
        {"params": [torch.nn.Parameter(torch.zeros(2))], "tags": ["decoder", "embedding"]},
        {"params": [torch.nn.Parameter(torch.zeros(2))]},
    ]
    return PlainSGD(params)
