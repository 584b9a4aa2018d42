"""core + registry + waferopt-modern from their wheels: the four names appear and train."""

from __future__ import annotations

import pytest

NAMES = {"Muon", "AdamWScheduleFree", "Prodigy", "AdEMAMix"}


@pytest.fixture(scope="module")
def env(make_env):
    return make_env("modern-only", "waferopt-registry", "waferopt-modern")


def test_waferopt_plugins_lists_the_four(env) -> None:
    proc = env.waferopt("plugins")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[2:] if line.strip()}
    assert set(rows) == NAMES, proc.stdout
    assert all(rows[n][1:3] == ["optimizer", "waferopt-modern"] for n in NAMES)


def test_the_four_resolve_through_waferopt_optim_and_train(env) -> None:
    report = env.json(
        """
        import json, torch
        import waferopt.optim as optim
        from waferopt.modern import muon_param_groups
        out = {}
        for name in ("Muon", "AdamWScheduleFree", "Prodigy", "AdEMAMix"):
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
            x = torch.randn(64, 4); y = x.sum(1, keepdim=True)
            params = muon_param_groups(model) if name == "Muon" else model.parameters()
            opt = optim.configure_optimizer(name, params, lr=1e-2 if name != "Prodigy" else 1.0)
            if hasattr(opt, "train"):
                opt.train()
            first = None
            for _ in range(60):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                opt.step()
                first = loss.item() if first is None else first
            out[name] = [type(opt) is getattr(optim, name), loss.item() < first]
        print(json.dumps(out))
        """
    )
    assert report == {name: [True, True] for name in NAMES}
