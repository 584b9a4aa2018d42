"""The pytest side of the kit: :func:`conformance_tests` and the plugin hooks.

Loaded by ``-p waferopt.core.testing`` (the package re-exports the hooks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .info import NotApplicable, OptimizerInfo, SchedulerInfo
from .optimizers import OPTIMIZER_CHECKS, OPTIMIZER_CLASS_CHECKS, check_compiled_step
from .schedulers import (
    SCHEDULER_CHECKS,
    check_scheduler_compiled_step,
    check_scheduler_error_inputs,
)


def conformance_tests(
    optimizers: Sequence[OptimizerInfo] = (),
    schedulers: Sequence[SchedulerInfo] = (),
) -> type:
    """A pytest test class running the kit: one test per check and configuration.

    Assign it to a module-level name starting with ``Test``. Compiled checks carry
    the ``compile`` marker (deselect with ``-m "not compile"``); a check that does
    not apply is reported as skipped, and one listed in ``known_failures`` is an
    ``xfail(strict=True)``.
    """
    import pytest

    namespace: dict[str, Any] = {"__doc__": "waferopt conformance kit (waferopt.core.testing)."}

    def cases(infos: Sequence[Any], check: str, indices: Callable[[Any], Sequence[int]]) -> list:
        out: list[Any] = []
        for info in infos:
            reason = info.known_failures.get(check)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.extend(
                pytest.param(info, i, id=f"{info.id}-{i}" if i >= 0 else info.id, marks=marks)
                for i in indices(info)
            )
        return out

    def add(name: str, check: Callable[..., None], params: list, compiled: bool = False) -> None:
        if not params:
            return

        def test(self: Any, request: Any, info: Any, index: int) -> None:
            if compiled and request.config.getoption("waferopt_skip_compile", default=False):
                pytest.skip("--waferopt-skip-compile")
            try:
                if index < 0:
                    check(info)
                else:
                    check(info, info.configs[index])
            except NotApplicable as exc:
                pytest.skip(str(exc))

        test.__doc__ = check.__doc__
        test.__name__ = name
        marked = pytest.mark.parametrize(("info", "index"), params)(test)
        namespace[name] = pytest.mark.compile(marked) if compiled else marked

    def every_config(info: Any) -> Sequence[int]:
        return range(len(info.configs))

    def compiled_configs(info: Any) -> Sequence[int]:
        return info.compile_configs if info.compile else ()

    for kind, infos, checks, class_checks, compiled in (
        ("optimizer", optimizers, OPTIMIZER_CHECKS, OPTIMIZER_CLASS_CHECKS, check_compiled_step),
        (
            "scheduler",
            schedulers,
            SCHEDULER_CHECKS,
            {"error_inputs": check_scheduler_error_inputs},
            check_scheduler_compiled_step,
        ),
    ):
        for name, check in checks.items():
            add(f"test_{kind}_{name}", check, cases(infos, name, every_config))
        for name, class_check in class_checks.items():
            # error_inputs: only the classes that list some get the test (no skip noise)
            add(
                f"test_{kind}_{name}",
                class_check,
                cases(
                    infos,
                    name,
                    lambda info, name=name: (
                        (-1,) if name != "error_inputs" or info.error_inputs else ()
                    ),
                ),
            )
        add(
            f"test_{kind}_compiled_step",
            compiled,
            cases(infos, "compiled_step", compiled_configs),
            compiled=True,
        )
    return type("TestConformance", (), namespace)


def pytest_addoption(parser: Any) -> None:
    """pytest hook: ``--waferopt-skip-compile``."""
    parser.addoption(
        "--waferopt-skip-compile",
        action="store_true",
        dest="waferopt_skip_compile",
        help="skip the conformance kit's torch.compile checks (also: WAFEROPT_SKIP_COMPILE=1)",
    )


def pytest_configure(config: Any) -> None:
    """pytest hook: register the ``compile`` marker the kit's compiled checks carry."""
    config.addinivalue_line(
        "markers", "compile: exercises torch.compile (slow; deselect with -m 'not compile')"
    )
