"""`avsvt run` killed (SIGKILL) inside a long step and run again ends with the same results."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from faults import partial_files, run, wait_for

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
AVSVT = str(Path(sys.executable).parent / "avsvt")
if not Path(AVSVT).exists():  # pragma: no cover - a venv always has the entry point
    AVSVT = shutil.which("avsvt") or AVSVT
SETTINGS = [
    "progress=false",
    "threads=1",
    "audio.train.epochs=3",
    "audio.train.checkpoint_every_steps=1",
    "stage2.train.epochs=3",
    "stage2.train.checkpoint_every_steps=1",
]


def command(out: Path) -> list[str]:
    cmd = [AVSVT, "run", CONFIG, "--set", f"out_dir={out}"]
    for setting in SETTINGS:
        cmd += ["--set", setting]
    return cmd


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    run(command(out))
    return out


@pytest.mark.parametrize(
    "step, first_file",
    [
        ("stage1-audio", "stage1/audio/last.pt"),
        ("features", "features/settings.json"),
        ("stage2", "stage2/A/clean/last.pt"),
    ],
)
def test_a_killed_run_finishes_with_the_same_results(straight, tmp_path, step, first_file):
    crashed = tmp_path / "crashed"
    proc = subprocess.Popen(command(crashed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(crashed / first_file, timeout_s=120)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (crashed / "steps" / f"{step}.done").exists(), "killed too late"
    assert not (crashed / "report").exists()
    run(command(crashed))
    assert json.loads((crashed / "report" / "results.json").read_text()) == json.loads(
        (straight / "report" / "results.json").read_text()
    )
    for log in ("stage1/audio/log.csv", "stage2/A/clean/log.csv", "stage2/AV/clean/log.csv"):
        assert (crashed / log).read_text() == (straight / log).read_text(), log
    assert not [p for p in partial_files(crashed) if p.suffix != ".pt"]
