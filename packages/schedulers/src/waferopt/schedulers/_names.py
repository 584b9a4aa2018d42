"""The class names, summary and aliases of every shape and composite, read from their
source files without importing them (so without torch).

The plugin's records come from here, so that ``waferopt plugins`` lists the schedulers
without importing a shape. Nothing here names a shape either: it reads what the files
of :mod:`waferopt.schedulers.shapes` write, each ``X = Schedule(..., summary="...",
lr_aliases=(...))`` with the three class names that ``A, B, C = X.classes(__name__)``
binds, and the ``COMPOSITES`` table of :mod:`waferopt.schedulers.composites`. The
summary and the aliases must be literals, given by keyword. A test checks what this
module reads against the classes themselves (:data:`waferopt.schedulers._index.ENTRIES`).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

_HERE = Path(__file__).parent


class Names(NamedTuple):
    """One schedule's registry entry: its class names, description and LR aliases."""

    lr: str
    wd: str
    generic: str
    description: str
    lr_aliases: tuple[str, ...]


def entries() -> list[Names]:
    """Every shape (its files in name order, each in definition order), then every
    composite."""
    found: list[Names] = []
    for path in sorted((_HERE / "shapes").glob("*.py"), key=lambda p: p.stem):
        if not path.stem.startswith("_"):
            found += _shapes(path)
    return found + _composites(_HERE / "composites" / "__init__.py")


class _Unreadable(ValueError):
    pass


def _fail(path: Path, node: ast.AST, what: str) -> _Unreadable:
    line = getattr(node, "lineno", "?")
    return _Unreadable(f"{path}:{line}: {what}, which waferopt.schedulers._names cannot read")


def _text(path: Path, node: ast.expr, what: str) -> str:
    """A string literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise _fail(path, node, f"{what} is not a string literal")


def _texts(path: Path, node: ast.expr | None, what: str) -> tuple[str, ...]:
    """A tuple or list of string literals (none when ``node`` is None)."""
    if node is None:
        return ()
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_text(path, e, what) for e in node.elts)
    raise _fail(path, node, f"{what} is not a tuple of string literals")


def _shapes(path: Path) -> list[Names]:
    """The shapes of one file: its ``Schedule(...)`` assignments, in order, each with
    the names its ``.classes(__name__)`` assignment binds."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    declared: dict[str, tuple[ast.Assign, str, tuple[str, ...]]] = {}
    bound: dict[str, tuple[str, str, str]] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.value, ast.Call)
        ):
            continue
        (target,), call = node.targets, node.value
        if isinstance(call.func, ast.Name) and call.func.id == "Schedule":
            if not isinstance(target, ast.Name):
                raise _fail(path, node, "a Schedule assigned to something else than a name")
            keywords = {k.arg: k.value for k in call.keywords}
            if "summary" not in keywords:
                raise _fail(path, node, "a Schedule without summary=")
            declared[target.id] = (
                node,
                _text(path, keywords["summary"], "summary=").rstrip("."),
                _texts(path, keywords.get("lr_aliases"), "lr_aliases="),
            )
        elif (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "classes"
            and isinstance(call.func.value, ast.Name)
        ):
            if not (
                isinstance(target, ast.Tuple)
                and len(target.elts) == 3
                and all(isinstance(e, ast.Name) for e in target.elts)
            ):
                raise _fail(path, node, "classes() assigned to something else than three names")
            lr, wd, generic = (e.id for e in target.elts)  # type: ignore[attr-defined]
            bound[call.func.value.id] = (lr, wd, generic)
    for var, (node, _, _) in declared.items():
        if var not in bound:
            raise _fail(path, node, f"{var}: a Schedule without `... = {var}.classes(__name__)`")
    return [Names(*bound[var], summary, aliases) for var, (_, summary, aliases) in declared.items()]


def _composites(path: Path) -> list[Names]:
    """The rows of ``COMPOSITES``: (LR, WD, any-key class, description, LR aliases)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "COMPOSITES"
            and isinstance(node.value, ast.Tuple)
        ):
            rows: list[Names] = []
            for row in node.value.elts:
                if not (isinstance(row, ast.Tuple) and len(row.elts) == 5):
                    raise _fail(path, row, "a COMPOSITES row that is not a 5-tuple")
                classes = row.elts[:3]
                if not all(isinstance(c, ast.Name) for c in classes):
                    raise _fail(path, row, "a COMPOSITES row whose classes are not names")
                lr, wd, generic = (c.id for c in classes)  # type: ignore[attr-defined]
                description = _text(path, row.elts[3], "the description")
                aliases = _texts(path, row.elts[4], "the LR aliases")
                rows.append(Names(lr, wd, generic, description, aliases))
            return rows
    raise _fail(path, tree, "no `COMPOSITES: ... = (...)` table")
