"""``avsvt transcribe`` never loses results: not to a second input with the same stem, not to a
second process on the same folder, not through a lock path that is a link, and a killed batch
finishes when the same command runs again (the user's own files are never replaced without
``--overwrite``). Everything through the real command, in its own process."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from avsvt.data.audio import write_audio
from avsvt.notes import Note
from avsvt.testing import synth_vocal
from faults import avsvt, partial_files, session_left, wait_for

NOTES = [Note(0.2 + 0.5 * i, 0.6 + 0.5 * i, 60 + i % 12) for i in range(24)]


def song(path: Path, n_notes: int = 8, seconds: float = 5.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, synth_vocal(NOTES[:n_notes], int(16000 * seconds)))
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(avsvt(*args), cwd=cwd, capture_output=True, text=True, timeout=300)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (hidden ones too), byte for byte."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("avsvt: error: "), result.stderr
    return lines[0]


def same_results(got: Path, expected: Path, stems: list[str], formats: list[str]) -> None:
    """Outputs equal to an uninterrupted run's, byte for byte (JSON: all but the timing)."""
    for stem in stems:
        for fmt in formats:
            a, b = got / f"{stem}.{fmt}", expected / f"{stem}.{fmt}"
            if fmt == "json":
                mine, theirs = json.loads(a.read_text()), json.loads(b.read_text())
                mine.pop("seconds"), theirs.pop("seconds")
                assert mine == theirs, a
            else:
                assert a.read_bytes() == b.read_bytes(), a


# 3. two inputs with one stem ---------------------------------------------------------------------


def test_two_inputs_with_one_stem_are_refused_before_any_work(tmp_path):
    song(tmp_path / "a" / "song.wav", 8)
    song(tmp_path / "b" / "song.wav", 4)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("the user's\n")
    before = snapshot(tmp_path)
    line = error_line(run("transcribe", "a/song.wav", "b/song.wav", "-o", "out", cwd=tmp_path))
    assert "b/song.wav" in line and "a/song.wav" in line and "-o" in line
    assert snapshot(tmp_path) == before  # nothing written, nothing replaced
    # the same stem from one folder (song.wav and song.flac), or one file given twice
    write_audio(tmp_path / "a" / "song.flac", synth_vocal(NOTES[:2], 16000))
    before = snapshot(tmp_path)
    assert "a/song.wav" in error_line(run("transcribe", "a/song.wav", "a/song.flac", cwd=tmp_path))
    assert "same outputs" in error_line(run("transcribe", "a/song.wav", "a/song.wav", cwd=tmp_path))
    assert snapshot(tmp_path) == before
    # outputs beside each input do not collide: both survive
    assert run("transcribe", "a/song.wav", "b/song.wav", cwd=tmp_path).returncode == 0
    a, b = (tmp_path / "a" / "song.csv").read_text(), (tmp_path / "b" / "song.csv").read_text()
    assert len(a.splitlines()) == 1 + 8 and len(b.splitlines()) == 1 + 4


# 4. two processes on one output folder -----------------------------------------------------------


def test_a_second_transcription_into_a_busy_folder_stops_at_once(tmp_path):
    stems = [f"s{i}" for i in range(10)]
    for stem in stems:
        song(tmp_path / "a" / f"{stem}.wav", 24, 12.0)
    song(tmp_path / "b" / "s0.wav", 3)
    first_cmd = avsvt("transcribe", *(f"a/{s}.wav" for s in stems), "-o", "out", "--plot")
    straight = tmp_path / "straight"
    straight.mkdir()
    subprocess.run(
        avsvt("transcribe", *(str(tmp_path / "a" / f"{s}.wav") for s in stems), "-o", "out"),
        cwd=straight,
        check=True,
        capture_output=True,
    )
    first = subprocess.Popen(
        first_cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(tmp_path / "out" / ".avsvt.lock")
        second = run("transcribe", "b/s0.wav", "-o", "out", cwd=tmp_path)
        assert first.poll() is None, "the first transcription ended too early for this test"
        line = error_line(second)
        assert f"another avsvt run is using this folder (pid {first.pid}" in line
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    same_results(tmp_path / "out", straight / "out", stems, ["mid", "csv", "json"])
    assert not (tmp_path / "out" / ".avsvt.lock").exists()  # released, and removed: it was ours


# 5. the lock path is a link or not a lock file ---------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "data", "fifo", "directory"])
def test_a_lock_path_that_is_not_a_lock_file_is_refused_and_left_alone(tmp_path, kind):
    song(tmp_path / "song.wav")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious data\n")
    out = tmp_path / "out"
    out.mkdir()
    lock = out / ".avsvt.lock"
    if kind == "symlink":
        lock.symlink_to(victim)
    elif kind == "hardlink":
        os.link(victim, lock)
    elif kind == "data":
        lock.write_bytes(b"my notes, not a lock\n")
    elif kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.mkdir()
        (lock / "inside.txt").write_text("x")
    before = snapshot(tmp_path)
    line = error_line(run("transcribe", "song.wav", "-o", "out", cwd=tmp_path))
    assert ".avsvt.lock" in line and "not an avsvt lock file" in line
    assert snapshot(tmp_path) == before
    assert victim.read_bytes() == b"precious data\n"
    assert lock.is_symlink() == (kind == "symlink")


def test_avsvt_run_does_not_truncate_what_its_lock_path_links_to(tmp_path):
    config = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious data\n" * 100)
    out = tmp_path / "OUT"
    out.mkdir()
    (out / ".avsvt.lock").symlink_to(victim)
    line = error_line(run("run", str(config), "--set", f"out_dir={out}", cwd=tmp_path))
    assert ".avsvt.lock" in line and "symbolic link" in line
    assert victim.read_bytes() == b"precious data\n" * 100
    assert (out / ".avsvt.lock").is_symlink()


# 6. reruns finish where a kill stopped; the user's files are kept --------------------------------


@pytest.fixture
def batch(tmp_path):
    stems = [f"s{i}" for i in range(6)]
    for stem in stems:
        song(tmp_path / "in" / f"{stem}.wav", 24, 12.0)
    cmd = ["transcribe", *(f"in/{s}.wav" for s in stems), "-o", "out", "--plot"]
    straight = tmp_path / "straight"
    straight.mkdir()
    (straight / "in").symlink_to(tmp_path / "in")
    assert run(*cmd, cwd=straight).returncode == 0
    return tmp_path, stems, cmd, straight / "out"


def test_a_batch_killed_while_plotting_finishes_when_run_again(batch):
    tmp_path, stems, cmd, expected = batch
    proc = subprocess.Popen(avsvt(*cmd), cwd=tmp_path, stdout=subprocess.DEVNULL)
    try:
        wait_for(tmp_path / "out" / "s1.json")  # s1's piano roll is being drawn
    finally:
        proc.kill()
        proc.wait()
    out = tmp_path / "out"
    assert not (out / f"{stems[-1]}.mid").exists(), "killed too late"
    records = {s: out / f".{s}.avsvt.json" for s in stems}
    finished = {
        s for s, r in records.items() if r.exists() and json.loads(r.read_text())["complete"]
    }
    assert "s0" in finished and "s1" not in finished
    rerun = run(*cmd, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "Traceback" not in rerun.stderr
    for stem in stems:  # the finished ones are skipped, the others done
        said = [line for line in rerun.stdout.splitlines() if line.startswith(f"{stem}.wav:")]
        record = json.loads((out / f".{stem}.avsvt.json").read_text())
        assert record["complete"] is True
        assert ("already transcribed" if stem in finished else " notes, ") in said[-1]
    same_results(out, expected, stems, ["mid", "csv", "json", "png"])
    again = run(*cmd, cwd=tmp_path)  # and once finished, a rerun has nothing to do
    assert again.returncode == 0 and again.stdout.count("already transcribed") == len(stems)
    forced = run(*cmd, "--overwrite", cwd=tmp_path)  # unless told to redo it
    assert forced.returncode == 0 and "already transcribed" not in forced.stdout
    assert forced.stdout.count(" notes, ") == len(stems)
    same_results(out, expected, stems, ["mid", "csv", "json"])


def test_outputs_avsvt_cannot_vouch_for_are_kept_without_overwrite(batch):
    tmp_path, stems, cmd, _ = batch
    out = tmp_path / "out"
    out.mkdir()
    (out / "s3.csv").write_text("onset_s,offset_s,pitch_midi\n0.1,0.2,60\n")  # the user's file
    before = snapshot(tmp_path)
    assert "s3.csv: exists (use --overwrite" in error_line(run(*cmd, cwd=tmp_path))
    assert snapshot(tmp_path) == before  # refused before any work
    (out / "s3.csv").unlink()
    assert run(*cmd, cwd=tmp_path).returncode == 0
    # the user edits one of avsvt's outputs, deletes another: the edit is theirs now
    (out / "s2.mid").write_bytes(b"edited by hand")
    (out / "s4.csv").unlink()
    before = snapshot(tmp_path)
    assert "s2.mid: exists (use --overwrite" in error_line(run(*cmd, cwd=tmp_path))
    assert snapshot(tmp_path) == before
    # the record itself is replaced only when it is avsvt's
    (out / "s2.mid").unlink()
    record = (out / ".s5.avsvt.json").read_bytes()
    (out / ".s5.avsvt.json").write_text("user data\n")
    before = snapshot(tmp_path)
    assert ".s5.avsvt.json: exists and is not an avsvt" in error_line(run(*cmd, cwd=tmp_path))
    assert snapshot(tmp_path) == before
    (out / ".s5.avsvt.json").write_bytes(record)
    rerun = run(*cmd, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.count("already transcribed") == 4  # all but s2 and s4, which are redone
    assert "s2.wav: 24 notes" in rerun.stdout and "s4.wav: 24 notes" in rerun.stdout
    # other settings than the finished run's are a different request: refused as before
    assert "exists (use --overwrite" in error_line(run(*cmd[:-1], cwd=tmp_path))
    assert run(*cmd[:-1], "--overwrite", cwd=tmp_path).returncode == 0


# 20. interrupted runs say how to resume; a closed pipe is not an error ---------------------------


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_transcription_says_how_to_resume(batch, signum, code):
    tmp_path, stems, cmd, expected = batch
    proc = subprocess.Popen(
        avsvt(*cmd),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal: a suite started in the background (`make test &` from a
        # script) passes SIGINT down ignored, and Python then rightly keeps ignoring it
        preexec_fn=_default_sigint,
    )
    try:
        wait_for(tmp_path / "out" / "s1.json")
    finally:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("avsvt: interrupted") and "rerun the same command to resume" in last
    assert not partial_files(tmp_path / "out")
    assert not (tmp_path / "out" / ".avsvt.lock").exists()
    assert run(*cmd, cwd=tmp_path).returncode == 0
    same_results(tmp_path / "out", expected, stems, ["mid", "csv", "json", "png"])


def test_avsvt_run_interrupted_by_sigterm_says_to_rerun_it(tmp_path):
    config = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
    out = tmp_path / "run"
    proc = subprocess.Popen(
        avsvt("run", str(config), "--set", f"out_dir={out}", "--set", "progress=false"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT below prints every thread
        start_new_session=True,  # its workers are told apart by their session
    )
    try:
        wait_for(out / "config.json", timeout_s=120)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:  # a hang: show where every thread of it waits
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=60)
            pytest.fail(f"avsvt run did not end within 120 s of SIGTERM:\n{err}")
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "avsvt: interrupted (SIGTERM); rerun the same command to resume (finished work is kept)"
    )
    assert not (out / ".avsvt.lock").exists()
    if sys.platform.startswith("linux"):  # and no worker of it outlives it
        left = session_left(proc.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert left == set()


PRINT_AND_CLOSE = textwrap.dedent("""
    import os, subprocess, sys
    read, write = os.pipe()
    os.close(read)  # the reader is gone, as after `| head`
    result = subprocess.run(sys.argv[1:], stdout=write, stderr=subprocess.PIPE, text=True)
    print(result.returncode)
    print(result.stderr, end="")
""")


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    import torch

    from avsvt.models import Transcriber, preset, save_model

    torch.manual_seed(0)
    save_model(Transcriber(preset("tiny", "audio")), tmp_path / "m.safetensors")
    for args in (
        ("model", "inspect", str(tmp_path / "m.safetensors")),
        ("transcribe", str(song(tmp_path / "song.wav")), "--format", "csv"),
    ):
        result = subprocess.run(
            [sys.executable, "-c", PRINT_AND_CLOSE, *avsvt(*args)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        code, *err = result.stdout.splitlines()
        assert code == "141" and err == [], result.stdout
    assert (tmp_path / "song.csv").exists()  # the work was done; only the report went nowhere
