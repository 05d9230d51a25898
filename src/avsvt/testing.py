"""Synthetic material with answers known by construction, for tests, docs and smoke runs.

Everything here is deterministic given its ``rng``/``seed`` and needs no files from outside.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS, VIDEO_ROI_SIDE
from avsvt.data.audio import write_audio
from avsvt.data.n20em import ACCOMP, VIDEO, VOCALS, write_annotations
from avsvt.data.prepare import save_npy_atomic
from avsvt.labels import LabelArray
from avsvt.layout import (
    LABEL_OCTAVE,
    LABEL_OFFSET,
    LABEL_ONSET,
    LABEL_PITCH_CLASS,
    N_OUTPUTS,
    OCTAVE,
    OFFSET,
    ONSET,
    PITCH_CLASS,
)
from avsvt.notes import Note, midi_to_hz


def random_melody(
    rng: np.random.Generator,
    *,
    duration_s: float,
    min_note_s: float = 0.15,
    max_note_s: float = 0.6,
    low_midi: int = 48,
    high_midi: int = 76,
) -> list[Note]:
    """A random monophonic melody with rests, notes snapped to 10 ms."""
    notes: list[Note] = []
    t = float(rng.uniform(0.1, 0.4))
    pitch = int(rng.integers(low_midi + 4, high_midi - 4))
    while True:
        length = float(rng.uniform(min_note_s, max_note_s))
        if t + length > duration_s - 0.1:
            return notes
        pitch = int(np.clip(pitch + rng.integers(-4, 5), low_midi, high_midi))
        notes.append(Note(round(t, 2), round(t + length, 2), float(pitch)))
        t = round(t + length + (float(rng.uniform(0.05, 0.4)) if rng.random() < 0.4 else 0.0), 2)


def synth_vocal(
    notes: Sequence[Note], n_samples: int, *, sample_rate: int = SAMPLE_RATE, n_harmonics: int = 5
) -> npt.NDArray[np.float32]:
    """A few harmonics at each note's f0 with 10 ms attack/release ramps (peak about 0.5)."""
    audio = np.zeros(n_samples, dtype=np.float64)
    ramp = int(0.01 * sample_rate)
    for note in notes:
        start, end = (
            round(note.onset_s * sample_rate),
            min(round(note.offset_s * sample_rate), n_samples),
        )
        if end <= start:
            continue
        t = np.arange(end - start) / sample_rate
        f0 = midi_to_hz(note.pitch_midi)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, n_harmonics + 1))
        envelope = np.ones(end - start)
        r = min(ramp, (end - start) // 2)
        if r:
            envelope[:r] = np.linspace(0, 1, r)
            envelope[-r:] = np.linspace(1, 0, r)
        audio[start:end] += 0.3 * tone * envelope
    return audio.astype(np.float32)


def synth_lip_frames(
    notes: Sequence[Note], n_frames: int, *, fps: float = VIDEO_FPS, side: int = VIDEO_ROI_SIDE
) -> npt.NDArray[np.uint8]:
    """A dark ellipse ("mouth") that opens during notes and closes between them, (T, side, side)."""
    opening = np.zeros(n_frames)
    for note in notes:
        a, b = round(note.onset_s * fps), round(note.offset_s * fps)
        opening[a:b] = 1.0
        opening[a : min(a + 2, b)] = 0.4  # opening starts: a timing cue at the onset
    yy, xx = np.mgrid[0:side, 0:side] - side / 2
    frames = np.full((n_frames, side, side), 170, dtype=np.uint8)
    for i, open_amount in enumerate(opening):
        height = 2 + 14 * open_amount
        inside = (xx / 20) ** 2 + (yy / height) ** 2 <= 1
        frames[i][inside] = 40
    return frames


def make_tiny_corpus(
    root: str | Path, *, n_songs: int = 3, duration_s: float = 6.0, seed: int = 0
) -> Path:
    """Write a small N20EMv2 root of harmonic tones, mouth ellipses and noise accompaniment.

    Songs are split train/valid/test in turn. Returns ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    entries: dict[str, tuple[str, list[Note]]] = {}
    splits = ("train", "valid", "test")
    for i in range(n_songs):
        song_id = f"song{i:03d}"
        notes = random_melody(rng, duration_s=duration_s)
        n_samples = round(duration_s * SAMPLE_RATE)
        folder = root / "data" / song_id
        write_audio(folder / VOCALS, synth_vocal(notes, n_samples))
        write_audio(folder / ACCOMP, (0.05 * rng.standard_normal(n_samples)).astype(np.float32))
        save_npy_atomic(folder / VIDEO, synth_lip_frames(notes, round(duration_s * VIDEO_FPS)))
        entries[song_id] = (splits[i % 3], notes)
    write_annotations(root, entries)
    return root


def oracle_logits(labels: LabelArray) -> npt.NDArray[np.float32]:
    """Perfect (T, 20) model outputs for frame labels: +-20 logits and one-hot class logits."""
    n = len(labels)
    logits = np.full((n, N_OUTPUTS), -20.0, dtype=np.float32)
    logits[:, ONSET] = np.where(labels[:, LABEL_ONSET] == 1, 20.0, -20.0)
    logits[:, OFFSET] = np.where(labels[:, LABEL_OFFSET] == 1, 20.0, -20.0)
    logits[np.arange(n), OCTAVE.start + labels[:, LABEL_OCTAVE]] = 20.0
    logits[np.arange(n), PITCH_CLASS.start + labels[:, LABEL_PITCH_CLASS]] = 20.0
    return logits
