"""Fault injection: SIGKILL a long step at a random point, rerun it, compare with a clean run."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

TEMP_MARK = ".tmp-"
PAGE = 4096


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout_s: float = 600) -> None:
    subprocess.run(list(cmd), check=True, timeout=timeout_s, env=env, capture_output=True)


def run_and_kill(cmd: Sequence[str], *, after_s: float, env: dict[str, str] | None = None) -> bool:
    """Start ``cmd``, SIGKILL it after ``after_s`` seconds; returns True if it was killed."""
    proc = subprocess.Popen(
        list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        proc.wait(timeout=after_s)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def tree_digest(root: Path, *, ignore: Sequence[str] = ()) -> dict[str, str]:
    """sha256 of every file under root by relative path, leaving out temp files and ``ignore``."""
    digests = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and TEMP_MARK not in path.name and not any(i in rel for i in ignore):
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def partial_files(root: Path) -> list[Path]:
    """Leftover temporary files (allowed to exist after a kill, never under a final name)."""
    return [p for p in root.rglob("*") if TEMP_MARK in p.name]


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (Linux; a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def session_left(session_id: int, within_s: float = 10) -> set[int]:
    """The processes of session ``session_id`` still running after ``within_s`` (Linux)."""

    def members() -> set[int]:
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and alive(int(entry.name)):
                with contextlib.suppress(OSError, IndexError):
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[3]) == session_id:
                        found.add(int(entry.name))
        return found

    deadline = time.monotonic() + within_s
    while (left := members()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def wait_for(path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.05)


@contextlib.contextmanager
def tmpfs(mount_point: Path, size_bytes: int) -> Iterator[Path]:
    """A size-limited tmpfs at ``mount_point`` (a real full disk); skips where mounts are denied."""
    import pytest

    mount_point.mkdir(parents=True, exist_ok=True)
    size = max(PAGE, size_bytes // PAGE * PAGE)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def resize_tmpfs(mount_point: Path, size_bytes: int) -> None:
    """Grow (or shrink) a tmpfs mounted by :func:`tmpfs`."""
    subprocess.run(["mount", "-o", f"remount,size={size_bytes}", str(mount_point)], check=True)


def pages(root: Path) -> int:
    """Bytes the files under ``root`` take on a tmpfs (whole pages)."""
    return sum(-(-p.stat().st_size // PAGE) * PAGE for p in root.rglob("*") if p.is_file())


# The data steps as the user runs them (the CLI in its own process, cwd = a folder holding work/),
# with a glob matching their outputs.
AVSVT = str(Path(sys.executable).parent / "avsvt")
LOCKS = (".avsvt.lock",)


def avsvt(*args: str) -> list[str]:
    return [AVSVT, *args]


CASES = {
    "corpus": (
        avsvt("synth", "corpus", "work/c", "--preset", "tiny", "--songs", "6", "--workers", "1"),
        "work/c/data/*/vocals.wav",
    ),
    "musan-prepare": (
        avsvt("musan", "prepare", "work/lib", "--n-babble", "60", "10", "10", "--workers", "1"),
        "work/lib/short-musan/*/*/*.wav",
    ),
    "noise": (
        avsvt(
            "noise",
            "synth",
            "work/c",
            "--babble",
            "work/lib/short-musan/babble/wav",
            "--natural",
            "work/lib/noise",
        ),
        "work/c/data/*/noise_data/*/*.wav",
    ),
}
ORDER = list(CASES)


def prepare_step_inputs(base: Path, snapshots: Path) -> dict[str, Path]:
    """Each step's input, made by the steps before it (one folder per step)."""
    subprocess.run(
        avsvt("musan", "synth", "work/lib", "--preset", "tiny"),
        cwd=base,
        check=True,
        capture_output=True,
    )
    inputs = {}
    for name in ORDER:
        snapshot = snapshots / f"before-{name}"
        shutil.copytree(base / "work", snapshot / "work")
        inputs[name] = snapshot
        subprocess.run(CASES[name][0], cwd=base, check=True, capture_output=True, timeout=300)
    return inputs
