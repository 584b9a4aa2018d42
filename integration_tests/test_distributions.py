"""Every distribution builds an sdist and a wheel whose metadata is right."""

from __future__ import annotations

import email.message
import email.parser
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from _env import EXAMPLE_PLUGIN, FIRST_PARTY, META, PLUGIN_DISTS, ROOT, run
from packaging.requirements import Requirement
from packaging.version import Version

PUBLISHED = [*FIRST_PARTY, "waferopt-example-plugin"]
FAMILIES = PLUGIN_DISTS
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def artifact(dist_dir: Path, name: str, suffix: str) -> Path:
    (found,) = dist_dir.glob(f"{name.replace('-', '_')}-*{suffix}")
    return found


def metadata_of(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        (path,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(zf.read(path).decode())


def files_of(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@pytest.fixture(scope="module")
def metas(dist_dir: Path) -> dict[str, email.message.Message]:
    return {name: metadata_of(artifact(dist_dir, name, ".whl")) for name in PUBLISHED}


def test_every_distribution_has_an_sdist_and_a_wheel(dist_dir: Path) -> None:
    for name in PUBLISHED:
        artifact(dist_dir, name, ".whl")
        sdist = artifact(dist_dir, name, ".tar.gz")
        with tarfile.open(sdist) as tar:
            names = {Path(m).name for m in tar.getnames()}
        assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} <= names, (name, names)


def test_twine_check_passes(dist_dir: Path) -> None:
    """PyPI would accept every artifact (metadata, long description rendering)."""
    files = [str(artifact(dist_dir, n, s)) for n in PUBLISHED for s in (".whl", ".tar.gz")]
    out = run([sys.executable, "-m", "twine", "check", "--strict", *files]).stdout
    assert out.count("PASSED") == len(files), out


def test_one_version_for_every_first_party_distribution(metas) -> None:
    """Lockstep versions: the wheels carry the version of each _version.py, all equal."""
    run([sys.executable, str(ROOT / "integration_tests" / "check_versions.py")])
    versions = {metas[n]["Version"] for n in FIRST_PARTY}
    assert len(versions) == 1, versions
    (version,) = versions
    for name in [*FIRST_PARTY, "waferopt-example-plugin"]:
        for line in metas[name].get_all("Requires-Dist") or []:
            req = Requirement(line)
            if req.name == "waferopt-core":
                assert req.specifier.contains(version), (name, line)


def test_dependency_ranges(metas) -> None:
    """torch is a range 2.13.0 satisfies (and 3.x does not); pluggy a 1.x range."""
    for name, meta in metas.items():
        reqs = {Requirement(r).name: Requirement(r) for r in meta.get_all("Requires-Dist") or []}
        if name not in ("waferopt-registry", META):
            torch = reqs["torch"].specifier
            assert torch.contains("2.13.0") and torch.contains("2.13.0+cpu", prereleases=True)
            assert not torch.contains("3.0.0"), (name, torch)
        for req in reqs.values():
            assert str(req.specifier), f"{name}: unbounded requirement {req}"
    pluggy = {
        Requirement(r).name: Requirement(r) for r in metas["waferopt-core"].get_all("Requires-Dist")
    }["pluggy"].specifier
    assert pluggy.contains("1.3.0") and pluggy.contains("1.6.0") and not pluggy.contains("2.0.0")
    registry = [Requirement(r).name for r in metas["waferopt-registry"].get_all("Requires-Dist")]
    assert {"waferopt-core", "pluggy"} <= set(registry), registry


def test_licence_readme_classifiers(metas, dist_dir: Path) -> None:
    licence = (ROOT / "LICENSE").read_text()
    for name, meta in metas.items():
        assert meta["License-Expression"] == "Apache-2.0", name
        assert meta.get_all("License-File") == ["LICENSE"], name
        wheel = artifact(dist_dir, name, ".whl")
        with zipfile.ZipFile(wheel) as zf:
            (path,) = [n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            assert zf.read(path).decode() == licence, name
        assert meta["Description-Content-Type"] == "text/markdown", name
        assert len(meta.get_payload()) > 200, f"{name}: README too short for a PyPI page"
        classifiers = meta.get_all("Classifier")
        for py in PYTHONS:
            assert f"Programming Language :: Python :: {py}" in classifiers, (name, py)
        assert "Typing :: Typed" in classifiers
        assert Version(meta["Version"]) >= Version("0.1")
        assert meta["Requires-Python"] == ">=3.10", name


def test_typed_namespace_and_entry_points(dist_dir: Path) -> None:
    """py.typed in every package; no waferopt/__init__.py (PEP 420); the entry points."""
    for name in FIRST_PARTY:
        files = files_of(artifact(dist_dir, name, ".whl"))
        if name == META:
            assert not [f for f in files if not f.startswith("waferopt-")], files  # no code
            continue
        sub = name.removeprefix("waferopt-")
        assert f"waferopt/{sub}/py.typed" in files, name
        assert "waferopt/__init__.py" not in files, name
        with zipfile.ZipFile(artifact(dist_dir, name, ".whl")) as zf:
            eps = [n for n in zf.namelist() if n.endswith("entry_points.txt")]
            text = zf.read(eps[0]).decode() if eps else ""
        if name in FAMILIES:
            assert f"[waferopt]\n{sub} = waferopt.{sub}._plugin" in text, (name, text)
        elif name == "waferopt-registry":
            assert "[console_scripts]\nwaferopt = waferopt.registry.cli:main" in text, text
        elif name == "waferopt-modelzoo":
            assert text.strip() == "[waferopt]\nmodelzoo = waferopt.modelzoo._plugin", text
        else:
            assert "[waferopt]" not in text, name
    files = files_of(artifact(dist_dir, "waferopt-example-plugin", ".whl"))
    assert "waferopt_example_plugin/py.typed" in files
    assert (EXAMPLE_PLUGIN / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()


def test_the_meta_distribution_installs_the_usual_sets(metas) -> None:
    """``waferopt`` requires the registry, core, every family and the schedulers, at
    the one version; its extras add Model Zoo support (with PyYAML) and matplotlib."""
    meta = metas[META]
    version = meta["Version"]
    plain: set[str] = set()
    extras: dict[str, set[str]] = {}
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        assert str(req.specifier) == f"=={version}", line
        if req.marker is None:
            plain.add(req.name)
            continue
        extra = next(e for e in ("modelzoo", "plot", "all") if req.marker.evaluate({"extra": e}))
        extras.setdefault(extra, set()).add(f"{req.name}[{','.join(sorted(req.extras))}]")
    assert plain == {"waferopt-core", "waferopt-registry", *PLUGIN_DISTS}
    assert sorted(meta.get_all("Provides-Extra")) == ["all", "modelzoo", "plot"]
    assert extras == {
        "modelzoo": {"waferopt-modelzoo[yaml]"},
        "plot": {"waferopt-modelzoo[plot,yaml]"},
        "all": {"waferopt-modelzoo[plot,yaml]"},
    }
    zoo = {
        Requirement(r).name: Requirement(r)
        for r in metas["waferopt-modelzoo"].get_all("Requires-Dist")
    }
    assert {"waferopt-core", "waferopt-registry", "torch"} <= set(zoo)
    assert {"pyyaml", "matplotlib"} <= set(zoo)
