"""A toy run whose loss is NaN on one process for one batch: nonfinite_train.py ROOT RUN_DIR.

Under torchrun with two processes, rank 1's third training forward gives NaN logits. Each rank
writes ``rank<r>.json``: the (epoch, batch) of every step the loop skipped as it logged them, the
optimiser steps taken and a checksum of each parameter.
"""

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from test_loop import CONFIG, toy_forward, trainable  # noqa: E402

from avsvt.data.n20em import load_songs  # noqa: E402
from avsvt.train.datasets import AudioUtterances  # noqa: E402
from avsvt.train.distributed import distributed  # noqa: E402
from avsvt.train.loop import fit  # noqa: E402

NAN_RANK, NAN_CALL = 1, 3


class SkippedSteps(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.skipped = []

    def emit(self, record):
        if "not finite" in record.getMessage():
            self.skipped.append(list(record.args))


if __name__ == "__main__":
    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    songs = load_songs(sys.argv[1])
    run_dir = Path(sys.argv[2])
    train = AudioUtterances([s for s in songs if s.split == "train"])
    valid = AudioUtterances([s for s in songs if s.split == "valid"])
    training_calls = 0

    def forward(model, batch):
        global training_calls
        logits, lengths = toy_forward(model, batch)
        if model.training:
            training_calls += 1
            if rank == NAN_RANK and training_calls == NAN_CALL:
                logits = logits * float("nan")
        return logits, lengths

    handler = SkippedSteps()
    logging.getLogger("avsvt.train.loop").addHandler(handler)
    config = dataclasses.replace(CONFIG, epochs=2, batch_size=1, checkpoint_every_steps=0)
    toy = dataclasses.replace(trainable(), forward=forward)
    with distributed():
        result = fit(toy, train, valid, config, run_dir, progress=False)
    report = {
        "skipped": handler.skipped,
        "steps": result.history[-1]["step"],
        "training_calls": training_calls,
        "weights": [float(p.detach().double().sum()) for p in toy.module.parameters()],
    }
    (run_dir / f"rank{rank}.json").write_text(json.dumps(report))
