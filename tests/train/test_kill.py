"""SIGKILL during stage-1 training, rerun: the same weights and metrics as an uninterrupted run."""

import time
from pathlib import Path

import pytest
import torch

from avsvt.models.checkpoint import load_training_state
from avsvt.testing import make_tiny_corpus
from faults import partial_files, python, run, run_and_kill

SCRIPT = str(Path(__file__).parent / "toy_train.py")


@pytest.mark.parametrize(
    "kill_fraction",
    [0.6, pytest.param(0.35, marks=pytest.mark.slow), pytest.param(0.85, marks=pytest.mark.slow)],
)
def test_killed_training_resumes_to_identical_results(tmp_path, kill_fraction):
    # The kill time is a fraction of this machine's uninterrupted run, so it lands mid-training
    # on fast and slow machines alike.
    root = make_tiny_corpus(tmp_path / "root", n_songs=9, duration_s=10.0, seed=1)
    start_s = time.monotonic()
    run(python(SCRIPT, str(root), str(tmp_path / "straight")))
    straight_s = time.monotonic() - start_s
    killed = run_and_kill(
        python(SCRIPT, str(root), str(tmp_path / "crashed")), after_s=kill_fraction * straight_s
    )
    run(python(SCRIPT, str(root), str(tmp_path / "crashed")))
    a = load_training_state(tmp_path / "straight" / "last.pt")
    b = load_training_state(tmp_path / "crashed" / "last.pt")
    assert killed, "the run finished before the kill: make the kill earlier"
    assert a["history"] == b["history"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert not [p for p in partial_files(tmp_path / "crashed") if p.suffix != ".pt"]
