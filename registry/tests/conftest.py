"""Fixtures: real distributions that importlib.metadata discovers on sys.path."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from waferopt.core import Kind
from waferopt.registry import Registry, get_registry, reset_registry


class FakeSite:
    """A folder on sys.path holding ``.dist-info`` metadata and plugin modules."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(
        self, dist: str, modules: dict[str, str], entry_points: dict[str, str], version: str = "1.0"
    ) -> None:
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
        (info / "entry_points.txt").write_text(f"[waferopt]\n{lines}\n")
        for module, source in modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source))

    def registry(self, **kwargs) -> Registry:
        names = {p.stem for p in self.root.glob("*.py")}
        for name in names:
            sys.modules.pop(name, None)
        return Registry(**kwargs)


def installed(optimizer: str) -> bool:
    """Whether an installed plugin registers the optimizer ``optimizer``."""
    return get_registry().find(optimizer, Kind.OPTIMIZER) is not None


def require_optimizer(optimizer: str) -> None:
    """Skip the test unless the optimizer ``optimizer`` is installed."""
    if not installed(optimizer):
        pytest.skip(f"{optimizer} is not installed")


@pytest.fixture
def site(tmp_path, monkeypatch) -> FakeSite:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return FakeSite(folder)


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Each test starts and ends with a registry that rediscovers plugins."""
    reset_registry()
    yield
    reset_registry()


OPTIMIZER_SOURCE = """
import torch
from waferopt.core import Kind, Optimizer, Registration, hookimpl

class {cls}(Optimizer):
    '''A test optimizer.'''
    def __init__(self, params, lr=0.1, gamma=0.5):
        super().__init__(params, dict(lr=lr, gamma=gamma))
    def preinitialize(self):
        pass
    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    p.sub_(p.grad * g["lr"])

@hookimpl
def register_optimizers():
    return [Registration("{name}", Kind.OPTIMIZER, "{module}:{cls}", description="test optimizer")]
"""


def optimizer_plugin(module: str, name: str, cls: str = "TestOpt") -> str:
    return OPTIMIZER_SOURCE.format(module=module, name=name, cls=cls)
