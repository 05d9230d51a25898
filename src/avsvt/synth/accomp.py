"""Accompaniment that competes with the voice: chords fitting the melody, bass, drums.

One chord per bar is chosen from the key's diatonic triads to contain as many of the bar's melody
notes as possible; it is voiced in the singer's register (an additive piano/organ tone) over a bass
on the root and a synthetic kit (kick, snare, hi-hat). The level relative to the vocals varies
between songs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE
from avsvt.synth.melody import MAJOR, MINOR, SongPlan

FloatArray = npt.NDArray[np.float64]


def _tone(
    pitch_midi: float, length_s: float, *, decay_s: float, n_harmonics: int, brightness: float
) -> FloatArray:
    t = np.arange(int(length_s * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 440.0 * 2 ** ((pitch_midi - 69) / 12)
    out = np.zeros_like(t)
    for k in range(1, n_harmonics + 1):
        if k * f0 > 7000:
            break
        out += np.sin(2 * np.pi * k * f0 * t) * k ** (-brightness) * np.exp(-t * k / (decay_s * 3))
    envelope = np.exp(-t / decay_s) * np.clip(t / 0.005, 0, 1)
    tail = min(len(t), int(0.02 * SAMPLE_RATE))
    envelope[len(t) - tail :] *= np.linspace(1, 0, tail)
    return np.asarray(out * envelope, dtype=np.float64)


def _add(out: FloatArray, start_s: float, signal: FloatArray, gain: float) -> None:
    start = int(start_s * SAMPLE_RATE)
    if start >= len(out):
        return
    end = min(len(out), start + len(signal))
    out[start:end] += gain * signal[: end - start]


def _drum(kind: str, rng: np.random.Generator) -> FloatArray:
    if kind == "kick":
        t = np.arange(int(0.18 * SAMPLE_RATE)) / SAMPLE_RATE
        freq = 50 + 70 * np.exp(-t / 0.03)
        return np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t / 0.06)
    length = int((0.15 if kind == "snare" else 0.04) * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    noise = rng.standard_normal(length)
    if kind == "hat":
        noise = np.diff(noise, prepend=0.0)  # brighter
        return np.asarray(0.4 * noise * np.exp(-t / 0.012), dtype=np.float64)
    body = np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.03)
    return np.asarray(0.6 * noise * np.exp(-t / 0.05) + body, dtype=np.float64)


def render_accompaniment(
    plan: SongPlan, vocals: npt.NDArray[np.float32], rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Render the accompaniment, same length as ``vocals``, RMS 0.5x-2x the vocals' RMS."""
    n = len(vocals)
    out = np.zeros(n)
    beat_s = 60.0 / plan.tempo_bpm
    bar_s = 4 * beat_s
    steps = MINOR if plan.minor else MAJOR
    triads = [[steps[(d + i) % 7] for i in (0, 2, 4)] for d in range(7)]
    register = (plan.singer.low_midi + plan.singer.high_midi) // 2
    brightness = float(rng.uniform(0.8, 1.6))
    decay_s = float(rng.uniform(0.4, 1.5))
    drums = bool(rng.random() < 0.8)
    n_bars = int(np.ceil(plan.duration_s / bar_s))
    for bar in range(n_bars):
        start_s = bar * bar_s
        bar_notes = [p.pitch_midi for p in plan.notes if start_s <= p.onset_s < start_s + bar_s]
        scores = [
            sum((p - plan.key_midi) % 12 in triad for p in bar_notes)
            + 0.3 * (d in (0, 3, 4))
            + 0.01 * rng.random()
            for d, triad in enumerate(triads)
        ]
        triad = triads[int(np.argmax(scores))]
        root = plan.key_midi + triad[0]
        bass = 36 + (root - 36) % 12
        for beat in range(4):
            t = start_s + beat * beat_s
            _add(out, t, _tone(bass, beat_s, decay_s=0.5, n_harmonics=6, brightness=1.5), 0.5)
            if beat in (0, 2):  # chords in the voice's register, on beats 1 and 3
                for interval in triad:
                    pitch = register - 6 + (plan.key_midi + interval - register + 6) % 12
                    tone = _tone(
                        pitch, 2 * beat_s, decay_s=decay_s, n_harmonics=10, brightness=brightness
                    )
                    _add(out, t, tone, 0.25)
            if drums:
                _add(out, t, _drum("kick" if beat in (0, 2) else "snare", rng), 0.5)
                _add(out, t, _drum("hat", rng), 0.3)
                _add(out, t + beat_s / 2, _drum("hat", rng), 0.2)
    vocal_rms = float(np.sqrt(np.mean(vocals.astype(np.float64) ** 2))) or 1e-3
    accomp_rms = float(np.sqrt(np.mean(out**2))) or 1e-3
    out *= vocal_rms / accomp_rms * 10 ** (rng.uniform(-6, 6) / 20)
    peak = np.abs(out).max()
    if peak > 0.95:
        out *= 0.95 / peak
    return out.astype(np.float32)
