"""A legacy short LR name (no ``LR`` suffix) whose package is missing names what to install."""

from __future__ import annotations

import pytest
import torch

from waferopt.core.testing import ReferenceSGD
from waferopt.registry import NotInstalledError, reset_registry
from waferopt.registry.schedulers_config import configure_lr_scheduler


def test_short_lr_name_not_installed_names_the_distribution(monkeypatch):
    """configure_lr_scheduler({"scheduler": "CosineDecay"}) without waferopt-schedulers
    says `pip install waferopt-schedulers`, as "CosineDecayLR" does."""
    monkeypatch.setenv("WAFEROPT_PLUGINS", "waferopt-sgd")
    reset_registry()  # rediscover with only waferopt-sgd loaded
    opt = ReferenceSGD([torch.nn.Parameter(torch.zeros(2))])
    config = {"initial_learning_rate": 0.1, "end_learning_rate": 0.0, "total_iters": 10}
    for name in ("CosineDecay", "cosinedecay", "CosineDecayLR"):
        with pytest.raises(NotInstalledError, match="pip install waferopt-schedulers"):
            configure_lr_scheduler(opt, {"scheduler": name, **config})
