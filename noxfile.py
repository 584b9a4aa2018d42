"""All automation: tests, lint, demo, bench (and integration, docs).

    pip install nox
    nox -s demo      # train a small model from a Model Zoo style config
    nox -s tests     # every package's tests (Python 3.11, torch 2.13.0)
    nox -s lint      # ruff and mypy
    nox -s bench     # optimizer and scheduler step times against torch.optim

Torch is pinned to 2.13.0 and installed first, on its own, so that no later install
can pull another torch build.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
TORCH = "torch==2.13.0"
DEFAULT_PYTHON = "3.11"

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True


def distributions() -> list[Path]:
    """Every first-party distribution folder, core first."""
    families = sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))
    families.sort(key=lambda p: p.name != "core")
    return [*families, ROOT / "registry"]


def install_waferopt(session: nox.Session, *extras: str, torch: str = TORCH) -> None:
    """Torch first (pinned), then every distribution editable, then test tools."""
    session.install(torch)
    editable: list[str] = []
    for dist in distributions():
        editable += ["-e", str(dist)]
    session.install(*editable, f"--constraint={constraints(session, torch)}")
    if extras:
        session.install(*extras, f"--constraint={constraints(session, torch)}")


def constraints(session: nox.Session, torch: str) -> str:
    """A constraints file that keeps torch at the installed version."""
    path = Path(session.create_tmp()) / "torch-constraint.txt"
    path.write_text(torch + "\n")
    return str(path)


TEST_TOOLS = ("pytest>=8", "pyyaml>=6", "numpy", "tqdm", "matplotlib")


@nox.session(python=DEFAULT_PYTHON)
def tests(session: nox.Session) -> None:
    """Run every package's tests and the registry's."""
    install_waferopt(session, *TEST_TOOLS)
    test_dirs = [str(d / "tests") for d in distributions() if (d / "tests").is_dir()]
    session.run(
        "python",
        "-m",
        "pytest",
        *test_dirs,
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"OMP_NUM_THREADS": "1"},
    )


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and mypy over every package's sources."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    install_waferopt(session, "mypy>=1.10", "pyyaml", "types-PyYAML")
    # waferopt is a namespace package spread over several src/ folders: check it by module.
    sources = [d / "src" for d in distributions()]
    modules = [
        f"waferopt.{m.name}"
        for src in sources
        for m in sorted((src / "waferopt").iterdir())
        if m.is_dir() and not m.name.startswith("_")
    ]
    session.run(
        "mypy",
        *[arg for m in modules for arg in ("-p", m)],
        env={"MYPYPATH": ":".join(str(s) for s in sources)},
    )


@nox.session(python=DEFAULT_PYTHON)
def demo(session: nox.Session) -> None:
    """Train a small model from a Model Zoo style YAML config (examples/demo.py)."""
    install_waferopt(session, "pyyaml>=6", "tqdm")
    session.run("python", "examples/demo.py", *session.posargs, env={"OMP_NUM_THREADS": "1"})


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """Median step times against torch.optim, run side by side (not a test)."""
    install_waferopt(session)
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
