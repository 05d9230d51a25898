"""A small audio transcriber really trained (seconds, on 2 cores) on clearly separated tones.

Songs are harmonic tones (:func:`avsvt.testing.synth_vocal`) with a silent gap before every note,
so their onsets are unambiguous; 4 epochs of the real training loop give a tiny-preset model with
validation COn near 0.99. Tests use it wherever a *trained* checkpoint must meet real audio:
``avsvt transcribe`` through the CLI, the recipe's evaluation against transcription, drift.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS
from avsvt.data.audio import write_audio
from avsvt.data.n20em import ACCOMP, VIDEO, VOCALS, write_annotations
from avsvt.data.prepare import save_npy_atomic
from avsvt.notes import Note
from avsvt.testing import synth_lip_frames, synth_vocal

SPLITS = ("train", "valid", "test", "train")


def gapped_melody(rng: np.random.Generator, duration_s: float) -> list[Note]:
    """Notes of 0.15-0.45 s, each after a 80-300 ms rest, pitches MIDI 50-71."""
    notes = []
    t = float(rng.uniform(0.1, 0.3))
    while True:
        length = float(rng.uniform(0.15, 0.45))
        if t + length > duration_s - 0.1:
            return notes
        notes.append(Note(round(t, 3), round(t + length, 3), float(rng.integers(50, 72))))
        t += length + float(rng.uniform(0.08, 0.3))


def write_gapped_corpus(root: Path, *, n_songs: int = 16, duration_s: float = 10.0) -> Path:
    """An N20EMv2 root of gapped-tone songs (splits train/valid/test/train in turn)."""
    rng = np.random.default_rng(0)
    entries = {}
    for i in range(n_songs):
        notes = gapped_melody(rng, duration_s)
        n_samples = int(duration_s * SAMPLE_RATE)
        folder = root / "data" / f"s{i:03d}"
        write_audio(folder / VOCALS, synth_vocal(notes, n_samples))
        write_audio(folder / ACCOMP, np.zeros(n_samples, np.float32))
        save_npy_atomic(folder / VIDEO, synth_lip_frames(notes, int(duration_s * VIDEO_FPS)))
        entries[f"s{i:03d}"] = (SPLITS[i % 4], notes)
    write_annotations(root, entries)
    return root


def train_audio_model(root: Path, run_dir: Path) -> Path:
    """Train the tiny audio preset on ``root`` with the recipe's stage-1 trainable; best model."""
    import torch

    from avsvt.data.n20em import load_songs
    from avsvt.models import Transcriber, configure
    from avsvt.recipes.systems import best_model_saver, stage1_trainable
    from avsvt.train.datasets import AudioUtterances
    from avsvt.train.loop import fit
    from avsvt.train.settings import OptimConfig, TrainConfig

    songs = load_songs(root)
    torch.manual_seed(0)
    model = Transcriber(configure("tiny", "audio"))
    config = TrainConfig(
        epochs=4,
        linear_probe_epochs=0,
        batch_size=4,
        optim=OptimConfig(head_lr=1.0, encoder_lr=3e-3),
    )
    fit(
        stage1_trainable(model),
        AudioUtterances([s for s in songs if s.split == "train"]),
        AudioUtterances([s for s in songs if s.split == "valid"]),
        config,
        run_dir,
        on_best=best_model_saver(run_dir / "best.safetensors"),
        progress=False,
    )
    return run_dir / "best.safetensors"
