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

import os
import re
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).parent
TORCH = "torch==2.13.0"
DEFAULT_PYTHON = "3.11"

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True


def distributions() -> list[Path]:
    """Every first-party distribution folder with code, core first: the one list
    (registry/src/waferopt/registry/distributions.py, read through check_versions)."""
    sys.path.insert(0, str(ROOT / "integration_tests"))
    from check_versions import DISTS

    return list(DISTS.values())


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


TEST_TOOLS = ("pytest>=8", "pyyaml>=6", "numpy", "tqdm", "matplotlib", "hypothesis>=6")
REFERENCES = ("schedulefree", "prodigyopt", "pytorch_optimizer")
"""Reference implementations that waferopt-modern's trajectory tests (and its bench rows)
compare against: installed into the session only, never a package dependency."""


# ---------------------------------------------------------------- tests and the matrix
# The default cell (what CI runs as `nox -s tests`): Python 3.11, torch 2.13.0, the
# newest pluggy our range admits. `nox -s tests_matrix` runs every cell of
# Python 3.10-3.13 x torch {oldest admitted, 2.13.0} x pluggy {oldest, newest}; see
# docs/test-matrix.md for what ran where. A matrix cell first asks for torch's CPU build
# (`X+cpu`, which PyPI does not carry). Where none is reachable the cell skips, unless
# WAFEROPT_MATRIX_PYPI_TORCH=1 asks it to install PyPI's build (for Linux, a CUDA build
# that also runs on CPU: gigabytes with its NVIDIA runtime wheels, kept in a wheelhouse).


def oldest_admitted_torch() -> str:
    """The oldest torch release our metadata admits, read from waferopt-core's
    `torch>=X.Y` (every distribution states the same range): "X.Y.0"."""
    text = (ROOT / "packages" / "core" / "pyproject.toml").read_text()
    match = re.search(r'"torch>=(\d+)\.(\d+)(?:\.(\d+))?[,"]', text)
    if match is None:
        raise RuntimeError("packages/core/pyproject.toml states no torch>=X.Y requirement")
    return ".".join(part or "0" for part in match.groups())


TORCH_VERSIONS = (oldest_admitted_torch(), TORCH.removeprefix("torch=="))
"""The oldest torch release our metadata admits and the pinned one."""
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PLUGGY = {"oldest": "pluggy==1.3.0", "newest": "pluggy>=1.3,<2"}
"""pluggy at the bottom of our range (`pluggy>=1.3,<2`) and the newest release in it."""
PYTEST_FOR_PLUGGY = {"oldest": "pytest>=7.4,<8", "newest": "pytest>=8"}
"""pytest shares the interpreter's pluggy: pytest 8 needs pluggy>=1.5, so the oldest
pluggy cell runs pytest 7.4."""
MATRIX = [
    (py, torch)
    for torch in TORCH_VERSIONS
    for py in PYTHONS
    # torch publishes Python 3.13 wheels from 2.5 on
    if not (py == "3.13" and tuple(map(int, torch.split(".")[:2])) < (2, 5))
]
PYPI_TORCH_ENV = "WAFEROPT_MATRIX_PYPI_TORCH"
"""Set to 1 to let a matrix cell without a reachable CPU build install PyPI's torch."""
WHEELHOUSE_ENV = "WAFEROPT_MATRIX_WHEELHOUSE"
"""Where PyPI's torch wheels are kept between cells (default: ~/.cache/waferopt/matrix-wheels)."""


def pypi_torch_allowed(session: nox.Session) -> bool:
    """Whether WAFEROPT_MATRIX_PYPI_TORCH asks for PyPI's torch (1/true/yes or 0/false/no)."""
    value = os.environ.get(PYPI_TORCH_ENV, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    session.error(f"{PYPI_TORCH_ENV}={value!r}: expected 1 (install PyPI's torch) or 0")
    raise AssertionError("unreachable")  # session.error raises


def matrix_wheelhouse() -> Path:
    """The folder that keeps PyPI's torch and its dependencies for every later cell.

    pip's HTTP cache keeps only responses that carry caching headers; where a proxy
    strips them (as on the project's machines) every cell would download gigabytes
    again, so the wheels are downloaded once into this folder and installed from it.
    """
    if os.environ.get(WHEELHOUSE_ENV):
        return Path(os.environ[WHEELHOUSE_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "waferopt" / "matrix-wheels"


def install_matrix_torch(session: nox.Session, version: str) -> str:
    """Install the cell's torch and return the requirement that pins it.

    The CPU build (`X+cpu`) when an index or find-links folder has one; otherwise PyPI's
    build when WAFEROPT_MATRIX_PYPI_TORCH=1, through the wheelhouse (`pip download`
    skips the files already there, then the install reads only the wheelhouse);
    otherwise the cell skips, saying why.
    """
    cpu = f"torch=={version}+cpu"
    try:
        session.install(cpu, "--only-binary=torch", silent=True)
        return cpu
    except CommandFailed:
        if not pypi_torch_allowed(session):
            session.skip(
                f"no CPU build of torch {version} for Python {session.python} in the "
                f"configured indexes; {PYPI_TORCH_ENV}=1 installs PyPI's build instead "
                "(a CUDA build, gigabytes), or add https://download.pytorch.org/whl/cpu "
                "as an extra index"
            )
    pypi = f"torch=={version}"
    house = matrix_wheelhouse()
    house.mkdir(parents=True, exist_ok=True)
    session.log(f"no CPU build of torch {version}: PyPI's, through {house} ({PYPI_TORCH_ENV}=1)")
    session.run("python", "-m", "pip", "download", pypi, "--only-binary=:all:", f"--dest={house}")
    session.install(pypi, "--no-index", f"--find-links={house}")
    return pypi


def run_tests(session: nox.Session, torch: str, pluggy: str) -> None:
    """Install torch, every distribution editable, the tools, then run every test folder."""
    tools = [t for t in TEST_TOOLS if not t.startswith("pytest")]
    install_waferopt(session, PYTEST_FOR_PLUGGY[pluggy], *tools, *REFERENCES, torch=torch)
    session.install(
        PLUGGY[pluggy], PYTEST_FOR_PLUGGY[pluggy], f"--constraint={constraints(session, torch)}"
    )
    session.run(
        "python",
        "-c",
        "import sys, torch, pluggy, pytest; print('cell: Python', sys.version.split()[0], "
        "'torch', torch.__version__, 'pluggy', pluggy.__version__, 'pytest', pytest.__version__)",
    )
    test_dirs = [str(d / "tests") for d in distributions() if (d / "tests").is_dir()]
    test_dirs += DOCS_TESTS_IN_SUITE
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
def tests(session: nox.Session) -> None:
    """Run every package's tests and the registry's (the default matrix cell)."""
    run_tests(session, TORCH, "newest")


@nox.session(name="tests_matrix")
@nox.parametrize(
    ("python", "torch"),
    [nox.param(py, torch, id=f"{py}-torch{torch}") for py, torch in MATRIX],
)
@nox.parametrize("pluggy", list(PLUGGY))
def tests_matrix(session: nox.Session, torch: str, pluggy: str) -> None:
    """One cell of Python x torch x pluggy (`nox -l` lists them).

    Torch is the CPU build, or PyPI's when WAFEROPT_MATRIX_PYPI_TORCH=1 (see
    install_matrix_torch)."""
    run_tests(session, install_matrix_torch(session, torch), pluggy)


@nox.session(python=DEFAULT_PYTHON)
def integration(session: nox.Session) -> None:
    """Build every wheel and sdist, install them into fresh virtual environments, prove
    the plugin mechanics for real (integration_tests/). One torch, shared by every
    environment: no environment downloads torch."""
    session.install(TORCH)
    session.install(
        "build>=1.2",
        "twine>=5",
        "hatchling>=1.27",
        "packaging>=23",
        "pytest>=8",
        "numpy",
        f"--constraint={constraints(session, TORCH)}",
    )
    session.run("python", "integration_tests/check_versions.py")
    session.run(
        "python",
        "-m",
        "pytest",
        "integration_tests",
        "--ignore=integration_tests/frameworks",  # nox -s frameworks runs them
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"OMP_NUM_THREADS": "1"},
    )


FRAMEWORKS = ("lightning>=2.6,<3", "transformers>=5.24,<6", "accelerate>=1.15")
"""The training frameworks `nox -s frameworks` drives waferopt through (test-only; the
floors are the releases it ran with: transformers 5.24 has `train_sampling_strategy`)."""


@nox.session(python=DEFAULT_PYTHON)
def frameworks(session: nox.Session) -> None:
    """Train with PyTorch Lightning and Hugging Face Trainer through waferopt (optional).

    Not part of the default run nor of CI: it installs Lightning, transformers and
    accelerate (with torch held at 2.13.0) and runs integration_tests/frameworks/.
    """
    install_waferopt(session, "pytest>=8", *FRAMEWORKS)
    session.run(
        "python",
        "-c",
        "from importlib.metadata import version as v; print('frameworks:', *(f'{d} {v(d)}' "
        "for d in ('torch', 'lightning', 'transformers', 'accelerate')))",
    )
    session.run(
        "python",
        "-m",
        "pytest",
        "integration_tests/frameworks",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"OMP_NUM_THREADS": "1"},
    )


@nox.session(python=DEFAULT_PYTHON)
def distributed(session: nox.Session) -> None:
    """Real multi-process jobs (gloo on loopback, 2 and 3 ranks): DDP, FSDP2, ZeRO and
    distributed checkpoints against one process (distributed_tests/)."""
    install_waferopt(session, "pytest>=8", "numpy")  # torch.distributed.checkpoint uses numpy
    session.run(
        "python",
        "-m",
        "pytest",
        "distributed_tests",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"},
    )


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and mypy over every package's sources."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "integration_tests/check_versions.py")
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
    install_waferopt(session, "pyyaml>=6", "tqdm", "numpy")
    session.run("python", "examples/demo.py", *session.posargs, env={"OMP_NUM_THREADS": "1"})


BENCH_RESULTS = ROOT / "docs" / "_data" / "bench-results.json"
"""What `nox -s bench` writes (each script its section, with the machine) and the
benchmarks page of the docs renders its tables from."""


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """Median step times against torch.optim, run side by side (not a test); the results,
    with the machine, go to docs/_data/bench-results.json (the docs' benchmark tables).

    `nox -s bench -- --rounds 3 --only adam` passes its options to every script; a
    script writes its own section only, so a partial run replaces only what it ran."""
    install_waferopt(session, *REFERENCES)
    try:  # optional yardstick of benchmarks/cases_modern.py (a compile-first library)
        session.install("heavyball", f"--constraint={constraints(session, TORCH)}")
    except CommandFailed:
        session.log("heavyball did not install: its rows are left out")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), f"--results={BENCH_RESULTS}", *session.posargs)


# ---------------------------------------------------------------- docs
# docs/README.md says why this toolchain. The pins are the versions the site was last
# checked with (a theme release can move the search box or the navigation markup that
# docs/tests/test_site.py reads).
DOCS_TOOLS = (
    "sphinx==9.0.4",
    "myst-parser==5.2.0",
    "pydata-sphinx-theme==0.24.0",
    "sphinx-mathjax-offline==0.0.2",
    "matplotlib",
    "pyyaml>=6",
    "pytest>=8",
    "selenium==4.40.0",
    # what the how-to guides run their examples with
    "lightning",
    "transformers",
    "accelerate>=1.1",
)
DOCS_TESTS_IN_SUITE = [
    str(ROOT / "docs" / "tests" / t) for t in ("test_citations.py", "test_lists.py")
]
"""The docs tests that need nothing but the checkout: `nox -s tests` runs them too."""


@nox.session(python=DEFAULT_PYTHON)
def docs(session: nox.Session) -> None:
    """Check every citation and run every code example of docs/, build the site with
    warnings as errors, then open it in headless Chromium (links, gallery, search).

    `nox -s docs -- --no-browser` skips the Chromium step (e.g. on a machine without
    the `chromium` and `chromium-driver` packages and without root to install them)."""
    install_waferopt(session, *DOCS_TOOLS)
    browser = "--no-browser" not in session.posargs
    env = {"OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    pytest = ("python", "-m", "pytest", "-p", "no:cacheprovider", "-q")
    session.run(*pytest, "docs/tests", "--ignore=docs/tests/test_site.py", env=env)
    out = ROOT / "docs" / "_build" / "html"
    session.run(
        "python", "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d",
        str(ROOT / "docs" / "_build" / "doctrees"), "docs", str(out), env=env,
    )  # fmt: skip
    if browser:
        ensure_chromium(session)
        session.run(*pytest, "docs/tests/test_site.py", f"--site={out}", env=env)


def ensure_chromium(session: nox.Session) -> None:
    """Debian's chromium and its driver, installed with apt-get when missing."""
    import shutil

    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run(
        "apt-get", "install", "-y", "-qq", "chromium", "chromium-driver", external=True, env=env
    )  # fmt: skip
