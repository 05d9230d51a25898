import errno
import os

import numpy as np
import pytest

from avsvt.data.atomic import atomic_path, write_text_atomic
from avsvt.data.audio import write_audio
from avsvt.errors import AvsvtError
from faults import tmpfs


def test_success_renames_and_leaves_no_temp(tmp_path):
    write_text_atomic(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failure_inside_the_block_leaves_the_old_file_untouched(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 64 KiB tmpfs: a real disk-full (skipped where mounting is not allowed)."""
    with tmpfs(tmp_path / "small", 64 * 1024) as mount_point:
        yield mount_point


def test_disk_full_is_a_clear_error_and_leaves_no_partial_file(tiny_filesystem):
    write_text_atomic(tiny_filesystem / "small.txt", "fits")
    with pytest.raises(AvsvtError, match="No space left on device") as info:
        write_audio(tiny_filesystem / "big.wav", np.zeros(160_000, np.float32))
    assert "big.wav" in str(info.value)
    assert sorted(p.name for p in tiny_filesystem.iterdir()) == ["small.txt"]


def test_failed_rename_is_a_clear_error(tmp_path, monkeypatch):
    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(AvsvtError, match="Read-only file system"):
        write_text_atomic(tmp_path / "c.txt", "x")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AvsvtError, match="cannot write here"):
        write_audio(blocker / "x.wav", np.zeros(10, np.float32))


def test_the_next_write_removes_what_a_crashed_write_left_and_nothing_else(tmp_path):
    from avsvt.data.atomic import write_text_atomic

    target = tmp_path / "best.safetensors"
    # what a SIGKILL during a write leaves (seen after a killed stage-1 run: CI, 2026-12-01)
    leftover = tmp_path / ".best.safetensors.tmp-564k7eeg.safetensors"
    leftover.write_bytes(b"half a checkpoint")
    # files that are not this module's leftovers of this target: a user's, another target's
    kept = [
        tmp_path / ".best.safetensors.tmp-mine.safetensors",
        tmp_path / "best.safetensors.tmp-564k7eeg.safetensors",
        tmp_path / ".last.pt.tmp-564k7eeg.pt",
        tmp_path / ".best.safetensors.tmp-564k7eeg.safetensors.bak",
    ]
    for path in kept:
        path.write_bytes(b"keep me")
    write_text_atomic(target, "{}")
    assert target.read_text() == "{}"
    assert not leftover.exists()
    assert all(path.read_bytes() == b"keep me" for path in kept)
