"""The example third-party plugin: found by name once installed, gone once uninstalled,
and its own tests (the paper, the formula, the conformance kit) pass where installed."""

from __future__ import annotations

import os
import shutil

import pytest
from _env import EXAMPLE_PLUGIN

USE = """
import json, torch
import waferopt.optim as optim
torch.manual_seed(0)
x = torch.randn(64, 4); y = x @ torch.randn(4, 1)
model = torch.nn.Linear(4, 1)
opt = optim.configure_optimizer("adan", model.parameters(), learning_rate=0.05, weight_decay=0.01)
sched = optim.configure_scheduler(opt, {"RexLR": {
    "initial_learning_rate": 0.05, "total_iters": 50}})
legacy = optim.configure_lr_scheduler(opt, {"scheduler": "Rex",
    "initial_learning_rate": 0.05, "total_iters": 50})
losses, lrs = [], []
for _ in range(50):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step(); sched.step()
    losses.append(loss.item()); lrs.append(float(opt.param_groups[0]["lr"]))
print(json.dumps({"optimizer": type(opt).__module__ + "." + type(opt).__name__,
                  "scheduler": type(sched).__name__, "legacy": type(legacy).__name__,
                  "alias": optim.lr_scheduler.ReflectedExponentialLR.__name__,
                  "losses": losses, "lrs": lrs}))
"""


@pytest.fixture(scope="module")
def env(make_env):
    return make_env(
        "example-plugin", "waferopt-registry", "waferopt-sgd", "waferopt-example-plugin"
    )


def test_found_by_name_once_installed(env) -> None:
    out = env.json(USE)
    assert out["optimizer"] == "waferopt_example_plugin.adan.Adan"
    assert out["scheduler"] == out["legacy"] == out["alias"] == "RexLR"
    assert out["losses"][-1] < 0.25 * out["losses"][0]
    lrs = out["lrs"]  # after k steps: REX (Chen et al. 2022) from 0.05 to 0 at step 50
    rex = [0.05 * (1 - k / 50) / (0.5 + 0.5 * (1 - k / 50)) for k in range(1, 51)]
    assert lrs == pytest.approx(rex, rel=1e-6, abs=1e-9)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-9)


def test_listed_by_waferopt_plugins(env) -> None:
    proc = env.waferopt("plugins")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:] if line.strip()}
    assert "waferopt-example-plugin" in rows["Adan"] and "optimizer" in rows["Adan"]
    assert "lr_scheduler" in rows["RexLR"] and "ReflectedExponentialLR" in rows["RexLR"]


def test_plugin_tests_pass_where_installed(env, work) -> None:
    """The plugin's own suite (paper reference, formula, conformance kit), run against the
    installed wheel from a copy of its tests, as a plugin author's CI would."""
    env.install("pytest")
    copy = work / "example-plugin-tests"
    shutil.copytree(EXAMPLE_PLUGIN / "tests", copy / "tests")
    shutil.copy(EXAMPLE_PLUGIN / "pyproject.toml", copy / "pyproject.toml")
    proc = env.py(
        f"""
        import os, sys, pytest
        os.chdir({str(copy)!r})
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "tests"]))
        """,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout, proc.stdout[-500:]


def test_gone_once_uninstalled(env) -> None:
    env.uninstall("waferopt-example-plugin")
    try:
        proc = env.py(
            """
            import torch, waferopt.optim as optim
            optim.configure_optimizer("Adan", [torch.nn.Parameter(torch.zeros(2))])
            """,
            check=False,
        )
        assert proc.returncode != 0
        last = proc.stderr.strip().splitlines()[-1]
        assert "Adan" in last and ("UnknownNameError" in last or "not" in last), last
        listing = env.waferopt("plugins").stdout
        assert "Adan" not in listing and "waferopt-example-plugin" not in listing
        assert "SGD" in listing
    finally:
        env.install("waferopt-example-plugin")
    assert os.path.exists(env.python)
