"""Fresh virtual environments that install built wheels, sharing one torch.

Torch is hundreds of megabytes; installing it into every environment would make
the suite slow (and could tempt pip to fetch another build). Instead the torch
already installed in the interpreter running the tests, and its dependencies,
are linked into one folder (a *farm* of symlinks to the installed top-level
packages and their ``.dist-info``), and each fresh environment gets a ``.pth``
line pointing at it. pip then sees ``torch`` as installed in the environment,
so ``torch>=2.9,<3`` in our metadata is satisfied without any download, and no
waferopt package of the outer interpreter leaks in (only torch's closure is
linked).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap
import venv
from importlib import metadata
from pathlib import Path

from check_versions import ALL, ROOT, distributions
from packaging.requirements import Requirement

FIRST_PARTY = ALL
"""Each first-party distribution → its source folder (the one list, meta included)."""
Role = distributions.Role
PLUGIN_DISTS = [d.name for d in distributions.with_role(Role.FAMILY, Role.SCHEDULERS)]
"""The first-party distributions that register optimizers or schedulers."""
META = next(d.name for d in distributions.with_role(Role.META))
PLUGINS = ROOT / "integration_tests" / "plugins"
EXAMPLE_PLUGIN = PLUGINS / "waferopt-example-plugin"
FIXTURE_PLUGINS = {p.name: p for p in sorted((PLUGINS / "fixtures").iterdir()) if p.is_dir()}


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise with its output (the test shows why)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise AssertionError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def _closure(name: str, seen: dict[str, metadata.Distribution]) -> None:
    key = name.lower().replace("_", "-")
    if key in seen:
        return
    dist = metadata.distribution(name)
    seen[key] = dist
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            _closure(req.name, seen)
        except metadata.PackageNotFoundError:
            continue


def torch_farm(dest: Path) -> Path:
    """Link the running interpreter's torch and its dependency closure into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    dists: dict[str, metadata.Distribution] = {}
    _closure("torch", dists)
    with contextlib.suppress(metadata.PackageNotFoundError):
        _closure("numpy", dists)  # not a torch requirement, but torch warns without it
    for dist in dists.values():
        base = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        for top in sorted(tops):
            if top in ("..", "__pycache__") or top.endswith(".pth"):
                continue
            src, link = base / top, dest / top
            if src.exists() and not link.exists():
                link.symlink_to(src)
    return dest


class Env:
    """A fresh virtual environment (no pip of its own; the outer pip installs into it)."""

    def __init__(self, path: Path, farm: Path, wheelhouse: Path) -> None:
        self.path = path
        self.wheelhouse = wheelhouse
        venv.EnvBuilder(with_pip=False, clear=True).create(path)
        self.python = str(path / "bin" / "python")
        purelib = run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
        Path(purelib, "_waferopt_shared_torch.pth").write_text(f"{farm}\n")

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(
            [sys.executable, "-m", "pip", "--python", self.python, *args],
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )

    def install(self, *requirements: str) -> None:
        """Install from the wheelhouse only: our wheels and the few pure-Python deps."""
        self.pip("install", "--no-index", "--find-links", str(self.wheelhouse), *requirements)

    def uninstall(self, *names: str) -> None:
        self.pip("uninstall", "--yes", *names)

    def py(
        self, code: str, *, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``code`` in the environment (with one torch thread)."""
        cmd = [self.python, "-c", textwrap.dedent(code)]
        full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        full_env.pop("PYTHONPATH", None)
        if check:
            return run(cmd, env=full_env)
        return subprocess.run(cmd, capture_output=True, text=True, env=full_env)

    def json(self, code: str) -> object:
        """Run ``code``, which prints one JSON document last, and parse it."""
        out = self.py(code).stdout.strip().splitlines()
        return json.loads(out[-1])

    def waferopt(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The ``waferopt`` console script of the environment (exit code not checked)."""
        full_env = {**os.environ, **(env or {})}
        full_env.pop("PYTHONPATH", None)
        return subprocess.run(
            [str(self.path / "bin" / "waferopt"), *args],
            capture_output=True,
            text=True,
            env=full_env,
        )

    def installed(self) -> set[str]:
        out = self.pip("list", "--format=json").stdout
        return {d["name"].lower() for d in json.loads(out)}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
