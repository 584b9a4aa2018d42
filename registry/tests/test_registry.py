"""Discovery through real entry points: names, failures, conflicts, hints."""

from __future__ import annotations

import json

import pytest
import torch

from waferopt.core import Kind
from waferopt.registry import (
    NotInstalledError,
    PluginConflictError,
    PluginLoadError,
    UnknownNameError,
)
from waferopt.registry.cli import main

from .conftest import optimizer_plugin


def test_plugin_is_found_by_name_case_insensitively(site):
    """A distribution's entry point registers its names; lookup ignores case."""
    site.add(
        "demo-plugin",
        {"demo_mod": optimizer_plugin("demo_mod", "Frobnicate")},
        {"demo": "demo_mod"},
    )
    registry = site.registry()
    cls = registry.resolve("frobnicate", Kind.OPTIMIZER)
    assert cls.__name__ == "TestOpt"
    entry = registry.find("FROBNICATE")
    assert entry.plugin.distribution == "demo-plugin" and entry.plugin.version == "1.0"


def test_listing_does_not_import_the_class(site):
    """Records are lazy: the module is imported, but a 'module:Class' target only on use."""
    site.add(
        "lazy-plugin",
        {
            "lazy_hooks": """
                from waferopt.core import Kind, Registration, hookimpl
                @hookimpl
                def register_optimizers():
                    return [Registration("Lazy", Kind.OPTIMIZER, "lazy_impl:Missing")]
            """,
        },
        {"lazy": "lazy_hooks"},
    )
    registry = site.registry()
    assert "Lazy" in registry.names(Kind.OPTIMIZER)
    with pytest.raises(PluginLoadError, match="lazy-plugin"):
        registry.resolve("Lazy")


def test_plugin_whose_import_raises_is_reported_and_others_work(site):
    """A broken import is reported (distribution, entry point, exception); others load."""
    site.add(
        "good-plugin", {"good_mod": optimizer_plugin("good_mod", "Good")}, {"good": "good_mod"}
    )
    site.add("bad-plugin", {"bad_mod": "raise RuntimeError('boom at import')"}, {"bad": "bad_mod"})
    registry = site.registry()
    assert registry.resolve("Good")
    [failure] = [f for f in registry.failures if f.plugin.distribution == "bad-plugin"]
    assert failure.stage == "import" and "boom at import" in failure.error
    assert failure.plugin.entry_point == "bad"


def test_plugin_whose_hook_raises_is_reported(site):
    """A hook that raises is reported with the hook's name; other plugins are unaffected."""
    site.add(
        "good-plugin", {"good_mod": optimizer_plugin("good_mod", "Good")}, {"good": "good_mod"}
    )
    site.add(
        "hook-plugin",
        {
            "hook_mod": """
                from waferopt.core import hookimpl
                @hookimpl
                def register_schedulers():
                    raise ValueError("hook exploded")
            """,
        },
        {"hook": "hook_mod"},
    )
    registry = site.registry()
    assert registry.resolve("Good")
    [failure] = [f for f in registry.failures if f.plugin.distribution == "hook-plugin"]
    assert failure.stage == "hook register_schedulers" and "hook exploded" in failure.error


def test_two_plugins_one_name_is_an_error_naming_both(site):
    """Never a silent pick: the error names both distributions."""
    site.add(
        "first-plugin", {"first_mod": optimizer_plugin("first_mod", "Twin")}, {"first": "first_mod"}
    )
    site.add(
        "second-plugin",
        {"second_mod": optimizer_plugin("second_mod", "twin")},
        {"second": "second_mod"},
    )
    site.add(
        "good-plugin", {"good_mod": optimizer_plugin("good_mod", "Good")}, {"good": "good_mod"}
    )
    registry = site.registry()
    with pytest.raises(PluginConflictError, match="first-plugin") as info:
        registry.resolve("Twin")
    assert "second-plugin" in str(info.value)
    assert registry.resolve("Good")
    assert "twin" in registry.conflicts()


def test_only_environment_variable_limits_loading(site, monkeypatch):
    """WAFEROPT_PLUGINS loads only the named distributions."""
    site.add("bad-plugin", {"bad_mod": "raise RuntimeError('boom')"}, {"bad": "bad_mod"})
    site.add(
        "good-plugin", {"good_mod": optimizer_plugin("good_mod", "Good")}, {"good": "good_mod"}
    )
    monkeypatch.setenv("WAFEROPT_PLUGINS", "good_plugin")
    registry = site.registry()
    assert registry.failures == []
    assert [p.distribution for p in registry.plugins] == ["good-plugin"]


def test_first_party_name_not_installed_names_the_distribution(site, monkeypatch):
    """A first-party name whose package is missing says what to pip install."""
    monkeypatch.setenv("WAFEROPT_PLUGINS", "waferopt-sgd")
    registry = site.registry()
    with pytest.raises(NotInstalledError, match="pip install waferopt-adam"):
        registry.resolve("adamw", Kind.OPTIMIZER)
    with pytest.raises(NotInstalledError, match="waferopt-schedulers"):
        registry.resolve("CosineDecayLR", Kind.LR_SCHEDULER)


def test_unknown_name_suggests_closest(site, monkeypatch):
    """An unknown name lists the closest installed names."""
    monkeypatch.setenv("WAFEROPT_PLUGINS", "waferopt-sgd")
    with pytest.raises(UnknownNameError, match="Did you mean 'SGD'"):
        site.registry().resolve("SDG", Kind.OPTIMIZER)


def test_wrong_kind_is_explained(site):
    """An optimizer asked for as a scheduler says what it is."""
    with pytest.raises(
        UnknownNameError, match="registered as an optimizer, not as an LR scheduler"
    ):
        site.registry().resolve("SGD", Kind.LR_SCHEDULER)


def test_registered_class_of_wrong_base_is_rejected(site):
    """A record whose class is not a waferopt Optimizer fails clearly on load."""
    site.add(
        "wrong-plugin",
        {
            "wrong_mod": """
                from waferopt.core import Kind, Registration, hookimpl
                class NotAnOptimizer: pass
                @hookimpl
                def register_optimizers():
                    return [Registration("Wrong", Kind.OPTIMIZER, NotAnOptimizer)]
            """,
        },
        {"wrong": "wrong_mod"},
    )
    with pytest.raises(PluginLoadError, match=r"not a subclass of waferopt\.core\.Optimizer"):
        site.registry().resolve("Wrong")


def test_runtime_registration(site):
    """Registry.add registers an imported class by its name, kind inferred."""
    from waferopt.sgd import SGD

    class MySGD(SGD):
        """My SGD."""

    registry = site.registry()
    registry.add(MySGD)
    assert registry.resolve("mysgd") is MySGD


def test_cli_plugins_lists_names_and_failures(site, capsys, monkeypatch):
    """`waferopt plugins` prints names with kind, distribution, version, and failures."""
    from waferopt.registry import reset_registry

    site.add(
        "good-plugin",
        {"good_mod": optimizer_plugin("good_mod", "Good")},
        {"good": "good_mod"},
        version="2.5",
    )
    site.add("bad-plugin", {"bad_mod": "raise ImportError('missing dep')"}, {"bad": "bad_mod"})
    reset_registry(site.registry())
    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "Good" in out and "good-plugin" in out and "2.5" in out and "optimizer" in out
    assert "bad-plugin" in out and "missing dep" in out and "import" in out
    assert main(["plugins", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {"name": "Good", "distribution": "good-plugin"}.items() <= next(
        n for n in report["names"] if n["name"] == "Good"
    ).items()
    assert report["failures"][0]["distribution"] == "bad-plugin"


def test_front_door_resolves_attributes(site):
    """optim.SGD resolves through the registry; an unknown attribute is an AttributeError."""
    import waferopt.optim as optim

    assert optim.SGD.__name__ == "SGD"
    assert "SGD" in dir(optim)
    with pytest.raises(AttributeError, match="Did you mean 'SGD'"):
        optim.SDG  # noqa: B018
    assert not hasattr(optim, "Nonexistent")
    model = torch.nn.Linear(2, 2)
    opt = optim.configure_optimizer("sgd", model.parameters(), lr=0.1, momentum=0.9)
    assert type(opt).__name__ == "SGD" and opt.param_groups[0]["momentum"] == 0.9


def test_runtime_registration_of_a_class_without_docstring(site):
    """A class whose docstring is empty or blank registers with an empty description."""
    from waferopt.sgd import SGD

    class Blank(SGD):
        """ """

    class NoDoc(SGD):
        pass

    registry = site.registry()
    assert registry.add(Blank).registration.description == ""
    assert registry.add(NoDoc).registration.description == ""
