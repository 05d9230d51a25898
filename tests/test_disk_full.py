"""A full disk in the middle of each data step and of transcription: one clear line, exit 1, no
corrupt file under a final name; with space freed, the same command finishes to the same bytes.

Each step's output folder is a size-limited tmpfs holding the step's input and half of the room its
output needs, so the disk fills up part-way through (skipped where mounting is not allowed).
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from avsvt.data.audio import write_audio
from avsvt.notes import Note
from avsvt.testing import synth_vocal
from faults import (
    CASES,
    LOCKS,
    ORDER,
    PAGE,
    avsvt,
    pages,
    partial_files,
    resize_tmpfs,
    tmpfs,
    tree_digest,
)

IGNORE = (*LOCKS, "/.shards/", "nframes.audio")  # bookkeeping that names its own folder


def run_step(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_stopped_cleanly(
    result: subprocess.CompletedProcess[str], work: Path, straight: Path, ignore=IGNORE
):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr[-2000:]
    assert lines[-1].startswith("avsvt: error: ") and "No space left on device" in lines[-1]
    assert "Traceback" not in result.stderr
    assert not partial_files(work), "a temporary file was left behind"
    written = tree_digest(work, ignore=ignore)
    expected = tree_digest(straight, ignore=ignore)
    assert written, "nothing was written before the disk filled up"
    corrupt = [p for p, digest in written.items() if expected.get(p) != digest]
    assert not corrupt, f"files under final names differ from a complete run: {corrupt[:5]}"


@pytest.mark.parametrize("name", ORDER)
def test_a_full_disk_stops_a_data_step_cleanly_and_the_rerun_completes(step_inputs, tmp_path, name):
    cmd, _ = CASES[name]
    straight = tmp_path / "straight"
    shutil.copytree(step_inputs[name], straight)
    before = pages(straight)
    assert run_step(cmd, straight).returncode == 0
    room = (pages(straight) - before) // 2
    crashed = tmp_path / "crashed"
    with tmpfs(crashed / "work", before + room) as work:
        shutil.copytree(step_inputs[name] / "work", work, dirs_exist_ok=True)
        assert_stopped_cleanly(run_step(cmd, crashed), work, straight / "work")
        resize_tmpfs(work, 4 * pages(straight))
        rerun = run_step(cmd, crashed)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert tree_digest(work, ignore=IGNORE) == tree_digest(straight / "work", ignore=IGNORE)


def test_a_full_disk_stops_transcription_cleanly_and_the_rerun_completes(tmp_path):
    notes = [Note(0.2 + 0.5 * i, 0.6 + 0.5 * i, 60 + i) for i in range(8)]
    write_audio(tmp_path / "song.wav", synth_vocal(notes, 16000 * 5))
    cmd = avsvt("transcribe", str(tmp_path / "song.wav"), "-o", "out", "--format", "mid,csv,json")
    straight = tmp_path / "straight"
    straight.mkdir()
    assert run_step(cmd, straight).returncode == 0
    crashed = tmp_path / "crashed"
    ignore = (*IGNORE, ".json")  # the JSON notes carry their timing, the record names its input
    # four pages: the lock, the completion record and the first note file fit, the next does not
    with tmpfs(crashed, 4 * PAGE) as work:
        assert_stopped_cleanly(run_step(cmd, work), work, straight, ignore=ignore)
        assert (work / "out" / "song.mid").exists() and not (work / "out" / "song.csv").exists()
        resize_tmpfs(work, 64 * PAGE)
        rerun = run_step(cmd, work)  # finishes where it stopped (it used to refuse: "exists")
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert tree_digest(work, ignore=ignore) == tree_digest(straight, ignore=ignore)
        got, expected = (
            json.loads((d / "out" / "song.json").read_text()) for d in (work, straight)
        )
        assert got.pop("seconds") >= 0 and expected.pop("seconds") >= 0 and got == expected
        assert not partial_files(work)
