"""Running a list of checks and collecting every failure (private)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .info import NotApplicable


def _battery(
    infos_checks: list[tuple[str, Callable[[], None]]],
    known_failures: Mapping[str, str],
) -> list[str]:
    failures, skipped = [], []
    for what, fn in infos_checks:
        check = what.rsplit(" ", 1)[-1]
        if check in known_failures:
            skipped.append(f"{what}: known failure: {known_failures[check]}")
            continue
        try:
            fn()
        except NotApplicable as exc:
            skipped.append(f"{what}: {exc}")
        except Exception as exc:
            kind = "" if isinstance(exc, AssertionError) else f"{type(exc).__name__}: "
            failures.append(f"{what}: {kind}{exc}")
    if failures:
        raise AssertionError(
            f"{len(failures)} conformance check(s) failed:\n" + "\n".join(failures)
        )
    return skipped


def _check_all(
    info: Any,
    checks: Mapping[str, Callable[[Any, Any], None]],
    class_checks: Mapping[str, Callable[[Any], None]],
    compiled_step: Callable[[Any, Any], None],
    compile: bool,
) -> list[str]:
    runs: list[tuple[str, Callable[[], None]]] = []
    for i, config in enumerate(info.configs):
        for name, check in checks.items():
            runs.append(
                (f"{info.id}[{i}] {name}", lambda check=check, config=config: check(info, config))
            )
    for name, class_check in class_checks.items():
        runs.append((f"{info.id} {name}", lambda class_check=class_check: class_check(info)))
    if compile and info.compile:
        for i in info.compile_configs:
            runs.append(
                (f"{info.id}[{i}] compiled_step", lambda i=i: compiled_step(info, info.configs[i]))
            )
    return _battery(runs, info.known_failures)
