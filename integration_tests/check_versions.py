"""One version for every first-party distribution, and the files that must agree.

waferopt releases all its distributions together (lockstep versioning): each
distribution's ``src/waferopt/<name>/_version.py`` (read by hatchling, the one
place a dist's version is written) holds the same ``__version__``, every
``waferopt-core`` requirement admits exactly that minor series, every torch
requirement is waferopt-core's, the ``waferopt`` meta-distribution has that version
and pins every other at it, and every distribution ships the repository's LICENSE
verbatim. The distributions are the one list of ``waferopt.registry.distributions``.

    python integration_tests/check_versions.py            # check (exit 1 on a mismatch)
    python integration_tests/check_versions.py --set 0.2.0  # bump every dist at once

Runs in ``nox -s lint`` and ``nox -s integration``; stdlib only.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _load_distributions() -> ModuleType:
    """``waferopt.registry.distributions``, loaded by its path (nothing installed)."""
    path = ROOT / "registry" / "src" / "waferopt" / "registry" / "distributions.py"
    spec = importlib.util.spec_from_file_location("_waferopt_distributions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up while building
    spec.loader.exec_module(module)
    return module


distributions = _load_distributions()
"""The one list of first-party distributions (``registry/.../distributions.py``)."""

META = {d.name: ROOT / d.folder for d in distributions.with_role(distributions.Role.META)}
"""The meta-distribution: a static version, and ``==`` pins on the others."""
DISTS = {d.name: ROOT / d.folder for d in distributions.FIRST_PARTY if d.name not in META}
"""Every first-party distribution with code (a ``_version.py``) → its folder."""
ALL = {**DISTS, **META}
"""Every first-party distribution → its folder."""
VERSION_RE = re.compile(r'^__version__ = "([^"]+)"$', re.M)
CORE_PIN_RE = re.compile(r'(?<!name = )"waferopt-(?:core|registry)([^"]*)"')
"""A requirement on waferopt-core or waferopt-registry: the same minor series."""
META_VERSION_RE = re.compile(r'^version = "([^"]+)"$', re.M)
META_PIN_RE = re.compile(r'"(waferopt-[a-z]+(?:\[[a-z,]+\])?)==([^"]+)"')
TORCH_REQ_RE = re.compile(r'"torch([<>=!~][^"]*)"')
TORCH_ALSO = [
    ROOT / "integration_tests" / "plugins" / "waferopt-example-plugin" / "pyproject.toml",
    ROOT / "templates" / "family" / "pyproject.toml.tmpl",
]
"""Files outside DISTS that state the torch range too (the template new families copy)."""


def version_file(dist: Path) -> Path:
    (found,) = (dist / "src" / "waferopt").glob("*/_version.py")
    return found


def core_pin(version: str) -> str:
    """The requirement every dist states on waferopt-core: the same minor series."""
    major, minor = (int(x) for x in version.split(".")[:2])
    return f">={major}.{minor},<{major}.{minor + 1}"


def check() -> list[str]:
    problems = []
    versions = {}
    for name, dist in DISTS.items():
        match = VERSION_RE.search(version_file(dist).read_text())
        if not match:
            problems.append(f"{name}: no __version__ in {version_file(dist)}")
            continue
        versions[name] = match.group(1)
    if len(set(versions.values())) > 1:
        problems.append(f"versions differ: {versions}")
    version = versions.get("waferopt-core", "0.0.0")
    for name, dist in META.items():
        text = (dist / "pyproject.toml").read_text()
        match = META_VERSION_RE.search(text)
        if not match or match.group(1) != version:
            problems.append(f"{name}: version must be {version}, the one of every distribution")
        for req, pin in META_PIN_RE.findall(text):
            if pin != version:
                problems.append(f"{name}: requires {req}=={pin}, expected =={version}")
    licence = (ROOT / "LICENSE").read_text()
    for name, dist in ALL.items():
        text = (dist / "pyproject.toml").read_text()
        if name not in META and 'dynamic = ["version"]' not in text:
            problems.append(f"{name}: version must be dynamic (read from _version.py)")
        for pin in CORE_PIN_RE.findall(text) if name not in ("waferopt-core", *META) else []:
            if pin != core_pin(version):
                problems.append(
                    f"{name}: requires waferopt-core or -registry{pin}, expected {core_pin(version)}"
                )
        copy = dist / "LICENSE"
        if not copy.is_file() or copy.read_text() != licence:
            problems.append(f"{name}: {copy} must be a copy of the repository's LICENSE")
    # one torch range everywhere (the matrix tests its floor: docs/test-matrix.md)
    core_torch = TORCH_REQ_RE.findall((DISTS["waferopt-core"] / "pyproject.toml").read_text())
    for path in [d / "pyproject.toml" for d in DISTS.values()] + TORCH_ALSO:
        for req in TORCH_REQ_RE.findall(path.read_text()) if path.is_file() else []:
            if [req] != core_torch:
                problems.append(
                    f"{path.relative_to(ROOT)}: requires torch{req}, expected "
                    f"torch{''.join(core_torch)} (waferopt-core's)"
                )
    return problems


def bump(new: str) -> None:
    old = VERSION_RE.search(version_file(DISTS["waferopt-core"]).read_text()).group(1)  # type: ignore[union-attr]
    for dist in DISTS.values():
        path = version_file(dist)
        path.write_text(VERSION_RE.sub(f'__version__ = "{new}"', path.read_text()))
        pyproject = dist / "pyproject.toml"
        text = pyproject.read_text()
        for pinned in ("waferopt-core", "waferopt-registry"):
            text = text.replace(f'"{pinned}{core_pin(old)}"', f'"{pinned}{core_pin(new)}"')
        pyproject.write_text(text)
    for dist in META.values():
        pyproject = dist / "pyproject.toml"
        text = META_VERSION_RE.sub(f'version = "{new}"', pyproject.read_text())
        pyproject.write_text(META_PIN_RE.sub(lambda m: f'"{m.group(1)}=={new}"', text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", metavar="VERSION", help="set every distribution's version")
    args = parser.parse_args(argv)
    if args.set:
        bump(args.set)
    problems = check()
    for problem in problems:
        print(f"check_versions: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_versions: {len(ALL)} distributions at one version, LICENSE in each")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
