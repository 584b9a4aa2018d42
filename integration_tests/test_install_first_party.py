"""``pip install 'waferopt[modelzoo]'`` in a fresh environment: every first-party
distribution is installed, every name of the spec resolves, through ``waferopt.optim``
and through the ``configure_*`` functions, and the Model Zoo commands work."""

from __future__ import annotations

import json

import pytest
from _env import FIRST_PARTY, META, PLUGIN_DISTS, ROOT

# The names of cerebras.pytorch.optim 2.3 (the reference API, restated in
# docs/explanation/semantics.md#semantics-2), written out here rather than read from the registry's catalogue.
OPTIMIZERS = {
    "SGD": {"lr": 0.1},
    "ASGD": {},
    "Adam": {},
    "AdamW": {},
    "AdamBase": {},
    "Adamax": {},
    "NAdam": {},
    "RAdam": {},
    "Lamb": {},
    "Adadelta": {},
    "Adagrad": {},
    "Adafactor": {"lr": 1e-2},
    "RMSprop": {},
    "Lion": {},
    "Rprop": {},
}
LR = {
    "ConstantLR": {"learning_rate": 0.1},
    "PolynomialLR": {"initial_learning_rate": 0.1, "end_learning_rate": 0.0, "total_iters": 10},
    "LinearLR": {"initial_learning_rate": 0.1, "end_learning_rate": 0.0, "total_iters": 10},
    "ExponentialLR": {"initial_learning_rate": 0.1, "total_iters": 10, "decay_rate": 0.5},
    "InverseExponentialTimeDecayLR": {
        "initial_learning_rate": 0.1,
        "step_exponent": 1.0,
        "total_iters": 10,
        "decay_rate": 0.5,
    },
    "InverseSquareRootDecayLR": {"initial_learning_rate": 0.1},
    "CosineDecayLR": {"initial_learning_rate": 0.1, "end_learning_rate": 0.0, "total_iters": 10},
    "PiecewiseConstantLR": {"learning_rates": [0.1, 0.01], "milestones": [5]},
    "MultiStepLR": {"initial_learning_rate": 0.1, "gamma": 0.5, "milestones": [3, 6]},
    "StepLR": {"initial_learning_rate": 0.1, "step_size": 3, "gamma": 0.5},
    "CosineAnnealingLR": {"initial_learning_rate": 0.1, "T_max": 10},
    "LambdaLR": {"initial_learning_rate": 0.1},
    "CosineAnnealingWarmRestarts": {"initial_learning_rate": 0.1, "T_0": 5},
    "MultiplicativeLR": {"initial_learning_rate": 0.1, "coefficient": 0.9},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4},
    "OneCycleLR": {"initial_learning_rate": 0.01, "max_lr": 0.1, "total_steps": 20},
    "SequentialLR": {
        "schedulers": [
            {
                "LinearLR": {
                    "initial_learning_rate": 0.0,
                    "end_learning_rate": 0.1,
                    "total_iters": 3,
                }
            },
            {"ConstantLR": {"learning_rate": 0.1}},
        ]
    },
    "ChainedScheduler": {"schedulers": [{"ConstantLR": {"learning_rate": 0.1}}]},
    "ChainedLR": {"schedulers": [{"ConstantLR": {"learning_rate": 0.1}}]},
    "ScalePerParamLR": {"scheduler": {"ConstantLR": {"learning_rate": 0.1}}},
}
WD = {
    "ConstantWD": {"val": 0.1},
    "PolynomialWD": {"initial_val": 0.1, "end_val": 0.0, "total_iters": 10},
    "LinearWD": {"initial_val": 0.1, "end_val": 0.0, "total_iters": 10},
    "ExponentialWD": {"initial_val": 0.1, "total_iters": 10, "decay_rate": 0.5},
    "InverseExponentialTimeDecayWD": {
        "initial_val": 0.1,
        "step_exponent": 1.0,
        "total_iters": 10,
        "decay_rate": 0.5,
    },
    "InverseSquareRootDecayWD": {"initial_val": 0.1},
    "CosineDecayWD": {"initial_val": 0.1, "end_val": 0.0, "total_iters": 10},
    "PiecewiseConstantWD": {"vals": [0.1, 0.01], "milestones": [5]},
    "MultiStepWD": {"initial_val": 0.1, "gamma": 0.5, "milestones": [3, 6]},
    "StepWD": {"initial_val": 0.1, "step_size": 3, "gamma": 0.5},
    "CosineAnnealingWD": {"initial_val": 0.1, "T_max": 10},
    "LambdaWD": {"initial_val": 0.1},
    "CosineAnnealingWarmRestartsWD": {"initial_val": 0.1, "T_0": 5},
    "MultiplicativeWD": {"initial_val": 0.1, "coefficient": 0.9},
    "CyclicWD": {"base_val": 0.01, "max_val": 0.1, "step_size_up": 4},
    "OneCycleWD": {"initial_val": 0.01, "max_val": 0.1, "total_steps": 20},
    "SequentialWD": {
        "schedulers": [
            {"LinearWD": {"initial_val": 0.0, "end_val": 0.1, "total_iters": 3}},
            {"ConstantWD": {"val": 0.1}},
        ]
    },
    "ChainedWD": {"schedulers": [{"ConstantWD": {"val": 0.1}}]},
    "ScalePerParamWD": {"scheduler": {"ConstantWD": {"val": 0.1}}},
}


@pytest.fixture(scope="module")
def env(make_env):
    return make_env("first-party", f"{META}[modelzoo]")


def test_the_meta_distribution_installs_every_first_party_distribution(env) -> None:
    assert set(FIRST_PARTY) <= env.installed()
    assert "pyyaml" in env.installed() and "matplotlib" not in env.installed()


def test_every_name_resolves(env) -> None:
    """Each optimizer through optim.<Name> and configure_optimizer; each scheduler through
    optim.lr_scheduler / optim.weight_decay_scheduler and configure_scheduler (and the
    LR ones through configure_lr_scheduler too); every built object is of that class
    and took a step."""
    report = env.json(
        f"""
        import json, torch
        import waferopt.optim as optim
        OPTIMIZERS, LR, WD = {OPTIMIZERS!r}, {LR!r}, {WD!r}
        LR["LambdaLR"]["lr_lambda"] = lambda t: 0.9**t  # a function: only from Python
        WD["LambdaWD"]["val_lambda"] = lambda t: 0.9**t
        out = {{"optimizers": {{}}, "lr": {{}}, "wd": {{}}, "lr_legacy": {{}}}}
        for name, kwargs in OPTIMIZERS.items():
            cls = getattr(optim, name)
            p = torch.nn.Parameter(torch.ones(3))
            opt = optim.configure_optimizer(name, [p], **kwargs)
            p.grad = torch.ones(3)
            opt.step()
            out["optimizers"][name] = [type(opt) is cls, bool((p != 1).any())]
        def fresh():
            return optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, weight_decay=0.1)
        for table, module, key in ((LR, optim.lr_scheduler, "lr"), (WD, optim.weight_decay_scheduler, "wd")):
            for name, kwargs in table.items():
                cls = getattr(module, name)
                sched = optim.configure_scheduler(fresh(), {{name: kwargs}})
                sched.step()
                out[key][name] = [isinstance(sched, cls), int(sched.last_epoch)]
        for name, kwargs in LR.items():
            if "schedulers" in kwargs or "scheduler" in kwargs:
                continue
            sched = optim.configure_lr_scheduler(fresh(), {{"scheduler": name, **kwargs}})
            out["lr_legacy"][name] = type(sched).__name__
        print(json.dumps(out))
        """
    )
    assert report["optimizers"] == {name: [True, True] for name in OPTIMIZERS}
    assert report["lr"] == {name: [True, 1] for name in LR}
    assert report["wd"] == {name: [True, 1] for name in WD}
    assert set(report["lr_legacy"]) == {
        n for n, k in LR.items() if not {"schedulers", "scheduler"} & set(k)
    }


def test_waferopt_plugins_lists_every_family(env) -> None:
    proc = env.waferopt("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    by_dist: dict[str, set[str]] = {}
    for item in listing["names"]:
        by_dist.setdefault(item["distribution"], set()).add(item["name"])
    assert set(by_dist) == set(PLUGIN_DISTS)
    assert set(OPTIMIZERS) <= set().union(*by_dist.values())
    assert (set(LR) | set(WD)) - {"ChainedScheduler"} <= set().union(*by_dist.values())
    assert listing["failures"] == [] and listing["conflicts"] == {}


def test_listing_the_names_imports_no_torch(env) -> None:
    """From the installed wheels (not a checkout), `waferopt plugins` reads every
    plugin's lazy records, the schedulers' from their files as text: no torch."""
    seen = env.json(
        """
        import contextlib, io, json, sys
        from waferopt.registry.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            main(["plugins", "--json"])
        names = [n["name"] for n in json.loads(out.getvalue())["names"]]
        print(json.dumps([names, "torch" in sys.modules]))
        """
    )
    names, imported_torch = seen
    assert (set(OPTIMIZERS) | set(LR) | set(WD)) - {"ChainedScheduler"} <= set(names)
    assert imported_torch is False


def test_model_zoo_commands_reach_the_waferopt_command(env) -> None:
    """waferopt-modelzoo adds check and plot through the registry's hook; optim.build
    works from waferopt.optim."""
    usage = env.waferopt("--help").stdout
    assert "\n    check " in usage and "\n    plot " in usage, usage
    config = ROOT / "examples" / "configs" / "gpt_legacy_mup.yaml"
    proc = env.waferopt("check", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "optimizer: AdamW(" in proc.stdout and "stand-in" in proc.stdout
    built = env.json(
        f"""
        import json, torch
        import waferopt.optim as optim
        built = optim.build(torch.nn.Linear(3, 2), {str(config)!r})
        print(json.dumps([type(built.optimizer).__name__, len(built.optimizer.param_groups)]))
        """
    )
    assert built == ["AdamW", 2]
