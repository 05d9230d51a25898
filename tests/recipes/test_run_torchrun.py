"""`torchrun --nproc_per_node 2 -m avsvt run` on CPU (gloo): both stages data-parallel."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from avsvt.models.checkpoint import load_training_state

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not installed beside this Python")
def test_two_processes_run_the_whole_pipeline(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "avsvt", "run", CONFIG]
    cmd += ["--set", f"out_dir={out}", "--set", "progress=false"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("stage1-audio finished") == 1  # rank 0 logs, the others are quiet
    for stage in ("stage1/audio", "stage1/video", "stage2/AV/clean"):
        state = load_training_state(out / stage / "last.pt")
        assert state["global_step"] > 0 and len(state["history"]) == 2, stage
    results = json.loads((out / "report" / "results.json").read_text())
    assert set(results) == {"A", "AV"}
    assert (out / "report" / "index.html").exists()
