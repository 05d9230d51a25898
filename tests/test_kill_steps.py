"""Fault injection for the data steps: SIGKILL each at a random point, rerun, same bytes.

Corpus generation, MUSAN preparation and noise synthesis each run as the user runs them (the CLI in
its own process). The crashed copy is killed at a seeded random moment after its first output file
appears, then the same command runs again; its folder must equal an uninterrupted run's, file by
file, and no partial file may be left under a final name. (Training, features and the stage-2 grid:
tests/recipes/test_run_kill.py and tests/train/test_kill.py.)
"""

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from faults import CASES, LOCKS, ORDER, partial_files, tree_digest


def kill_after_first_output(cmd: list[str], cwd: Path, pattern: str, extra_s: float) -> bool:
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(cwd.glob(pattern)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(extra_s)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", ORDER)
def test_a_killed_step_reruns_to_the_same_bytes(step_inputs, tmp_path, name, seed):
    cmd, pattern = CASES[name]
    straight, crashed = tmp_path / "straight", tmp_path / "crashed"
    for folder in (straight, crashed):
        shutil.copytree(step_inputs[name], folder)
    subprocess.run(cmd, cwd=straight, check=True, capture_output=True, timeout=300)
    extra_s = random.Random(f"{name}-{seed}").uniform(0.0, 0.4)
    killed = kill_after_first_output(cmd, crashed, pattern, extra_s)
    assert killed, "the step finished before the kill: kill earlier"
    assert not [
        p
        for p in crashed.rglob("*")
        if p.is_file()
        and p.stat().st_size == 0
        and p.name not in LOCKS
        and not p.name.startswith(".")
    ], "empty final file"
    subprocess.run(cmd, cwd=crashed, check=True, capture_output=True, timeout=300)
    # bookkeeping that names the folder itself (shard markers; MUSAN's absolute-path frame list)
    ignore = (*LOCKS, "/.shards/", "nframes.audio")
    assert tree_digest(crashed, ignore=ignore) == tree_digest(straight, ignore=ignore)
    for frames in straight.rglob("nframes.audio"):
        other = crashed / frames.relative_to(straight)
        assert other.read_text().replace(str(crashed), str(straight)) == frames.read_text()
    assert not partial_files(crashed)
