"""SIGKILL during stage-1 training, rerun: the same weights and metrics as an uninterrupted run."""

from pathlib import Path

import pytest
import torch

from avsvt.testing import make_tiny_corpus
from avsvt.train.loop import load_training_state
from faults import partial_files, python, run, run_and_kill

SCRIPT = str(Path(__file__).parent / "toy_train.py")


@pytest.mark.parametrize(
    "kill_after_s",
    [4.5, pytest.param(2.5, marks=pytest.mark.slow), pytest.param(6.0, marks=pytest.mark.slow)],
)
def test_killed_training_resumes_to_identical_results(tmp_path, kill_after_s):
    root = make_tiny_corpus(tmp_path / "root", n_songs=9, duration_s=10.0, seed=1)
    run(python(SCRIPT, str(root), str(tmp_path / "straight")))
    killed = run_and_kill(
        python(SCRIPT, str(root), str(tmp_path / "crashed")), after_s=kill_after_s
    )
    run(python(SCRIPT, str(root), str(tmp_path / "crashed")))
    a = load_training_state(tmp_path / "straight" / "last.pt")
    b = load_training_state(tmp_path / "crashed" / "last.pt")
    assert killed, "the run finished before the kill: make the kill earlier"
    assert a["history"] == b["history"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert not [p for p in partial_files(tmp_path / "crashed") if p.suffix != ".pt"]
