"""`avsvt run` killed (SIGKILL) during stage 1 and run again ends with the same results."""

import json
import shutil
import sys
from pathlib import Path

from faults import partial_files, run, wait_for

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
AVSVT = str(Path(sys.executable).parent / "avsvt")
if not Path(AVSVT).exists():  # pragma: no cover - a venv always has the entry point
    AVSVT = shutil.which("avsvt") or AVSVT


def command(out: Path) -> list[str]:
    return [
        AVSVT,
        "run",
        CONFIG,
        "--set",
        f"out_dir={out}",
        "--set",
        "progress=false",
        "--set",
        "threads=1",
        "--set",
        "audio.train.epochs=3",
        "--set",
        "audio.train.checkpoint_every_steps=1",
    ]


def test_a_run_killed_in_stage1_finishes_with_the_same_metrics(tmp_path):
    import os
    import signal
    import subprocess

    run(command(tmp_path / "straight"))
    crashed = tmp_path / "crashed"
    proc = subprocess.Popen(command(crashed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(crashed / "stage1" / "audio" / "last.pt", timeout_s=120)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (crashed / "steps" / "stage1-audio.done").exists(), "killed too late"
    assert not (crashed / "report").exists()
    run(command(crashed))
    assert json.loads((crashed / "report" / "results.json").read_text()) == json.loads(
        (tmp_path / "straight" / "report" / "results.json").read_text()
    )
    assert (crashed / "stage1" / "audio" / "log.csv").read_text() == (
        tmp_path / "straight" / "stage1" / "audio" / "log.csv"
    ).read_text()
    assert not [p for p in partial_files(crashed) if p.suffix != ".pt"]
