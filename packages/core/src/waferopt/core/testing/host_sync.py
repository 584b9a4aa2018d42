"""``no_host_sync``: fail on any device-to-host synchronisation in a block of code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

_SYNC_METHODS = frozenset(
    {
        "item",
        "tolist",
        "numpy",
        "__bool__",
        "__float__",
        "__int__",
        "__index__",
        "__complex__",
        "nonzero",
        "masked_select",
        "unique",
        "unique_consecutive",
        "_local_scalar_dense",
    }
)


class _NoHostSyncMode(TorchFunctionMode):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        name = getattr(func, "__name__", "")
        if name in _SYNC_METHODS:
            raise AssertionError(
                f"{self.what} called Tensor.{name}(), which waits for the device and breaks "
                "a compiled graph; keep hyperparameters and state as tensors and use tensor ops "
                "(torch.where instead of a Python branch)"
            )
        if name in ("cpu", "to") and args and isinstance(args[0], torch.Tensor):
            src = args[0].device
            out = func(*args, **(kwargs or {}))
            if src.type != "cpu" and isinstance(out, torch.Tensor) and out.device.type == "cpu":
                raise AssertionError(f"{self.what} copied a {src.type} tensor to the host")
            return out
        return func(*args, **(kwargs or {}))


@contextmanager
def no_host_sync(what: str = "the code under test") -> Iterator[None]:
    """Fail with ``AssertionError`` on a tensor-to-host read inside the block.

    Catches ``.item()``, ``bool(t)`` (a Python ``if`` on a tensor), ``float(t)``,
    ``int(t)``, indexing with a tensor as an int, ``.tolist()``, ``.numpy()``,
    data-dependent shapes (``nonzero``, ``masked_select``, ``unique``) and a copy
    of a device tensor to the CPU.
    """
    with _NoHostSyncMode(what):
        yield
