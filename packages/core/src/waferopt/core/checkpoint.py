"""Checkpoint files: written whole or not at all, read with a clear error.

``torch.save`` writes in place, so a run killed while saving leaves a truncated file;
``torch.load`` of a truncated or corrupted file fails with whatever its readers meet
first (``RuntimeError: PytorchStreamReader failed reading zip archive``,
``EOFError`` with no message, ``UnicodeDecodeError``, ``KeyError: 101`` ...).
:func:`save_checkpoint` writes a temporary file beside the target and renames it over
the target once complete; :func:`load_checkpoint` turns a failure to read into one
:class:`CheckpointError` naming the file and what is wrong with it.

Example:
    >>> import os, tempfile, torch
    >>> from waferopt.core import load_checkpoint, save_checkpoint
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    >>> save_checkpoint({"step": torch.tensor(3)}, path)
    >>> load_checkpoint(path)["step"]
    tensor(3)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Any

import torch

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]

_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format is a zip archive


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: empty, truncated, corrupted, or not written by
    ``torch.save``. The message names the file and the problem; ``original`` holds the
    exception ``torch.load`` raised."""

    def __init__(self, message: str, original: BaseException | None = None) -> None:
        super().__init__(message)
        self.original = original


def save_checkpoint(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj)`` to ``path``, atomically.

    The data goes to a temporary file in the same folder, is flushed to disk, and
    replaces ``path`` in one rename: a reader (or a run resumed after a crash) sees
    the previous checkpoint or the new one, never a part of one.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load_checkpoint(
    f: str | os.PathLike[str] | IO[bytes],
    map_location: Any = None,
    *,
    weights_only: bool = True,
) -> Any:
    """``torch.load(f, map_location, weights_only=True)`` with a clear error.

    Args:
        f: a path, or a binary file object.
        map_location: as for ``torch.load`` (``"cpu"`` to load a CUDA checkpoint on a
            machine without one).
        weights_only: as for ``torch.load``; waferopt's state dicts need only the
            default, ``True``.

    Raises:
        CheckpointError: (a ``ValueError``) the file is empty, truncated, corrupted or
            not a ``torch.save`` file, or holds objects ``weights_only`` refuses.
        OSError: the file cannot be opened (missing, a folder, no permission).
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:  # a missing file is the OS's error, as for open()
            return load_checkpoint(handle, map_location, weights_only=weights_only)
    name = getattr(f, "name", "<file>")
    start = _tell(f)
    try:
        return torch.load(f, map_location=map_location, weights_only=weights_only)
    except Exception as exc:  # every reader's own way of failing, OSError included
        problem = _diagnose(f, start, exc)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
        raise CheckpointError(
            f"cannot load the checkpoint {name}: {problem} ({type(exc).__name__}: {detail})",
            exc,
        ) from None


def _tell(f: Any) -> int | None:
    try:
        return int(f.tell())
    except (AttributeError, OSError, ValueError):
        return None


def _head(f: Any, start: int | None) -> bytes | None:
    """The first bytes of the checkpoint, or None if they cannot be read again."""
    try:
        if start is None:
            return None
        f.seek(start)
        return bytes(f.read(len(_ZIP_MAGIC)))
    except (AttributeError, OSError, ValueError):
        return None


def _diagnose(f: Any, start: int | None, exc: BaseException) -> str:
    if "weights only" in str(exc).lower() or "weights_only" in str(exc):
        return (
            "it holds objects that weights_only=True does not load (a waferopt state dict "
            "never does; load a file you trust with weights_only=False)"
        )
    head = _head(f, start)
    if head == b"":
        return "the file is empty"
    if head is not None and head.startswith(_ZIP_MAGIC):
        return "the file is truncated or corrupted (its zip archive cannot be read)"
    if head is not None:
        return "the file was not written by torch.save"
    return "the data is truncated, corrupted, or not written by torch.save"
