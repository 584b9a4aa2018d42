"""Tests that train with PyTorch Lightning and Hugging Face ``Trainer`` through waferopt.

Run through ``nox -s frameworks``, which installs Lightning, transformers and
accelerate next to torch 2.13.0; ``nox -s integration`` does not collect this folder.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # _common, under --import-mode=importlib


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One intra-op thread: the machine is shared, and the weights are compared bitwise."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
