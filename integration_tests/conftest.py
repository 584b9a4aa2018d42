"""Session fixtures: build every distribution once, one torch farm, fresh environments.

Run through ``nox -s integration`` (which installs build, twine, hatchling and
pytest next to torch 2.13.0), or directly with an interpreter that has them:
``python -m pytest integration_tests``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _env import EXAMPLE_PLUGIN, FIRST_PARTY, FIXTURE_PLUGINS, Env, run, torch_farm

# The example plugin's own tests run inside an environment where it is installed.
collect_ignore_glob = ["plugins/*"]


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


def _build(source: Path, out: Path, sdist: bool) -> None:
    # --no-isolation: hatchling comes from the running environment (no download per build).
    formats = ["--sdist", "--wheel"] if sdist else ["--wheel"]
    run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            *formats,
            "--outdir",
            str(out),
            str(source),
        ]
    )
    # build leaves nothing in the source tree with hatchling, but be sure
    shutil.rmtree(source / "dist", ignore_errors=True)


@pytest.fixture(scope="session")
def dist_dir(work: Path) -> Path:
    """sdist and wheel of every first-party distribution and of the example plugin;
    wheels of the fixture plugins."""
    out = work / "dist"
    out.mkdir()
    jobs = [(p, True) for p in [*FIRST_PARTY.values(), EXAMPLE_PLUGIN]]
    jobs += [(p, False) for p in FIXTURE_PLUGINS.values()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: _build(job[0], out, job[1]), jobs))
    return out


@pytest.fixture(scope="session")
def wheelhouse(work: Path, dist_dir: Path) -> Path:
    """Our wheels plus the small dependencies the environments need (pluggy, pytest,
    PyYAML for ``waferopt[modelzoo]``), fetched once by the outer pip; installs then use ``--no-index``."""
    house = work / "wheelhouse"
    house.mkdir()
    for wheel in dist_dir.glob("*.whl"):
        shutil.copy(wheel, house)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--only-binary=:all:",
            "--dest",
            str(house),
            "pluggy>=1.3,<2",
            "pytest>=7",
            "pyyaml>=6",
        ]
    )
    return house


@pytest.fixture(scope="session")
def farm(work: Path) -> Path:
    return torch_farm(work / "torch-farm")


@pytest.fixture(scope="session")
def make_env(work: Path, farm: Path, wheelhouse: Path) -> Callable[..., Env]:
    """``make_env(name, *requirements)``: a fresh environment with those installed."""

    def make(name: str, *requirements: str) -> Env:
        env = Env(work / "envs" / name, farm, wheelhouse)
        if requirements:
            env.install(*requirements)
        return env

    return make
