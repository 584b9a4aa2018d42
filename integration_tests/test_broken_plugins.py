"""Broken plugins: the rest keeps working, and `waferopt plugins` says what broke and why.
Two plugins that claim one name: an error that names both distributions."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def broken(make_env):
    return make_env(
        "broken",
        "waferopt-registry",
        "waferopt-sgd",
        "waferopt-broken-import",
        "waferopt-broken-hook",
    )


@pytest.fixture(scope="module")
def duplicate(make_env):
    return make_env(
        "duplicate", "waferopt-registry", "waferopt-sgd", "waferopt-dup-a", "waferopt-dup-b"
    )


def test_other_names_still_work(broken) -> None:
    out = broken.json(
        """
        import json, torch, waferopt.optim as optim
        p = torch.nn.Parameter(torch.ones(2))
        opt = optim.configure_optimizer("SGD", [p], lr=0.5)
        p.grad = torch.ones(2); opt.step()
        print(json.dumps({"value": p.tolist(), "names": sorted(dir(optim))}))
        """
    )
    assert out["value"] == [0.5, 0.5]
    assert "SGD" in out["names"] and "ASGD" in out["names"]


def test_waferopt_plugins_shows_the_broken_ones_and_why(broken) -> None:
    proc = broken.waferopt("plugins")
    assert proc.returncode == 1  # something is broken
    text = proc.stdout
    assert "SGD" in text and "plugins that failed to load" in text
    failed = text.split("plugins that failed to load", 1)[1]
    assert "waferopt-broken-import" in failed and "waferopt_no_such_dependency" in failed, failed
    assert "waferopt-broken-hook" in failed and "this hook always fails" in failed, failed

    report = json.loads(broken.waferopt("plugins", "--json").stdout)
    by_dist = {f["distribution"]: f for f in report["failures"]}
    assert set(by_dist) == {"waferopt-broken-import", "waferopt-broken-hook"}
    assert "ModuleNotFoundError" in by_dist["waferopt-broken-import"]["error"]
    assert "RuntimeError" in by_dist["waferopt-broken-hook"]["error"]
    assert by_dist["waferopt-broken-import"]["stage"] != by_dist["waferopt-broken-hook"]["stage"]


def test_loading_only_named_plugins_skips_the_broken_ones(broken) -> None:
    """WAFEROPT_PLUGINS limits loading to the named distributions (debugging aid)."""
    proc = broken.waferopt("plugins", env={"WAFEROPT_PLUGINS": "waferopt-sgd"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed" not in proc.stdout and "SGD" in proc.stdout


def test_two_plugins_one_name_is_an_error_naming_both(duplicate) -> None:
    proc = duplicate.py(
        """
        import torch, waferopt.optim as optim
        optim.configure_optimizer("Zeta", [torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        """,
        check=False,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "waferopt-dup-a" in last and "waferopt-dup-b" in last and "Zeta" in last, last
    # every other name still works, and the listing shows the conflict
    duplicate.py(
        """
        import torch, waferopt.optim as optim
        optim.configure_optimizer("SGD", [torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        """
    )
    listing = duplicate.waferopt("plugins")
    assert listing.returncode == 1
    conflicts = listing.stdout.split("more than one plugin", 1)[1]
    assert (
        "zeta" in conflicts.lower()
        and "waferopt-dup-a" in conflicts
        and "waferopt-dup-b" in conflicts
    )
