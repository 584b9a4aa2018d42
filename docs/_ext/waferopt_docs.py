"""The waferopt documentation's own Sphinx extension.

- ``schedule-gallery``: one figure per schedule shape, its LR class and its WD class
  side by side, each drawn at build time by stepping the real scheduler built from the
  config printed beside it. The shapes are the LR schedulers the registry finds; the
  configs are in ``gallery_configs.py``. A first-party shape with no config there is a
  warning, so the build (``-W``) fails until the gallery has it.
- ``waferopt-cli``: the ``waferopt`` command's help, every subcommand, from its parser.
- ``modelzoo-keys``: the table of Model Zoo optimizer-block keys, from the one table in
  the code.
- ``bench-results``: a section of ``nox -s bench``'s results file
  (``docs/_data/bench-results.json``), the machine it ran on and its tables
  (``bench_data.py``).
- ``distributions``: the table of first-party distributions, from the one list
  (``waferopt.registry.distributions``).
- API pages: at ``builder-inited``, one page per installed ``waferopt.<package>``
  (``reference/api/``, not committed), so a new distribution appears in the reference
  without an edit here. Names a package re-exports from another one are documented
  where they are defined.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import pprint
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- API pages
API_DIR = "reference/api"
FRONT_DOOR = "optim"  # re-exports only: reference/front-door.md describes it by hand


def _public_packages() -> list[str]:
    import waferopt

    names = sorted(m.name for m in pkgutil.iter_modules(waferopt.__path__))
    return [n for n in names if not n.startswith("_") and n != FRONT_DOOR]


def _foreign(module: Any, qualname: str, parent: Any = None) -> list[str]:
    """Names of ``__all__`` documented elsewhere: modules, dunders, what another package
    defines, and (for a submodule) what its package exports too."""
    shown_above = {id(getattr(parent, n, None)) for n in getattr(parent, "__all__", [])}
    foreign = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name, None)
        home = getattr(obj, "__module__", None) or ""
        if (
            inspect.ismodule(obj)
            or name.startswith("__")
            or (home and not (home == qualname or home.startswith(qualname + ".")))
            or (parent is not None and id(obj) in shown_above)
        ):
            foreign.append(name)
    return foreign


def _submodules(package: Any) -> list[str]:
    """Public submodules that document something their package does not export."""
    found = []
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        if info.name.startswith("_"):
            continue
        qualname = f"{package.__name__}.{info.name}"
        try:
            module = importlib.import_module(qualname)
        except ImportError:  # an optional dependency is missing
            continue
        public = getattr(module, "__all__", [])
        if public and len(_foreign(module, qualname, package)) < len(public):
            found.append(qualname)
    return found


def _api_page(qualname: str, parent: Any = None) -> str:
    module = importlib.import_module(qualname)
    foreign = _foreign(module, qualname, parent)
    options = [":members:", ":show-inheritance:"]
    if foreign:
        options.append(":exclude-members: " + ", ".join(sorted(foreign)))
    title = f"`{qualname}`"
    directive = [f".. automodule:: {qualname}", *(f"   {o}" for o in options)]
    lines = [f"# {title}", "", "```{eval-rst}", *directive, "```", ""]
    if foreign:
        lines += [
            "Also exported here, documented where they are defined: "
            + ", ".join(f"`{n}`" for n in sorted(foreign) if not n.startswith("__"))
            + ".",
            "",
        ]
    return "\n".join(lines)


def write_api_pages(app: Sphinx) -> None:
    """One page per public waferopt package, and one per public submodule that holds
    something its package does not export (functional kernels, authoring APIs, the kit)."""
    out = Path(app.srcdir) / API_DIR
    out.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, str] = {}
    for name in _public_packages():
        qualname = f"waferopt.{name}"
        wanted[qualname] = _api_page(qualname)
        package = importlib.import_module(qualname)
        for sub in _submodules(package):
            wanted[sub] = _api_page(sub, package)
    for stale in out.glob("*.md"):
        if stale.stem not in wanted:
            stale.unlink()
    for qualname, text in wanted.items():
        path = out / f"{qualname}.md"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


# ---------------------------------------------------------------- helpers
def _markdown(directive: SphinxDirective, text: str) -> list[nodes.Node]:
    """Parse Markdown (MyST) produced by a directive into nodes."""
    container = nodes.container()
    directive.state.nested_parse(StringList(text.splitlines()), directive.content_offset, container)
    return container.children


# ---------------------------------------------------------------- CLI
class CliDirective(SphinxDirective):
    """The help of a command and each of its subcommands, from its parser.

    The argument is ``module:function`` returning the ``argparse.ArgumentParser``.
    """

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module_name, _, func = self.arguments[0].partition(":")
        os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width
        parser = getattr(importlib.import_module(module_name), func)()
        out: list[nodes.Node] = []
        for title, sub in self._walk(parser, parser.prog):
            section = nodes.section(
                ids=[nodes.make_id(title)], names=[nodes.fully_normalize_name(title)]
            )
            section += nodes.title(text=title)
            section += nodes.literal_block(text=sub.format_help().rstrip(), language="text")
            out.append(section)
        return out

    def _walk(
        self, parser: argparse.ArgumentParser, title: str
    ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        yield title, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from self._walk(sub, f"{title} {name}")


# ---------------------------------------------------------------- front door
class FrontDoorFunctionsDirective(SphinxDirective):
    """Every function of ``waferopt.optim.__all__`` (the ``configure_*`` family, ``build``),
    documented under the name users call it by."""

    def run(self) -> list[nodes.Node]:
        module = importlib.import_module("waferopt.optim")
        names = [n for n in module.__all__ if inspect.isfunction(getattr(module, n, None))]
        rst = [f".. autofunction:: waferopt.optim.{n}" for n in names]
        return _markdown(self, "\n".join(["```{eval-rst}", *rst, "```"]))


# ---------------------------------------------------------------- Model Zoo keys
class ModelZooKeysDirective(SphinxDirective):
    """The table of every special key of a Model Zoo ``optimizer:`` block."""

    def run(self) -> list[nodes.Node]:
        keys_module = importlib.import_module("waferopt.registry.config_keys")
        rows = ["| key | role | deprecated names | what it is for |", "| --- | --- | --- | --- |"]
        for key in keys_module.KEYS:
            old = [*key.aliases, *(key.parts or ())]
            role = getattr(key.role, "value", key.role)
            rows.append(
                f"| `{key.name}` | {role} | {', '.join(f'`{o}`' for o in old)} | {key.description} |"
            )
        return _markdown(self, "\n".join(rows))


# ---------------------------------------------------------------- benchmarks
class BenchResultsDirective(SphinxDirective):
    """One section of the benchmark results file: the machine, then the tables."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        import bench_data

        name = self.arguments[0]
        self.env.note_dependency(str(bench_data.RESULTS))
        self.env.note_dependency(bench_data.__file__)
        try:
            blocks = bench_data.render(name, bench_data.section(name))
        except (OSError, KeyError, ValueError) as exc:
            raise self.error(f"bench-results {name}: {exc}") from exc
        out: list[nodes.Node] = []
        for heading, text in blocks:
            if heading is None:
                out += _markdown(self, text)
                continue
            section_node = nodes.section(
                ids=[nodes.make_id(f"bench-{name}-{heading}")],
                names=[nodes.fully_normalize_name(f"bench {name} {heading}")],
            )
            section_node += nodes.title(text=heading)
            section_node += _markdown(self, text)
            out.append(section_node)
        return out


# ---------------------------------------------------------------- distributions
class DistributionsDirective(SphinxDirective):
    """The first-party distributions: name, folder, module, what it provides."""

    def run(self) -> list[nodes.Node]:
        from waferopt.registry.distributions import FIRST_PARTY

        rows = [
            "| distribution | folder | module | what it provides |",
            "| --- | --- | --- | --- |",
        ]
        for dist in FIRST_PARTY:
            provides = dist.provides.replace("](docs/", "](/")  # links written for the README
            module = f"`{dist.module}`" if dist.module else "(none)"
            rows.append(f"| `{dist.name}` | `{dist.folder}` | {module} | {provides} |")
        return _markdown(self, "\n".join(rows))


# ---------------------------------------------------------------- gallery
def _wd_name(lr_name: str) -> str:
    return (lr_name[:-2] if lr_name.endswith("LR") else lr_name) + "WD"


def _to_wd(config: Any, registry: Any) -> Any:
    """The same schedule for weight decay: class names and LR argument names renamed.

    The argument names come from the two classes' signatures (the WD class takes the
    generic names in the same order), so no rename table is written here."""
    if isinstance(config, list):
        return [_to_wd(item, registry) for item in config]
    if not isinstance(config, dict) or len(config) != 1:
        return config
    ((lr_name, args),) = config.items()
    lr_cls = registry.resolve(lr_name)
    wd_name = _wd_name(lr_cls.__name__)
    wd_cls = registry.resolve(wd_name)
    names = dict(
        zip(
            inspect.signature(lr_cls.__init__).parameters,
            inspect.signature(wd_cls.__init__).parameters,
        )
    )
    return {wd_name: {names.get(k, k): _to_wd(v, registry) for k, v in args.items()}}


def _yaml_or_python(config: dict[str, Any], source: str) -> tuple[str, str]:
    """The config as YAML (a `schedulers:` item) when it has no code in it."""
    try:
        import yaml

        text = yaml.safe_dump({"schedulers": [config]}, sort_keys=False, default_flow_style=None)
        return text.rstrip(), "yaml"
    except Exception:  # a lambda: show the Python that built it
        return f"configure_scheduler(optimizer, {source})", "python"


def _curves(config: dict[str, Any], groups: list[dict[str, Any]], steps: int) -> list[list[float]]:
    """Step the scheduler built from ``config``; one value list per param group."""
    import torch

    import waferopt.optim as optim

    params = [{"params": [torch.zeros(1, requires_grad=True)], **g} for g in groups]
    opt = optim.configure_optimizer("SGD", params, lr=0.1)
    key = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = optim.configure_scheduler(opt, config)
        key = sched.param_group_key
        values: list[list[float]] = [[] for _ in groups]
        for _ in range(steps):
            for i, group in enumerate(opt.param_groups):
                values[i].append(float(group[key]))
            opt.step()
            sched.step()
    return values


def _class_ref(cls: type, docname: str) -> nodes.Node:
    """A link to a class's reference entry (documented at its package, see write_api_pages)."""
    package = ".".join(cls.__module__.split(".")[:2])
    ref = addnodes.pending_xref(
        "",
        refdomain="py",
        reftype="class",
        reftarget=f"{package}.{cls.__name__}",
        refexplicit=True,
        refdoc=docname,
    )
    ref += nodes.literal(text=cls.__name__)
    return ref


class GalleryDirective(SphinxDirective):
    """Every schedule shape, LR and WD, drawn from the code."""

    def run(self) -> list[nodes.Node]:
        import gallery_configs
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from waferopt.core import Kind
        from waferopt.registry import get_registry

        registry = get_registry()
        steps = self.config.waferopt_gallery_steps
        configs = gallery_configs.GALLERY
        self.env.note_dependency(gallery_configs.__file__)
        self.env.note_dependency(__file__)
        shapes = [
            e
            for e in registry.entries
            if e.kind is Kind.LR_SCHEDULER and e.plugin.distribution.startswith("waferopt-")
        ]
        missing = [e.name for e in shapes if e.name not in configs]
        for name in missing:
            logger.warning(
                "schedule gallery: no config for %s in docs/_ext/gallery_configs.py (%s)",
                name,
                "add one so that the gallery draws it",
                location=self.get_location(),
            )
        unknown = sorted(set(configs) - {e.name for e in shapes})
        for name in unknown:
            logger.warning(
                "schedule gallery: %s is not a registered LR scheduler",
                name,
                location=self.get_location(),
            )

        outdir = Path(self.env.srcdir) / "_generated" / "gallery"
        outdir.mkdir(parents=True, exist_ok=True)
        result: list[nodes.Node] = []
        for entry in shapes:  # in the order the plugin registers them
            if entry.name not in configs:
                continue
            spec = configs[entry.name]
            namespace: dict[str, Any] = {}
            lr_config = eval(spec.source, namespace)  # the text shown is the text run
            lr_config = {entry.name: lr_config}
            wd_config = _to_wd(lr_config, registry)
            groups = spec.groups or [{}]
            lr_curves = _curves(lr_config, groups, steps)
            wd_curves = _curves(wd_config, groups, steps)
            wd_name = next(iter(wd_config))
            fig, axes = plt.subplots(1, 2, figsize=(8.0, 2.6), sharey=False)
            for ax, curves, name, label in (
                (axes[0], lr_curves, entry.name, "lr"),
                (axes[1], wd_curves, wd_name, "weight_decay"),
            ):
                for i, curve in enumerate(curves):
                    tag = f"group {i}" if len(curves) > 1 else None
                    ax.plot(range(steps), curve, label=tag, linewidth=1.6)
                ax.set_title(name, fontsize=10)
                ax.set_xlabel("step", fontsize=8)
                ax.set_ylabel(label, fontsize=8)
                ax.tick_params(labelsize=7)
                ax.grid(alpha=0.3)
                if len(curves) > 1:
                    ax.legend(fontsize=7)
            fig.tight_layout()
            png = outdir / f"{entry.name}.png"
            fig.savefig(png, dpi=90)
            plt.close(fig)

            section = nodes.section(
                ids=[nodes.make_id(f"gallery-{entry.name}")], names=[entry.name.lower()]
            )
            section += nodes.title(text=entry.name)
            description = entry.registration.description
            intro = nodes.paragraph(text=f"{description}. Drawn by stepping ")
            intro += _class_ref(registry.resolve(entry.name), self.env.docname)
            intro += nodes.Text(" and ")
            intro += _class_ref(registry.resolve(wd_name), self.env.docname)
            intro += nodes.Text(" built from:")
            section += intro
            lr_text, lr_lang = _yaml_or_python(
                lr_config, "{" + repr(entry.name) + ": " + spec.source.strip() + "}"
            )
            wd_text, wd_lang = _yaml_or_python(wd_config, pprint.pformat(wd_config))
            section += nodes.literal_block(text=lr_text, language=lr_lang)
            if spec.groups:
                section += nodes.paragraph(
                    text="over param groups carrying "
                    + ", ".join(f"{g}" for g in spec.groups)
                    + ";"
                )
            if wd_lang == "yaml":
                section += nodes.paragraph(text="and, for weight decay:")
                section += nodes.literal_block(text=wd_text, language=wd_lang)
            image = nodes.image(
                uri=f"/_generated/gallery/{entry.name}.png",
                alt=f"{entry.name} and {wd_name} over {steps} steps",
                classes=["schedule-figure"],
            )
            section += image
            result.append(section)
        return result


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("waferopt_gallery_steps", 100, "env")
    app.connect("builder-inited", write_api_pages)
    app.add_directive("schedule-gallery", GalleryDirective)
    app.add_directive("waferopt-cli", CliDirective)
    app.add_directive("modelzoo-keys", ModelZooKeysDirective)
    app.add_directive("front-door-functions", FrontDoorFunctionsDirective)
    app.add_directive("bench-results", BenchResultsDirective)
    app.add_directive("distributions", DistributionsDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
