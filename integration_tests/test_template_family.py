"""A throwaway family made from the template (tools/new_family.py) builds, installs into a
fresh environment next to core and the registry, passes its own tests there (the
conformance kit and its reference test) and is found by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _env import ROOT, run

FAMILY, CLASS = "tmplcheck", "TmplCheck"


@pytest.fixture(scope="module")
def family(work: Path) -> Path:
    dest = work / "template-family"
    run([sys.executable, str(ROOT / "tools" / "new_family.py"), FAMILY, CLASS, "--dest", str(dest)])
    return dest / FAMILY


@pytest.fixture(scope="module")
def env(make_env, family: Path, work: Path):
    out = work / "template-family-dist"
    run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--wheel",
            "--outdir",
            str(out),
            str(family),
        ]
    )
    (wheel,) = out.glob(f"waferopt_{FAMILY}-*.whl")
    env = make_env("template-family", "waferopt-registry", "pytest")
    env.install(str(wheel))
    return env


def test_generator_refuses_bad_names_and_existing_folders(family: Path) -> None:
    for args in (["Bad-Name", "X"], ["ok", "lowercase"], [FAMILY, CLASS]):
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "new_family.py"),
                *args,
                "--dest",
                str(family.parent),
            ],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2 and "new_family:" in proc.stderr, proc.stderr


def test_generated_tests_pass_in_a_fresh_environment(env, family: Path) -> None:
    proc = subprocess.run(
        [
            env.python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "waferopt.core.testing",
            str(family / "tests"),
        ],
        capture_output=True,
        text=True,
        cwd=family,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_generated_family_is_found_by_name(env) -> None:
    found = env.json(
        f"""
        import json, torch
        import waferopt.optim as optim
        p = torch.nn.Parameter(torch.ones(3))
        opt = optim.configure_optimizer("{CLASS}", [p], lr=0.1)
        p.grad = torch.ones(3)
        opt.step()
        print(json.dumps([type(opt).__module__, p.detach().tolist()]))
        """
    )
    module, values = found
    assert module == f"waferopt.{FAMILY}.optimizer"
    assert values == pytest.approx([0.9] * 3)  # float32: 1 - lr * momentum buffer (= grad)
