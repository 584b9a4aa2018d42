"""What to run to install a first-party distribution: from an index, or from a checkout.

A registry installed from a checkout of the repository (editable, or ``pip install
./registry``) can see that checkout; then the hints give its folder too, which works
before any release exists.
"""

from __future__ import annotations

import importlib
import importlib.metadata as importlib_metadata
import json
import shlex
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlparse

from .distributions import by_name

__all__ = ["checkout_root", "install_hint", "require_module"]


def _registry_folder() -> tuple[Path | None, bool]:
    """The folder of ``waferopt-registry``'s source in a checkout, and whether the
    install is editable; (None, False) when it came from an index or a wheel file."""
    here = Path(__file__).resolve()
    source = here.parents[3]  # registry/src/waferopt/registry/install.py -> registry/
    if (source / "pyproject.toml").is_file() and (source / "src").is_dir():
        return source, True
    try:
        text = importlib_metadata.distribution("waferopt-registry").read_text("direct_url.json")
    except importlib_metadata.PackageNotFoundError:
        return None, False
    if not text:
        return None, False
    try:
        info = json.loads(text)
    except ValueError:
        return None, False
    url = urlparse(str(info.get("url", "")))
    if url.scheme != "file" or "dir_info" not in info:
        return None, False
    return Path(unquote(url.path)), bool(info["dir_info"].get("editable"))


def checkout_root() -> Path | None:
    """The root of the checkout the registry was installed from, if it can see one."""
    folder, _ = _registry_folder()
    dist = by_name("waferopt-registry")
    if folder is None or dist is None:
        return None
    root = folder
    for _ in Path(dist.folder).parts:
        root = root.parent
    return root if (root / "registry" / "pyproject.toml").is_file() else None


def install_hint(distribution: str) -> str:
    """``pip install NAME``, and the checkout's form when the registry can see one.

    >>> install_hint("waferopt-adam")  # doctest: +ELLIPSIS
    'pip install waferopt-adam...'
    """
    hint = f"pip install {distribution}"
    dist = by_name(distribution)
    root = checkout_root()
    if dist is None or root is None:
        return hint
    folder = root / dist.folder
    if not (folder / "pyproject.toml").is_file():
        return hint
    _, editable = _registry_folder()
    flag = "-e " if editable else ""
    return f"{hint} (from an index), or pip install {flag}{shlex.quote(str(folder))} (from this checkout)"


def require_module(module: str, distribution: str, what: str) -> ModuleType:
    """Import ``module``, or raise ``ModuleNotFoundError`` saying that ``what`` needs
    ``distribution`` and how to install it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        raise ModuleNotFoundError(
            f"{what} needs the distribution {distribution!r}, which is not installed: "
            f"{install_hint(distribution)}",
            name=module,
        ) from exc
