"""core + registry + waferopt-sgd only: SGD trains; other names say what to install."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def env(make_env):
    return make_env("sgd-only", "waferopt-registry", "waferopt-sgd")


def test_only_what_was_asked_is_installed(env) -> None:
    installed = env.installed()
    assert {"waferopt-core", "waferopt-registry", "waferopt-sgd", "pluggy"} <= installed
    assert not installed & {
        "waferopt-adam",
        "waferopt-schedulers",
        "waferopt-adaptive",
        "waferopt-sign",
        "waferopt-modern",
    }
    where = env.json("import json, torch; print(json.dumps(torch.__file__))")
    assert "torch-farm" in where  # the one shared torch, not a copy in the environment


def test_sgd_trains(env) -> None:
    """A small regression fitted with configure_optimizer("SGD") through waferopt.optim."""
    losses = env.json(
        """
        import json, torch
        import waferopt.optim as optim
        torch.manual_seed(0)
        x = torch.randn(64, 3); y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
        model = torch.nn.Linear(3, 1)
        opt = optim.configure_optimizer("SGD", model.parameters(), learning_rate=0.1, momentum=0.9)
        assert type(opt) is optim.SGD
        losses = []
        for _ in range(100):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        print(json.dumps(losses))
        """
    )
    assert losses[-1] < 1e-2 * losses[0]


@pytest.mark.parametrize(
    ("call", "distribution"),
    [
        (
            'optim.configure_optimizer("AdamW", [torch.nn.Parameter(torch.zeros(2))], lr=1e-3)',
            "waferopt-adam",
        ),
        ("optim.AdamW", "waferopt-adam"),
        ("optim.Lion", "waferopt-sign"),
        ("optim.Muon", "waferopt-modern"),
        (
            'optim.configure_optimizer("AdamWScheduleFree", [torch.nn.Parameter(torch.zeros(2))])',
            "waferopt-modern",
        ),
        (
            'optim.configure_scheduler(opt, {"CosineDecayLR": {"initial_learning_rate": 0.1, '
            '"end_learning_rate": 0.0, "total_iters": 10}})',
            "waferopt-schedulers",
        ),
        (
            'optim.configure_lr_scheduler(opt, {"scheduler": "CosineDecay", "initial_learning_rate": 0.1, '
            '"end_learning_rate": 0.0, "total_iters": 10})',
            "waferopt-schedulers",
        ),
        ("optim.lr_scheduler.CosineDecayLR", "waferopt-schedulers"),
    ],
)
def test_missing_names_name_the_distribution(env, call: str, distribution: str) -> None:
    """A first-party name that is not installed: the error says what to pip install."""
    proc = env.py(
        f"""
        import torch
        import waferopt.optim as optim
        opt = optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        {call}
        """,
        check=False,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert distribution in last and "pip install" in last, proc.stderr[-2000:]


def test_waferopt_plugins_lists_sgd(env) -> None:
    proc = env.waferopt("plugins")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["name", "kind", "distribution", "version"]
    names = {line.split()[0]: line.split() for line in lines[2:] if line.strip()}
    assert set(names) == {"SGD", "ASGD"}, proc.stdout
    assert names["SGD"][1:3] == ["optimizer", "waferopt-sgd"]
