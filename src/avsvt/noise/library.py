"""A synthetic MUSAN-style library, so that MUSAN preparation and noise synthesis run unchanged.

Layout (16 kHz mono int16 WAVs, like MUSAN)::

    OUT/speech/librivox/speech-librivox-NNNN.wav        one speaker per file, 20/30/40 s
    OUT/music/fma/music-fma-NNNN.wav                    additive music clips, 12-30 s
    OUT/noise/free-sound/noise-free-sound-NNNN.wav      environmental events, mostly 1-10 s
    OUT/noise/sound-bible/noise-sound-bible-NNNN.wav    environmental events, 1-10 s

Speech is a source-filter voice: a glottal sawtooth whose f0 follows a speech-like contour
(phrase declination plus a pitch accent per syllable) through three vowel formants, with
fricative noise bursts before some syllables and pauses between phrases; every speaker has its own
f0 range, formant scale and speaking rate. Speech files are whole multiples of 10 s: babble
averages 30 ten-second pieces and keeps only mixtures that are exactly 10 s, which with MUSAN's
long LibriVox chapters is most of them; a short last piece would spoil most mixtures here.

Every file is a pure function of (seed, category, index): regenerating one file, or the library
with more files, gives the same bytes for the files that exist in both.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import signal
from tqdm import tqdm

from avsvt.constants import SAMPLE_RATE
from avsvt.errors import ConfigError
from avsvt.noise.wavio import float_to_pcm16, write_pcm16
from avsvt.parallel import worker_pool

logger = logging.getLogger(__name__)

Preset = Literal["default", "tiny"]
F64 = npt.NDArray[np.float64]
SR = SAMPLE_RATE


@dataclass(frozen=True)
class LibraryConfig:
    """How many files of each kind a synthetic library holds."""

    n_speakers: int
    speech_tens_of_s: tuple[int, ...]
    """Speech file lengths to draw from, in units of 10 s."""
    n_music: int
    music_s: tuple[float, float]
    n_free_sound: int
    n_sound_bible: int
    noise_s: tuple[float, float]
    n_long_noise: int
    """free-sound files of 11-14 s (split into pieces, too long for the natural-noise pool)."""


PRESETS: dict[str, LibraryConfig] = {
    "default": LibraryConfig(
        n_speakers=40,
        speech_tens_of_s=(2, 3, 4),
        n_music=10,
        music_s=(12.0, 30.0),
        n_free_sound=24,
        n_sound_bible=16,
        noise_s=(1.0, 10.0),
        n_long_noise=2,
    ),
    "tiny": LibraryConfig(
        n_speakers=10,
        speech_tens_of_s=(2,),
        n_music=2,
        music_s=(12.0, 14.0),
        n_free_sound=8,
        n_sound_bible=8,
        noise_s=(1.0, 3.0),
        n_long_noise=1,
    ),
}

_CATEGORY_CODES = {"speech": 1, "music": 2, "free-sound": 3, "sound-bible": 4}

# Peterson & Barney average adult male formants (Hz) of eight English vowels.
_VOWELS = np.array(
    [
        [730, 1090, 2440],
        [270, 2290, 3010],
        [530, 1840, 2480],
        [660, 1720, 2410],
        [300, 870, 2240],
        [570, 840, 2410],
        [440, 1020, 2240],
        [490, 1350, 1690],
    ],
    dtype=np.float64,
)
_FORMANT_BANDWIDTHS_HZ = (80.0, 110.0, 170.0)
_FRICATIVE_BANDS_HZ = ((4000.0, 7500.0), (2000.0, 5000.0), (1000.0, 7000.0))


def _normalised(audio: F64, peak: float) -> F64:
    """``audio`` scaled to the given peak amplitude."""
    out: F64 = audio * (peak / (float(np.max(np.abs(audio))) + 1e-9))
    return out


def file_rng(seed: int, category: str, index: int) -> np.random.Generator:
    """The generator of one library file: a pure function of (seed, category, index)."""
    return np.random.default_rng([seed, _CATEGORY_CODES[category], index])


# --- speech ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Speaker:
    base_f0_hz: float
    range_semitones: float
    formant_scale: float
    rate: float
    breathiness: float


def _speaker(rng: np.random.Generator) -> _Speaker:
    female = rng.random() < 0.5
    return _Speaker(
        base_f0_hz=float(rng.uniform(175, 240) if female else rng.uniform(90, 140)),
        range_semitones=float(rng.uniform(2.0, 7.0)),
        formant_scale=float(rng.uniform(1.05, 1.22) if female else rng.uniform(0.88, 1.05)),
        rate=float(rng.uniform(0.8, 1.25)),
        breathiness=float(rng.uniform(0.01, 0.06)),
    )


def _resonate(x: F64, freq_hz: float, bandwidth_hz: float) -> F64:
    """A two-pole resonator (one formant) with roughly unit peak gain."""
    r = math.exp(-math.pi * bandwidth_hz / SR)
    theta = 2 * math.pi * min(freq_hz, 0.45 * SR) / SR
    a = [1.0, -2 * r * math.cos(theta), r * r]
    out: F64 = signal.lfilter([1.0 - r], a, x)
    return out


@functools.cache
def _fricative_filter(which: int) -> F64:
    low, high = _FRICATIVE_BANDS_HZ[which]
    sos: F64 = signal.butter(4, [low, min(high, 0.49 * SR)], btype="band", fs=SR, output="sos")
    return sos


def _syllable(rng: np.random.Generator, spk: _Speaker, f0_start: float, f0_end: float) -> F64:
    """One syllable: an optional fricative, then a voiced vowel with a pitch accent."""
    parts = []
    if rng.random() < 0.45:
        n_fric = int(rng.uniform(0.04, 0.12) / spk.rate * SR)
        sos = _fricative_filter(int(rng.integers(len(_FRICATIVE_BANDS_HZ))))
        burst = signal.sosfilt(sos, rng.standard_normal(n_fric))
        burst *= np.hanning(n_fric) * rng.uniform(0.15, 0.5)
        parts.append(burst)
    n_vowel = int(rng.uniform(0.1, 0.3) / spk.rate * SR)
    t = np.arange(n_vowel) / n_vowel
    accent = rng.uniform(-0.5, 1.0) * spk.range_semitones * 0.5 * np.sin(np.pi * t)
    f0 = (f0_start + (f0_end - f0_start) * t) * 2.0 ** (accent / 12.0)
    f0 *= 1.0 + 0.003 * rng.standard_normal(n_vowel).cumsum() / np.sqrt(np.arange(1, n_vowel + 1))
    phase = np.cumsum(f0) / SR
    source = 2.0 * (phase % 1.0) - 1.0 + spk.breathiness * rng.standard_normal(n_vowel)
    source = signal.lfilter([1.0], [1.0, -0.7], source)  # spectral tilt of the glottal flow
    formants = _VOWELS[int(rng.integers(len(_VOWELS)))] * spk.formant_scale
    vowel = sum(
        _resonate(source, float(f), bw) * g
        for f, bw, g in zip(formants, _FORMANT_BANDWIDTHS_HZ, (1.0, 0.6, 0.3), strict=True)
    )
    vowel = np.asarray(vowel, dtype=np.float64) * np.sin(np.pi * t) ** 0.6
    parts.append(vowel / (np.max(np.abs(vowel)) + 1e-9))
    return np.concatenate(parts)


def synth_speech(rng: np.random.Generator, n_samples: int) -> F64:
    """Speech-like sound of one new speaker, exactly ``n_samples`` long (peak about 0.5-0.9)."""
    spk = _speaker(rng)
    chunks: list[F64] = [np.zeros(int(rng.uniform(0.1, 0.4) * SR))]
    total = len(chunks[0])
    while total < n_samples:
        n_syllables = int(rng.integers(3, 11))
        top = spk.base_f0_hz * 2.0 ** (rng.uniform(0.3, 1.0) * spk.range_semitones / 12.0)
        bottom = spk.base_f0_hz * 2.0 ** (-rng.uniform(0.0, 0.5) * spk.range_semitones / 12.0)
        contour = np.geomspace(top, bottom, n_syllables + 1)  # declination over the phrase
        for i in range(n_syllables):
            syllable = _syllable(rng, spk, float(contour[i]), float(contour[i + 1]))
            chunks.append(syllable * rng.uniform(0.5, 1.0))
            total += len(syllable)
        pause = np.zeros(int(rng.uniform(0.15, 0.7) * SR))
        chunks.append(pause)
        total += len(pause)
    audio = np.concatenate(chunks)[:n_samples]
    fade = min(160, n_samples)
    audio[-fade:] *= np.linspace(1.0, 0.0, fade)
    return _normalised(audio, float(rng.uniform(0.5, 0.9)))


# --- music -------------------------------------------------------------------------------------

_PROGRESSIONS = ((0, 7, 9, 5), (0, 5, 7, 0), (9, 5, 0, 7), (0, 9, 5, 7))
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def _tone(
    n: int, f0_hz: float, harmonics: tuple[float, ...], decay_s: float, attack_s: float = 0.005
) -> F64:
    t = np.arange(n) / SR
    wave = sum(a * np.sin(2 * np.pi * f0_hz * (k + 1) * t) for k, a in enumerate(harmonics))
    envelope = np.minimum(1.0, t / attack_s) * np.exp(-t / decay_s)
    out: F64 = np.asarray(wave, dtype=np.float64) * envelope
    return out


def synth_music(rng: np.random.Generator, n_samples: int) -> F64:
    """A simple additive music clip: bass, chord pad, melody and optional drums."""
    beat = int(SR * 60.0 / rng.uniform(80, 140))
    audio = np.zeros(n_samples + 5 * beat)  # room for the tails of the last notes
    root = int(rng.integers(45, 58))
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    drums = rng.random() < 0.7
    pad_harmonics = tuple(float(v) for v in rng.uniform(0.1, 0.6, 5))
    lead_harmonics = (1.0, *(float(v) for v in rng.uniform(0.05, 0.5, 3)))

    def hz(midi: float) -> float:
        return float(440.0 * 2.0 ** ((midi - 69) / 12.0))

    for i, start in enumerate(range(0, n_samples, beat)):
        chord = root + progression[(i // 4) % len(progression)]
        if i % 4 == 0:
            for interval in (0, 4, 7):
                tone = _tone(4 * beat, hz(chord + 12 + interval), pad_harmonics, 1.5, 0.05)
                audio[start : start + len(tone)] += 0.08 * tone
        bass = _tone(beat, hz(chord - 12), (1.0, 0.5, 0.2), 0.3)
        audio[start : start + beat] += 0.3 * bass
        for sub in range(int(rng.integers(0, 3))):
            at = start + sub * beat // 2
            degree = _MAJOR_SCALE[int(rng.integers(len(_MAJOR_SCALE)))]
            lead = _tone(beat, hz(root + 24 + degree), lead_harmonics, 0.25)
            audio[at : at + beat] += 0.2 * lead
        if drums:
            if i % 2 == 0:
                t = np.arange(int(0.15 * SR)) / SR
                sweep = np.sin(2 * np.pi * np.cumsum(50 + 70 * np.exp(-t / 0.03)) / SR)
                audio[start : start + len(t)] += 0.5 * sweep * np.exp(-t / 0.05)
            for half in (0, beat // 2):
                hat = rng.standard_normal(int(0.03 * SR)) * np.exp(-np.arange(int(0.03 * SR)) / 80)
                hat = np.diff(hat, prepend=0.0)
                audio[start + half : start + half + len(hat)] += 0.05 * hat
    audio = audio[:n_samples]
    return _normalised(audio, float(rng.uniform(0.5, 0.9)))


# --- environmental noise -----------------------------------------------------------------------


def _burst(rng: np.random.Generator, n: int) -> F64:
    low = rng.uniform(100, 3000)
    high = min(low * rng.uniform(1.5, 6.0), 0.49 * SR)
    sos = signal.butter(2, [low, high], btype="band", fs=SR, output="sos")
    noise: F64 = signal.sosfilt(sos, rng.standard_normal(n))
    t = np.arange(n) / n
    attack = rng.uniform(0.02, 0.4)
    return noise * np.minimum(1.0, t / attack) * np.exp(-t * rng.uniform(0.5, 5.0))


def _hum(rng: np.random.Generator, n: int) -> F64:
    mains = 50.0 if rng.random() < 0.5 else 60.0
    t = np.arange(n) / SR
    hum = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * mains * k * t) for k in range(1, 8))
    wobble = 1.0 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 1.0) * t)
    return np.asarray(hum, dtype=np.float64) * wobble + 0.02 * rng.standard_normal(n)


def _impulses(rng: np.random.Generator, n: int, rate_hz: float, ring_s: float) -> F64:
    n_events = max(1, rng.poisson(rate_hz * n / SR))
    pulses = np.zeros(n)
    pulses[rng.integers(0, n, n_events)] = rng.uniform(-1.0, 1.0, n_events)
    m = max(2, int(ring_s * SR))
    kernel = rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 5))
    out: F64 = signal.fftconvolve(pulses, kernel)[:n]
    return out


def _clicks(rng: np.random.Generator, n: int) -> F64:
    return _impulses(rng, n, rng.uniform(2, 20), rng.uniform(0.002, 0.01))


def _rain(rng: np.random.Generator, n: int) -> F64:
    crackle = _impulses(rng, n, rng.uniform(200, 2000), 0.002)
    sos = signal.butter(2, rng.uniform(300, 1500), btype="low", fs=SR, output="sos")
    bed: F64 = signal.sosfilt(sos, rng.standard_normal(n))
    return crackle + _normalised(bed, float(rng.uniform(0.1, 0.5)))


def _slam(rng: np.random.Generator, n: int) -> F64:
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        at = int(rng.integers(0, max(1, n - SR // 4)))
        m = min(n - at, int(rng.uniform(0.2, 0.6) * SR))
        t = np.arange(m) / SR
        thump = np.sin(2 * np.pi * rng.uniform(60, 120) * t) * np.exp(-t / 0.08)
        crash = rng.standard_normal(m) * np.exp(-t / rng.uniform(0.02, 0.1))
        out[at : at + m] += thump + rng.uniform(0.3, 1.0) * crash
    return out


_EVENT_KINDS: tuple[Callable[[np.random.Generator, int], F64], ...] = (
    _burst,
    _hum,
    _clicks,
    _rain,
    _slam,
)


def synth_noise_event(rng: np.random.Generator, n_samples: int) -> F64:
    """An environmental sound: one or two of bursts, hum, clicks, rain crackle, door slams."""
    audio = np.zeros(n_samples)
    for kind in rng.choice(len(_EVENT_KINDS), size=int(rng.integers(1, 3)), replace=False):
        part = _EVENT_KINDS[int(kind)](rng, n_samples)
        audio += part / (np.max(np.abs(part)) + 1e-9) * rng.uniform(0.3, 1.0)
    fade = min(80, n_samples // 2)
    if fade:
        audio[:fade] *= np.linspace(0.0, 1.0, fade)
        audio[-fade:] *= np.linspace(1.0, 0.0, fade)
    return _normalised(audio, float(rng.uniform(0.3, 0.9)))


# --- the library -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileSpec:
    category: str
    index: int
    relpath: str


def _file_specs(config: LibraryConfig) -> list[_FileSpec]:
    specs = [
        _FileSpec("speech", i, f"speech/librivox/speech-librivox-{i:04d}.wav")
        for i in range(config.n_speakers)
    ]
    specs += [
        _FileSpec("music", i, f"music/fma/music-fma-{i:04d}.wav") for i in range(config.n_music)
    ]
    specs += [
        _FileSpec("free-sound", i, f"noise/free-sound/noise-free-sound-{i:04d}.wav")
        for i in range(config.n_free_sound + config.n_long_noise)
    ]
    specs += [
        _FileSpec("sound-bible", i, f"noise/sound-bible/noise-sound-bible-{i:04d}.wav")
        for i in range(config.n_sound_bible)
    ]
    return specs


def synth_library_file(spec_category: str, index: int, config: LibraryConfig, seed: int) -> F64:
    """The float samples of one library file (before int16 quantisation)."""
    rng = file_rng(seed, spec_category, index)
    if spec_category == "speech":
        tens = config.speech_tens_of_s[int(rng.integers(len(config.speech_tens_of_s)))]
        return synth_speech(rng, tens * 10 * SR)
    if spec_category == "music":
        return synth_music(rng, int(rng.uniform(*config.music_s) * SR))
    long_noise = spec_category == "free-sound" and index >= config.n_free_sound
    duration_s = rng.uniform(11.0, 14.0) if long_noise else rng.uniform(*config.noise_s)
    return synth_noise_event(rng, int(duration_s * SR))


def _write_file(out: Path, spec: _FileSpec, config: LibraryConfig, seed: int) -> None:
    samples = synth_library_file(spec.category, spec.index, config, seed)
    write_pcm16(out / spec.relpath, float_to_pcm16(samples))


def synth_musan_library(
    out: str | Path,
    *,
    seed: int = 0,
    preset: Preset | str = "default",
    config: LibraryConfig | None = None,
    workers: int = 1,
    progress: bool = False,
) -> Path:
    """Write a synthetic MUSAN-style library under ``out`` and return ``out``.

    Files that exist are kept (a rerun finishes an interrupted run); writes are atomic.

    Args:
        out: The library root (gets ``speech/``, ``music/``, ``noise/``).
        seed: Random seed; each file depends only on (seed, category, index).
        preset: ``default`` (40 speakers, ~20 min of speech) or ``tiny`` (a few seconds to make).
        config: Explicit sizes, overriding ``preset``.
        workers: Processes.
        progress: Show a progress bar on stderr.

    Raises:
        ConfigError: Unknown preset or bad worker count.
    """
    if config is None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown MUSAN preset {preset!r} (expected one of {list(PRESETS)})")
        config = PRESETS[preset]
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    out = Path(out)
    specs = _file_specs(config)
    todo = [spec for spec in specs if not (out / spec.relpath).exists()]
    bar = tqdm(total=len(todo), desc="musan synth", unit="file", disable=not progress)
    if workers == 1 or len(todo) <= 1:
        for spec in todo:
            _write_file(out, spec, config, seed)
            bar.update()
    else:
        with worker_pool(max_workers=workers) as pool:
            futures = [pool.submit(_write_file, out, spec, config, seed) for spec in todo]
            for future in as_completed(futures):
                future.result()
                bar.update()
    bar.close()
    logger.info(
        "synthetic MUSAN library %s: %d file(s) written, %d kept",
        out,
        len(todo),
        len(specs) - len(todo),
    )
    return out
