"""torchrun on CPU (gloo): one process equals no torchrun; two processes train and agree."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from avsvt.models.checkpoint import load_training_state
from avsvt.testing import make_tiny_corpus

SCRIPT = str(Path(__file__).parent / "toy_train.py")
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent))


def torchrun(n: int, root: Path, run_dir: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [TORCHRUN, "--standalone", f"--nproc_per_node={n}", SCRIPT, str(root), str(run_dir)]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=300)


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not installed beside this Python")
def test_torchrun_one_process_equals_plain_and_two_processes_train(tmp_path):
    root = make_tiny_corpus(tmp_path / "root", n_songs=9, duration_s=10.0, seed=1)
    subprocess.run(
        [sys.executable, SCRIPT, str(root), str(tmp_path / "plain")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    torchrun(1, root, tmp_path / "one")
    plain = load_training_state(tmp_path / "plain" / "last.pt")
    one = load_training_state(tmp_path / "one" / "last.pt")
    for key, value in plain["model"].items():
        assert torch.equal(value, one["model"][key]), key
    torchrun(2, root, tmp_path / "two")
    two = load_training_state(tmp_path / "two" / "last.pt")
    assert two["global_step"] > 0 and len(two["history"]) == len(plain["history"])
    assert two["history"][-1]["train_loss"] < two["history"][0]["train_loss"]
