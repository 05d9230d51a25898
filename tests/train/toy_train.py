"""A toy stage-1 training run in its own process, for SIGKILL tests: toy_train.py ROOT RUN_DIR."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from test_loop import CONFIG, trainable  # noqa: E402

from avsvt.data.n20em import load_songs  # noqa: E402
from avsvt.train.datasets import AudioUtterances  # noqa: E402
from avsvt.train.distributed import distributed  # noqa: E402
from avsvt.train.loop import fit  # noqa: E402

if __name__ == "__main__":
    torch.set_num_threads(1)
    songs = load_songs(sys.argv[1])
    train = AudioUtterances([s for s in songs if s.split == "train"])
    valid = AudioUtterances([s for s in songs if s.split == "valid"])
    with distributed():
        fit(trainable(), train, valid, CONFIG, sys.argv[2], progress=False)
