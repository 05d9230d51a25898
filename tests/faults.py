"""Fault injection: SIGKILL a long step at a random point, rerun it, compare with a clean run."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TEMP_MARK = ".tmp-"


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


def wait_for(path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.05)
