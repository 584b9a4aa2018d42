"""The one list of first-party distributions, against the repository and the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from waferopt.registry._catalogue import NAMES_BY_DISTRIBUTION
from waferopt.registry.distributions import FIRST_PARTY, Role, by_name, with_role

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checkout() -> Path:
    if not (ROOT / "noxfile.py").is_file():
        pytest.skip("not run from a checkout of the repository")
    return ROOT


def test_the_list_is_the_folders_that_hold_a_pyproject(checkout):
    """Every folder of packages/ and registry/ with a pyproject.toml is listed, and
    nothing else; each folder's pyproject names the listed distribution."""
    folders = {p.parent for p in checkout.glob("packages/*/pyproject.toml")}
    folders.add(checkout / "registry")
    assert {checkout / d.folder for d in FIRST_PARTY} == folders
    for dist in FIRST_PARTY:
        text = (checkout / dist.folder / "pyproject.toml").read_text()
        assert re.search(rf'^name = "{re.escape(dist.name)}"$', text, re.M), dist


def test_the_catalogue_names_the_names_of_every_listed_plugin():
    """A missing first-party name says what to install: the catalogue has an entry for
    each family and the schedulers of the list, and for nothing else."""
    plugins = {d.name for d in with_role(Role.FAMILY, Role.SCHEDULERS)}
    assert set(NAMES_BY_DISTRIBUTION) == plugins
    assert all(NAMES_BY_DISTRIBUTION.values())


def test_the_meta_distribution_requires_the_list(checkout):
    """packages/waferopt's requirements are the registry, core, every family and the
    schedulers of the list, each pinned at the one version; its extras add modelzoo."""
    tomllib = pytest.importorskip("tomllib")
    (meta,) = with_role(Role.META)
    project = tomllib.loads((checkout / meta.folder / "pyproject.toml").read_text())["project"]
    version = project["version"]
    expected = [
        d for d in FIRST_PARTY if d.role in (Role.CORE, Role.REGISTRY, Role.FAMILY, Role.SCHEDULERS)
    ]
    assert sorted(project["dependencies"]) == sorted(f"{d.name}=={version}" for d in expected)
    (zoo,) = with_role(Role.EXTENSION)
    extras = project["optional-dependencies"]
    assert set(extras) == {"modelzoo", "plot", "all"}
    assert all(req.startswith(f"{zoo.name}[") for reqs in extras.values() for req in reqs)


def test_the_readme_install_table_lists_every_distribution(checkout):
    readme = (checkout / "README.md").read_text()
    rows = re.findall(r"^\| `(waferopt[-a-z]*)` \| (.*) \|$", readme, re.M)
    assert [name for name, _ in rows] == [d.name for d in FIRST_PARTY]
    assert dict(rows) == {d.name: d.provides for d in FIRST_PARTY}


def test_lookup():
    assert by_name("Waferopt_SGD") is by_name("waferopt-sgd")
    assert by_name("waferopt-sgd").module == "waferopt.sgd"
    assert by_name("waferopt").module is None
    assert by_name("numpy") is None
