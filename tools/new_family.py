"""Create a new optimizer family from the template (``templates/family``).

    python tools/new_family.py NAME CLASS [--dest packages]

writes ``packages/NAME`` (distribution ``waferopt-NAME``, module ``waferopt.NAME``) with a
functional kernel, a ``DeclaredOptimizer`` class ``CLASS``, the plugin registration,
the conformance-kit and reference tests, all at the version of ``waferopt-core``. What is
left to do is printed: replace the rule with yours and add the family to the project's
list of first-party distributions. See ``docs/contributing/optimizers.md``.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "family"
CORE_VERSION = ROOT / "packages" / "core" / "src" / "waferopt" / "core" / "_version.py"


def core_version() -> str:
    match = re.search(r'__version__\s*=\s*"([^"]+)"', CORE_VERSION.read_text())
    if match is None:
        raise SystemExit(f"no __version__ in {CORE_VERSION}")
    return match.group(1)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def render(family: str, cls: str, dest: Path) -> list[Path]:
    """Copy the template into ``dest`` with the names filled in; return the files written."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", family) or keyword.iskeyword(family):
        raise ValueError(f"family must be a lower-case Python identifier, got {family!r}")
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", cls):
        raise ValueError(f"class must be a CamelCase Python identifier, got {cls!r}")
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    version = core_version()
    major, minor = (int(x) for x in version.split(".")[:2])
    values = {
        "family": family,
        "Class": cls,
        "kernel": snake(cls),
        "version": version,
        "core_floor": f"{major}.{minor}",
        "core_ceiling": f"{major}.{minor + 1}",
    }
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        target = dest / Path(*(family if part == "__family__" else part for part in relative.parts))
        text = source.read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        if "{{" in text:
            raise ValueError(f"{source}: a placeholder is left: {text[text.index('{{') :][:40]!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("family", help="distribution suffix and module name, e.g. 'shampoo'")
    parser.add_argument("cls", metavar="CLASS", help="the optimizer class, e.g. 'Shampoo'")
    parser.add_argument("--dest", type=Path, default=ROOT / "packages", help="parent folder")
    args = parser.parse_args(argv)
    dest = args.dest / args.family
    try:
        written = render(args.family, args.cls, dest)
    except (ValueError, FileExistsError) as exc:
        print(f"new_family: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files under {dest}")
    print("next: write your rule in functional.py and optimizer.py, its tests, and add")
    print(f"'waferopt-{args.family}' to the project's list of first-party distributions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
