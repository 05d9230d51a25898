"""Two processes on CPU (gloo): a loss that is not finite on one process only is skipped by all.

Without agreement the process that skips leaves the other waiting in DDP's gradient all-reduce
forever; the run is bounded by a timeout so a hang fails the test instead of blocking it. The two
workers are started here with torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR/PORT), not
through torchrun, whose workers outlive a killed launcher: a hang must leave no process behind.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from avsvt.testing import make_tiny_corpus

SCRIPT = str(Path(__file__).parent / "nonfinite_train.py")
TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_two_processes(root: Path, run_dir: Path, logs: Path) -> list[int | None]:
    """Start ranks 0 and 1, wait up to TIMEOUT_S; return codes (None: killed, it hung)."""
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        log = (logs / f"rank{rank}.log").open("wb")
        cmd = [sys.executable, SCRIPT, str(root), str(run_dir)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        log.close()
    deadline = time.monotonic() + TIMEOUT_S
    codes: list[int | None] = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            codes.append(None)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return codes


def test_a_nan_loss_on_one_rank_is_skipped_on_every_rank(tmp_path):
    # 4 train songs of 10 s = 8 utterances: batch 1, 2 processes -> 4 steps per epoch, 2 epochs
    root = make_tiny_corpus(tmp_path / "root", n_songs=12, duration_s=10.0, seed=1)
    run_dir = tmp_path / "run"
    codes = run_two_processes(root, run_dir, tmp_path)
    logs = "\n".join((tmp_path / f"rank{r}.log").read_text()[-2000:] for r in (0, 1))
    assert None not in codes, f"still running after {TIMEOUT_S} s (the processes hang):\n{logs}"
    assert codes == [0, 0], logs
    rank0, rank1 = (json.loads((run_dir / f"rank{r}.json").read_text()) for r in (0, 1))
    # rank 1's third training forward (epoch 1, its third step: batch index 2) was NaN
    assert rank0["skipped"] == rank1["skipped"] == [[1, 2]]
    assert rank0["training_calls"] == rank1["training_calls"] == 8
    assert rank0["steps"] == rank1["steps"] == 7
    assert rank0["weights"] == rank1["weights"]  # the DDP replicas are still identical
