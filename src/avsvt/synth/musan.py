"""``avsvt synth musan``: a synthetic noise library in the MUSAN layout.

So that the real MUSAN preparation runs on it unchanged::

    OUT/speech/librivox/speech-librivox-NNNN.wav     one synthetic speaker per file, 12-40 s
    OUT/music/fma/music-fma-NNNN.wav                 accompaniment-like music clips, 12-30 s
    OUT/noise/free-sound/noise-free-sound-NNNN.wav   environmental events, 1-10 s
    OUT/noise/sound-bible/noise-sound-bible-NNNN.wav environmental events, 1-10 s

All 16 kHz mono int16 (as MUSAN). Speech is the singing voice of :mod:`avsvt.synth.voice` driven
by speech prosody (short syllables, pitch declining over a breath group, no vibrato, pauses), each
speaker with their own range and formants. File ``k`` of a category is a pure function of
``(seed, category, k)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfilt

from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import write_audio
from avsvt.synth.accomp import render_accompaniment
from avsvt.synth.melody import CONSONANTS, VOWELS, PlannedNote, SongPlan, make_singer, plan_song
from avsvt.synth.voice import render_vocals

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LibrarySizes:
    """Files per category."""

    n_speakers: int
    n_music: int
    n_noise_per_source: int
    max_clip_s: float  # speech and music clips are 12 s to this long (over 10 s: MUSAN splits them)


LIBRARY_PRESETS = {"default": LibrarySizes(40, 8, 30, 40.0), "tiny": LibrarySizes(12, 2, 8, 16.0)}
CATEGORY_CODES = {"speech": 1, "music": 2, "free-sound": 3, "sound-bible": 4}


def speech_plan(rng: np.random.Generator, duration_s: float) -> SongPlan:
    """Speech-like prosody for the voice renderer: syllables, declination, pauses."""
    singer = replace(make_singer(rng), vibrato_cents=0.0, jitter=0.01)
    mean = (singer.low_midi + singer.high_midi) / 2 - 4
    notes: list[PlannedNote] = []
    t, group = float(rng.uniform(0.2, 0.6)), 0
    while t < duration_s - 1.0:
        n_syllables = int(rng.integers(4, 16))
        for i in range(n_syllables):
            length = float(rng.uniform(0.09, 0.28))
            if t + length > duration_s - 0.3:
                break
            consonant = str(rng.choice([c for c in CONSONANTS if c]))
            unvoiced = CONSONANTS[consonant][1]
            pitch = int(round(mean + 3 - 5 * i / n_syllables + rng.normal(0, 1.5)))
            notes.append(
                PlannedNote(
                    round(t + unvoiced, 4),
                    round(t + length, 4),
                    pitch,
                    consonant,
                    str(rng.choice(VOWELS)),
                    False,
                    group,
                )
            )
            t += length + unvoiced
        t += float(rng.uniform(0.25, 0.9))
        group += 1
    return SongPlan(duration_s, 120.0, 0, False, tuple(notes), singer)


def _filtered_noise(rng: np.random.Generator, n: int, low_hz: float, high_hz: float) -> FloatArray:
    sos = butter(2, (low_hz, min(high_hz, 7800.0)), btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return np.asarray(sosfilt(sos, rng.standard_normal(n)))


def environmental_event(rng: np.random.Generator, max_s: float = 10.0) -> npt.NDArray[np.float32]:
    """A 1-10 s environmental sound: a burst, a hum, rain, clicks or a door-slam-like transient."""
    duration_s = float(rng.uniform(1.0, min(10.0, max_s)))
    n = int(duration_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    kind = str(rng.choice(["burst", "hum", "rain", "clicks", "slam"]))
    if kind == "burst":
        low = float(rng.uniform(100, 2000))
        sound = _filtered_noise(rng, n, low, low * rng.uniform(2, 6)) * np.hanning(n)
    elif kind == "hum":
        f0 = float(rng.choice([50.0, 60.0, 100.0, 120.0])) * rng.uniform(0.98, 1.02)
        sound = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8)) * (1 + 0.2 * np.sin(t))
    elif kind == "rain":
        drops = (rng.random(n) < 0.002) * rng.standard_normal(n)
        sound = _filtered_noise(rng, n, 2000, 7000) * 0.3 + np.convolve(
            drops, np.hanning(40), "same"
        )
    elif kind == "clicks":
        clicks = np.zeros(n)
        period = int(SAMPLE_RATE / rng.uniform(2, 12))
        clicks[::period] = 1.0
        sound = np.convolve(
            clicks, np.exp(-np.arange(200) / 20.0), "same"
        ) + 0.02 * rng.standard_normal(n)
    else:  # slam: a loud low transient with a short resonant tail
        sound = _filtered_noise(rng, n, 60, 900) * np.exp(-t / rng.uniform(0.05, 0.3))
    fade = min(n // 2, int(0.02 * SAMPLE_RATE))
    envelope = np.ones(n)
    envelope[:fade], envelope[n - fade :] = np.linspace(0, 1, fade), np.linspace(1, 0, fade)
    sound = np.asarray(sound) * envelope
    sound *= float(rng.uniform(0.1, 0.8)) / max(np.abs(sound).max(), 1e-9)
    return sound.astype(np.float32)


def _speech(rng: np.random.Generator, max_s: float) -> npt.NDArray[np.float32]:
    return render_vocals(speech_plan(rng, float(rng.uniform(12, max_s))), rng)


def _music(rng: np.random.Generator, max_s: float) -> npt.NDArray[np.float32]:
    plan = plan_song(rng, float(rng.uniform(12, min(30.0, max_s))))
    melody = render_vocals(plan, rng)
    music = render_accompaniment(plan, melody, rng) + 0.5 * melody
    return (music * 0.8 / max(float(np.abs(music).max()), 1e-9)).astype(np.float32)


def synth_musan_library(
    out: str | Path,
    *,
    seed: int = 0,
    preset: Literal["default", "tiny"] = "default",
    progress: bool = True,
) -> Path:
    """Write (or complete) a MUSAN-style library under ``out``; finished files are skipped."""
    from tqdm import tqdm

    out = Path(out)
    sizes = LIBRARY_PRESETS[preset]
    Render = Callable[[np.random.Generator, float], npt.NDArray[np.float32]]
    jobs: list[tuple[Path, str, int, Render]] = []
    jobs += [
        (out / "speech" / "librivox" / f"speech-librivox-{k:04d}.wav", "speech", k, _speech)
        for k in range(sizes.n_speakers)
    ]
    jobs += [
        (out / "music" / "fma" / f"music-fma-{k:04d}.wav", "music", k, _music)
        for k in range(sizes.n_music)
    ]
    for source in ("free-sound", "sound-bible"):
        jobs += [
            (out / "noise" / source / f"noise-{source}-{k:04d}.wav", source, k, environmental_event)
            for k in range(sizes.n_noise_per_source)
        ]
    for path, category, k, render in tqdm(
        jobs, desc="synth musan", unit="file", disable=not progress
    ):
        if path.exists():
            continue
        rng = np.random.default_rng([seed, CATEGORY_CODES[category], k])
        write_audio(path, render(rng, sizes.max_clip_s), subtype="PCM_16")
    return out
