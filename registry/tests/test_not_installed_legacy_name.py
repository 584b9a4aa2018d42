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


def test_not_installed_gives_the_index_and_the_checkout_forms(monkeypatch):
    """The registry is installed from this checkout: the hint gives both install forms,
    the second with the family's folder."""
    from waferopt.registry.install import checkout_root

    root = checkout_root()
    if root is None:
        pytest.skip("the registry was not installed from a checkout")
    monkeypatch.setenv("WAFEROPT_PLUGINS", "waferopt-sgd")
    registry = reset_registry()
    with pytest.raises(NotInstalledError) as info:
        registry.resolve("AdamW")
    message = str(info.value)
    assert "'waferopt-adam'" in message and "pip install waferopt-adam (from an index)" in message
    assert f"{root / 'packages' / 'adam'} (from this checkout)" in message
    assert (root / "packages" / "adam" / "pyproject.toml").is_file()


def test_optim_build_without_modelzoo_says_what_to_install(monkeypatch):
    import sys

    import waferopt.optim as optim

    monkeypatch.setitem(sys.modules, "waferopt.modelzoo", None)
    with pytest.raises(
        ModuleNotFoundError,
        match=r"optim.build needs .*'waferopt-modelzoo'.*pip install waferopt-modelzoo",
    ):
        optim.build(torch.nn.Linear(2, 2), {"optimizer": {"SGD": {"lr": 0.1}}})


def test_without_a_checkout_the_hint_is_the_index_form(monkeypatch):
    """A registry installed from an index or a wheel file sees no checkout."""
    from waferopt.registry import install

    monkeypatch.setattr(install, "_registry_folder", lambda: (None, False))
    assert install.checkout_root() is None
    assert install.install_hint("waferopt-adam") == "pip install waferopt-adam"
    assert install.install_hint("not-ours") == "pip install not-ours"
