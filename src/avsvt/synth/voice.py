"""A singing voice from a song plan: additive glottal source through moving vowel formants.

Every harmonic ``k`` of the glottal source is a sinusoid on the phase of a continuous f0 contour
(scoops into notes, glides in legato and melismas, vibrato that grows into long notes, jitter), with
an amplitude set by the source's spectral tilt, shimmer, the loudness envelope and the formant
filter of the current vowel (or nasal/liquid consonant) evaluated at ``k * f0``. Unvoiced
consonants (plosive bursts, fricative noise) precede the voicing; breaths fill longer rests; a short
synthetic room reverb is added. Voicing starts exactly at each planned note's onset and ends at its
offset, so the labels are the notes actually sung. A singer may let notes before a rest fade out
with a drooping pitch (``Singer.fade_p``, ``fall_cents``; off in the embedded corpus, whose bytes
do not change: no draw is made for it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, fftconvolve, sosfilt

from avsvt.constants import SAMPLE_RATE
from avsvt.synth.melody import CONSONANTS, PlannedNote, Singer, SongPlan, breaths

FloatArray = npt.NDArray[np.float64]
CONTROL_HOP = 80  # samples per control frame (200 Hz)
MAX_HARMONIC_HZ = 7000.0

# (F1, F2, F3) in Hz for a typical male voice; bandwidths grow with frequency
FORMANTS = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (300.0, 2250.0, 3000.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (320.0, 870.0, 2240.0),
    "m": (260.0, 1000.0, 2200.0),
    "n": (260.0, 1500.0, 2500.0),
    "l": (360.0, 1300.0, 2700.0),
}
BANDWIDTHS = (80.0, 110.0, 160.0)
VOWELS = ("a", "e", "i", "o", "u")


def _formant_gain(
    freq: FloatArray, formants: FloatArray, bandwidth_scale: float = 1.0
) -> FloatArray:
    """Magnitude of a cascade of second-order resonators (unity at 0 Hz) at ``freq``.

    Args:
        freq: (C,) frequencies.
        formants: (C, 3) formant frequencies per control frame.
        bandwidth_scale: The formants' bandwidths (:data:`BANDWIDTHS`) times this.
    """
    gain = np.ones_like(freq)
    for i, bandwidth_hz in enumerate(BANDWIDTHS):
        bandwidth = bandwidth_hz * bandwidth_scale
        f_i = formants[:, i]
        gain *= f_i**2 / np.sqrt((f_i**2 - freq**2) ** 2 + (bandwidth * freq) ** 2)
    return gain


def _note_vowel(vowel: str, singer: Singer, rng: np.random.Generator) -> FloatArray:
    """A note's (F1, F2, F3): its vowel's, moved and jittered by the singer's timbre variety.

    ``vowel_blend`` moves it toward another vowel, ``formant_jitter`` offsets each formant; with
    both 0 (the corpus' voices) nothing is drawn.
    """
    formants = np.array(FORMANTS[vowel])
    if singer.vowel_blend:
        other = np.array(FORMANTS[str(rng.choice(VOWELS))])
        formants += float(rng.uniform(0, singer.vowel_blend)) * (other - formants)
    if singer.formant_jitter:
        formants *= np.exp(rng.normal(0.0, singer.formant_jitter, 3))
    return formants


def _control_tracks(
    plan: SongPlan, n_control: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per control frame: f0 (MIDI), voicing amplitude (0..1) and formants (C, 3)."""
    fps = SAMPLE_RATE / CONTROL_HOP
    times = np.arange(n_control) / fps
    pitch = np.full(n_control, float(plan.notes[0].pitch_midi) if plan.notes else 60.0)
    amp = np.zeros(n_control)
    formants = np.tile(np.array(FORMANTS["a"]), (n_control, 1))
    singer = plan.singer
    phrase_gain = {p: float(rng.uniform(0.55, 1.0)) for p in {n.phrase for n in plan.notes}}
    previous: PlannedNote | None = None
    for i, note in enumerate(plan.notes):
        lo, hi = int(round(note.onset_s * fps)), int(round(note.offset_s * fps))
        if hi <= lo:
            continue
        t = times[lo:hi] - note.onset_s
        target = float(note.pitch_midi) + singer.tuning_cents / 100
        if singer.note_error_cents:
            target += float(rng.normal(0.0, singer.note_error_cents / 100))
        legato = previous is not None and _joined(previous, note)
        start = (
            float(previous.pitch_midi) if legato and previous else target - rng.uniform(0.2, 1.0)
        )
        glide_s = float(rng.uniform(0.04, 0.09))
        contour = target + (start - target) * np.exp(-t / (glide_s / 3))
        depth = singer.vibrato_cents / 100 * np.clip((t - 0.25) / 0.4, 0, 1)
        phase0 = rng.uniform(0, 2 * np.pi)
        contour = contour + depth * np.sin(2 * np.pi * singer.vibrato_hz * t + phase0)
        pitch[lo:hi] = contour
        # loudness: attack, release, a swell over long notes, the phrase's level
        attack = np.clip(t / singer.attack_s, 0, 1) if not legato else np.ones_like(t)
        release = np.clip((note.offset_s - note.onset_s - t) / 0.03, 0, 1)
        swell = 1 + 0.15 * np.sin(
            np.pi * np.clip(t / max(note.offset_s - note.onset_s, 1e-3), 0, 1)
        )
        fade = np.ones_like(t)
        followed = i + 1 < len(plan.notes) and _joined(note, plan.notes[i + 1])
        if singer.fade_p > 0 and not followed and rng.random() < singer.fade_p:
            fade, fall = _note_tail(t, note.offset_s - note.onset_s, singer.fall_cents, rng)
            pitch[lo:hi] -= fall
        amp[lo:hi] = attack * release * swell * fade * phrase_gain[note.phrase]
        formants[lo:hi] = _note_vowel(note.vowel, singer, rng)
        kind = CONSONANTS[note.consonant][0]
        if kind in ("nasal", "liquid") and not note.melisma:
            n_cons = min(hi - lo, int(rng.uniform(0.05, 0.08) * fps))
            formants[lo : lo + n_cons] = np.array(FORMANTS[note.consonant])
            amp[lo : lo + n_cons] *= 0.45
        previous = note
    # hold pitch through unvoiced stretches (inaudible) so glides start from sensible values
    voiced_idx = np.flatnonzero(amp > 0)
    if len(voiced_idx):
        pitch = np.interp(np.arange(n_control), voiced_idx, pitch[voiced_idx])
    jitter = uniform_filter1d(rng.standard_normal(n_control), 3) * singer.jitter * 12 / np.log(2)
    pitch = pitch + jitter / 12  # jitter is relative f0 deviation, here in semitones
    if singer.drift_cents:  # a slow walk: steps every 0.5 s, smoothed
        n_steps = n_control // 100 + 2
        walk = np.cumsum(rng.normal(0.0, singer.drift_cents / 100 / 3, n_steps))
        walk -= walk.mean()
        pitch = pitch + np.interp(np.arange(n_control), np.arange(n_steps) * 100, walk)
    formants = uniform_filter1d(formants, size=7, axis=0) * singer.formant_scale
    return pitch, amp, formants


def _joined(earlier: PlannedNote, later: PlannedNote) -> bool:
    """True when ``later`` starts within 10 ms of ``earlier``'s offset: sung legato, no rest."""
    return later.onset_s - earlier.offset_s < 0.01


def _note_tail(
    t: FloatArray, length_s: float, fall_cents: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """A fading note end: its gain and pitch fall (semitones) per control frame.

    The gain falls 6-18 dB over the note's last 0.1-0.4 s, linear in dB; the pitch falls by up
    to ``fall_cents``, quadratically over its last 50-200 ms. Real singers often let a note die
    away, the pitch drooping as the breath runs out; the voice is still periodic there and the
    note still sounds (annotators end it later).
    """
    fade_s = min(float(rng.uniform(0.1, 0.4)), 0.5 * length_s)
    depth_db = float(rng.uniform(6.0, 18.0))
    into = np.clip((t - (length_s - fade_s)) / max(fade_s, 1e-3), 0.0, 1.0)
    gain = 10.0 ** (-depth_db * into / 20.0)
    fall = np.zeros_like(t)
    if fall_cents > 0:
        fall_s = min(float(rng.uniform(0.05, 0.2)), 0.5 * length_s)
        cents = float(rng.uniform(0.0, fall_cents))
        fall = cents / 100.0 * np.clip((t - (length_s - fall_s)) / max(fall_s, 1e-3), 0, 1) ** 2
    return gain, fall


def render_vocals(plan: SongPlan, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Render a song plan's vocals at 16 kHz (float32, peak about 0.5-0.8)."""
    return render_vocals_with_f0(plan, rng).audio


@dataclass(frozen=True)
class SungVoice:
    """Rendered vocals and the f0 they were rendered on.

    Attributes:
        audio: (samples,) float32 16 kHz vocals, peak about 0.5-0.8.
        f0_midi: (C,) the pitch of the glottal source per control frame (fractional MIDI,
            vibrato, scoops and jitter included; meaningful where ``amplitude`` > 0).
        amplitude: (C,) the voicing amplitude per control frame (0 = no voice).
        fps: Control frames per second (frame ``c`` at ``c / fps`` s).
    """

    audio: npt.NDArray[np.float32]
    f0_midi: FloatArray
    amplitude: FloatArray
    fps: float = SAMPLE_RATE / CONTROL_HOP


def render_vocals_with_f0(plan: SongPlan, rng: np.random.Generator) -> SungVoice:
    """:func:`render_vocals`, with the f0 track the voice was rendered on (the same bytes)."""
    n = int(round(plan.duration_s * SAMPLE_RATE))
    n_control = n // CONTROL_HOP + 2
    pitch, amp, formants = _control_tracks(plan, n_control, rng)
    f0_control = 440.0 * 2 ** ((pitch - 69) / 12)
    control_pos = np.arange(n_control) * CONTROL_HOP
    sample_pos = np.arange(n)
    f0 = np.interp(sample_pos, control_pos, f0_control)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    shimmer = 1 + plan.singer.shimmer * uniform_filter1d(rng.standard_normal(n_control), 3)
    voice = np.zeros(n)
    n_harmonics = int(MAX_HARMONIC_HZ / max(f0_control.min(), 50.0))
    for k in range(1, n_harmonics + 1):
        freq = k * f0_control
        if freq.min() > MAX_HARMONIC_HZ:
            break
        formant_gain = _formant_gain(freq, formants, plan.singer.bandwidth_scale)
        gain = formant_gain * k ** (-plan.singer.tilt) * amp * shimmer
        if k == 1 and plan.singer.h1_db:
            gain *= 10 ** (plan.singer.h1_db / 20)
        gain[freq > MAX_HARMONIC_HZ] = 0.0
        if gain.max() < 1e-5:
            continue
        voice += np.interp(sample_pos, control_pos, gain) * np.sin(k * phase)
    voice /= max(np.abs(voice).max(), 1e-9)
    amp_samples = np.interp(sample_pos, control_pos, amp)
    breath = _highpass(rng.standard_normal(n), 1500.0) * amp_samples * plan.singer.breathiness
    audio = voice + breath + _consonants_and_breaths(plan, n, rng)
    audio = _reverb(audio, rng)
    audio *= float(rng.uniform(0.5, 0.8)) / max(np.abs(audio).max(), 1e-9)
    return SungVoice(audio.astype(np.float32), pitch, amp)


def _highpass(x: FloatArray, cutoff_hz: float) -> FloatArray:
    sos = butter(4, cutoff_hz, btype="highpass", fs=SAMPLE_RATE, output="sos")
    return np.asarray(sosfilt(sos, x))


def _bandpass(x: FloatArray, low_hz: float, high_hz: float) -> FloatArray:
    sos = butter(2, (low_hz, min(high_hz, 7800.0)), btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return np.asarray(sosfilt(sos, x))


PLOSIVE_BANDS = {
    "p": (600, 2000),
    "b": (400, 1500),
    "t": (3000, 7000),
    "d": (2500, 6000),
    "k": (1500, 3500),
}


def _consonants_and_breaths(plan: SongPlan, n: int, rng: np.random.Generator) -> FloatArray:
    out = np.zeros(n)
    breath_before = {b.before_note: b for b in breaths(plan)}
    for index, note in enumerate(plan.notes):
        kind, unvoiced_s = CONSONANTS[note.consonant]
        if index in breath_before:  # a breath in the rest, ending before the consonant
            breath = breath_before[index]
            end = int(breath.end_s * SAMPLE_RATE)
            start = max(0, end - int(breath.length_s * SAMPLE_RATE))
            envelope = np.hanning(end - start)
            noise = _bandpass(rng.standard_normal(end - start), 500, 3000)
            out[start:end] += 0.04 * envelope * noise
        if unvoiced_s > 0:
            start, end = (
                int((note.onset_s - unvoiced_s) * SAMPLE_RATE),
                int(note.onset_s * SAMPLE_RATE),
            )
            length = end - start
            if length > 0 and start >= 0:
                if kind == "fricative":
                    band = (3500, 7800) if note.consonant == "s" else (1200, 7000)
                    noise = _bandpass(rng.standard_normal(length), *band)
                    out[start:end] += 0.12 * np.hanning(length) * noise
                else:  # plosive: closure (silence), burst, short aspiration
                    burst_start = start + int(0.6 * length)
                    burst = end - burst_start
                    noise = _bandpass(rng.standard_normal(burst), *PLOSIVE_BANDS[note.consonant])
                    out[burst_start:end] += (
                        0.25 * np.exp(-np.arange(burst) / (0.006 * SAMPLE_RATE)) * noise
                    )
    return out


def _reverb(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    rt60_s = float(rng.uniform(0.15, 0.45))
    t = np.arange(int(rt60_s * SAMPLE_RATE)) / SAMPLE_RATE
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s)
    ir /= np.sqrt(np.sum(ir**2))
    wet = float(rng.uniform(0.08, 0.2))
    return (1 - wet) * x + wet * np.asarray(fftconvolve(x, ir)[: len(x)])
