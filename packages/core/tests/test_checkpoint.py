"""save_checkpoint / load_checkpoint: whole files only, and one clear error for a bad one."""

from __future__ import annotations

import io
import os
import traceback

import pytest
import torch

from waferopt.core import CheckpointError, load_checkpoint, save_checkpoint


def _state() -> dict:
    return {"state": {0: {"exp_avg": torch.arange(6.0).reshape(2, 3)}}, "step": torch.tensor(7)}


def _saved_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save(_state(), buffer)
    return buffer.getvalue()


def test_round_trip(tmp_path):
    """What save_checkpoint writes, load_checkpoint reads (weights_only)."""
    path = tmp_path / "ckpt.pt"
    save_checkpoint(_state(), path)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["state"][0]["exp_avg"], _state()["state"][0]["exp_avg"])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_save_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    """A save that fails midway leaves the previous checkpoint intact and no debris."""
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"step": torch.tensor(1)}, path)

    def broken_save(obj, f):
        f.write(b"PK\x03\x04 partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint({"step": torch.tensor(2)}, path)
    monkeypatch.undo()
    assert int(load_checkpoint(path)["step"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


CORRUPTIONS = {
    "truncated to half": lambda data: data[: len(data) // 2],
    "last bytes cut": lambda data: data[:-10],
    "last 20 bytes cut": lambda data: data[:-20],
    "empty": lambda data: b"",
    "bytes flipped": lambda data: data[:200] + bytes(b ^ 0xFF for b in data[200:400]) + data[400:],
    "not a checkpoint": lambda data: b"hello world " * 20,
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
@pytest.mark.parametrize("source", ["path", "file object"])
def test_unreadable_checkpoint_is_one_clear_error(tmp_path, kind, source):
    """Every way a file fails to read is a CheckpointError (a ValueError) that names the
    file and the problem, raised from load_checkpoint, without the readers' traceback."""
    data = CORRUPTIONS[kind](_saved_bytes())
    path = tmp_path / "ckpt.pt"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        target = path if source == "path" else handle
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(target)
    message = str(info.value)
    assert str(path) in message
    expected = {
        "truncated to half": "truncated or corrupted",
        "last bytes cut": "truncated or corrupted",
        "last 20 bytes cut": "truncated or corrupted",
        "bytes flipped": "truncated or corrupted",
        "empty": "empty",
        "not a checkpoint": "not written by torch.save",
    }[kind]
    assert expected in message
    assert isinstance(info.value, ValueError)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value.original is not None
    frames = traceback.extract_tb(info.value.__traceback__)
    assert frames[-1].filename.endswith(os.path.join("core", "checkpoint.py"))


def test_torch_load_alone_gives_no_clear_error(tmp_path):
    """Why the helper exists: torch.load's own errors for the same files."""
    path = tmp_path / "ckpt.pt"
    path.write_bytes(b"")
    with pytest.raises(EOFError):
        torch.load(path, weights_only=True)


def test_missing_file_is_an_os_error(tmp_path):
    """A file that is not there is the OS's error, as with open()."""
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "absent.pt")


def test_objects_refused_by_weights_only_are_explained(tmp_path):
    """A file holding arbitrary objects is refused by weights_only=True, with a reason."""
    path = tmp_path / "ckpt.pt"
    torch.save({"f": _Custom()}, path)
    with pytest.raises(CheckpointError, match="weights_only=True does not load"):
        load_checkpoint(path)
    assert isinstance(load_checkpoint(path, weights_only=False)["f"], _Custom)


class _Custom:
    pass
