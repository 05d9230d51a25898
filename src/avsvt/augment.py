"""A random "recording chain": make clean synthetic audio sound like a real recording.

Models trained on synthetic singing meet real recordings made through a microphone, in a room,
through some processing and a codec. :func:`recording_chain` simulates that path on a clean
16 kHz mono clip (voice + accompaniment) with a random selection of effects, in this order::

    room -> microphone EQ -> hiss -> compression -> clipping -> bandlimit -> quantise -> gain

each applied with its own probability and random parameters (see :class:`ChainSettings`), and a
final clip to [-1, 1] only when the peak exceeds 1.

Time alignment is the one hard rule: the clips carry frame labels at 10 ms, so no effect may
move the signal by more than 1 ms.

* The room impulse response has its direct path at lag 0 with unit gain and every reflection
  weaker than it, so the output correlates best with the input at lag 0.
* The filters are causal IIR filters (Butterworth high/low-pass, audio-cookbook biquads), whose
  group delay across the band is a few samples, never the large constant delay of a
  linear-phase FIR.
* The bandlimiting resampler's linear-phase FIR is compensated by ``resample_poly`` itself, which
  aligns its output with its input.
* The compressor only multiplies the signal by a slowly varying gain; it delays nothing.

Randomness comes only from the generator passed in. :func:`draw_chain` turns it into a
:class:`ChainPlan` (every effect's parameters, plus integer seeds for the noises it makes: the
room's tail and the hiss), and :func:`apply_chain` applies a plan; :func:`recording_chain` is the
two in a row. Each effect draws from its own child generator seeded from ``rng``, so changing
one effect's settings leaves the other effects' draws unchanged. Same input and same seed give
the same bytes.

Levels: every effect that needs a level measures it on its own input (the compressor's
threshold and the hiss are relative to the signal's RMS, the clipping threshold to its peak), so
the chain works the same on a quiet or a loud clip. Quantisation too: the chain quantises with the
clip's peak as full scale (a recording levelled to use the converter's whole range), so that a
quiet clip is not quantised to silence; :func:`quantise` itself takes any full scale. The level
change comes last, after every effect that measures a level.

Everything is numpy and ``scipy.signal``, computed in float64; the chain returns float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import signal

from avsvt.noise.mixing import rms

FloatArray = npt.NDArray[np.float64]
Range = tuple[float, float]
BandKind = Literal["peak", "low_shelf", "high_shelf"]

SAMPLE_RATE = 16000
"""The sample rate the defaults are chosen for (the training audio's)."""
HIGHPASS_ORDER = 2
"""The microphone high-pass: a 12 dB/octave rumble filter, like a microphone's bass cut."""
LOWPASS_ORDER = 6
"""The microphone low-pass: steep enough that the band above the cutoff is really gone."""
LOWPASS_MAX_NYQUIST_FRACTION = 0.95
"""A low-pass drawn at or above this fraction of the Nyquist frequency is left out (full band)."""
BANDLIMIT_CUTOFF = 0.9
"""The bandlimiting resampler's -6 dB point, as a fraction of the new Nyquist frequency."""
BANDLIMIT_KAISER_BETA = 8.6
"""The resampler's Kaiser window: about 70 dB of stopband rejection above the new Nyquist."""
BANDLIMIT_HALF_LENGTH = 16
"""The resampler's filter half-length, in input periods of the slower of the two rates."""
COMPRESSOR_HOP_S = 0.001
"""The compressor's level-detector hop: a peak per 1 ms block, smoothed at that rate."""
REFLECTION_CAP = 0.8
"""No early reflection exceeds this amplitude (the direct path is 1)."""
PINK_LOW_HZ = 20.0
"""Below this frequency pink noise is flat, not rising without bound."""
SHELF_MAX_Q = 1.0 / math.sqrt(2.0)
"""A shelf's Q is capped here: the steepest slope without a bump beside the shelf."""
SILENCE = 1e-12
"""An RMS or peak at or below this is treated as silence."""


@dataclass(frozen=True)
class ChainSettings:
    """The probability and parameter ranges of each effect of :func:`recording_chain`.

    Each ``*_probability`` is the chance that the effect is applied to a clip, drawn
    independently per effect. Each range ``(low, high)`` is sampled uniformly, or log-uniformly
    where noted (frequencies and times, whose perception is logarithmic). The defaults apply
    about 3.4 of the nine colouring effects to a clip, besides the level change that 80 % of
    clips get; about 1 % of clips get none of them, and the harshest damage (clipping,
    quantisation) stays rare.

    Attributes:
        highpass_probability: Microphone/rumble high-pass.
        highpass_hz: Its cutoff range (log-uniform): 40 Hz is a full-range microphone, 250 Hz a
            phone's small capsule.
        lowpass_probability: Microphone low-pass.
        lowpass_hz: Its cutoff range (log-uniform); a cutoff drawn at or above 95 % of the
            Nyquist frequency leaves the band full (8 kHz, the top of the default range, is the
            16 kHz Nyquist).
        eq_probability: Random colour bands (the capsule's and the room's resonances).
        eq_bands: How many bands, inclusive (each a peak, low shelf or high shelf).
        eq_gain_db: Each band's gain.
        eq_hz: Each band's centre or corner frequency (log-uniform).
        eq_q: Each band's quality factor (log-uniform): broad bands only, so that no narrow
            resonance rings.
        eq_shelf_share: The share of bands that are shelves (half low, half high).
        room_probability: Room reverberation.
        room_rt60_s: The tail's reverberation time (log-uniform): a small booth to a hall.
        room_wet_db: The reverberant energy (reflections and tail) relative to the direct path:
            -18 dB is a close microphone, 0 dB a distant phone in a live room.
        room_reflections: How many early reflections, inclusive.
        room_reflection_ms: The range of the early reflections' delays.
        compression_probability: Feed-forward dynamic range compression.
        compression_threshold_db: The threshold relative to the signal's RMS level.
        compression_ratio: The ratio above the threshold.
        compression_attack_ms: Attack time (log-uniform).
        compression_release_ms: Release time (log-uniform).
        clip_probability: Clipping (a preamp or converter overload).
        clip_drive_db: How far the peak is driven above the clipping level.
        clip_hard_share: The share of clipping that is hard (the rest is a soft tanh curve).
        gain_probability: A recording-level change.
        gain_db: Its gain relative to the input level (a final clip keeps the peak at 1).
        bandlimit_probability: Codec bandwidth: resampling down and back up.
        bandlimit_rates_hz: The sample rates to pass through (one drawn per clip); those at or
            above the clip's own sample rate are left out, and with none left nothing happens.
        quantise_probability: Coarse quantisation, with the clip's peak as the full scale.
        quantise_bits: The word length range, inclusive.
        quantise_mu_law_share: The share of quantisation done on a mu-law curve (telephone).
        hiss_probability: Additive microphone/preamp hiss.
        hiss_below_rms_db: How far below the signal's RMS the hiss lies.
        hiss_pink_share: The share of hiss that is pink (the rest is white).
    """

    highpass_probability: float = 0.5
    highpass_hz: Range = (40.0, 250.0)
    lowpass_probability: float = 0.4
    lowpass_hz: Range = (3500.0, 8000.0)
    eq_probability: float = 0.6
    eq_bands: tuple[int, int] = (1, 3)
    eq_gain_db: Range = (-10.0, 10.0)
    eq_hz: Range = (80.0, 7000.0)
    eq_q: Range = (0.5, 2.0)
    eq_shelf_share: float = 0.4
    room_probability: float = 0.5
    room_rt60_s: Range = (0.1, 1.2)
    room_wet_db: Range = (-18.0, 0.0)
    room_reflections: tuple[int, int] = (2, 8)
    room_reflection_ms: Range = (2.0, 30.0)
    compression_probability: float = 0.4
    compression_threshold_db: Range = (-10.0, 5.0)
    compression_ratio: Range = (2.0, 8.0)
    compression_attack_ms: Range = (1.0, 30.0)
    compression_release_ms: Range = (30.0, 300.0)
    clip_probability: float = 0.15
    clip_drive_db: Range = (0.0, 12.0)
    clip_hard_share: float = 0.5
    gain_probability: float = 0.8
    gain_db: Range = (-30.0, 6.0)
    bandlimit_probability: float = 0.25
    bandlimit_rates_hz: tuple[int, ...] = (8000, 11025, 12000)
    quantise_probability: float = 0.1
    quantise_bits: tuple[int, int] = (8, 12)
    quantise_mu_law_share: float = 0.5
    hiss_probability: float = 0.5
    hiss_below_rms_db: Range = (40.0, 70.0)
    hiss_pink_share: float = 0.5

    def __post_init__(self) -> None:
        """Check every probability, share and range.

        Raises:
            ValueError: A probability or share outside [0, 1], a range whose low end exceeds its
                high end, or a value out of its effect's domain.
        """
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith(("_probability", "_share")):
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{field.name} = {value} is not in [0, 1]")
            elif field.name != "bandlimit_rates_hz":
                low, high = value
                if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                    raise ValueError(f"{field.name} = {value} is not a range (low <= high)")
        positive = (
            "highpass_hz",
            "lowpass_hz",
            "eq_hz",
            "eq_q",
            "room_rt60_s",
            "room_reflection_ms",
            "compression_attack_ms",
            "compression_release_ms",
        )
        for name in positive:
            if getattr(self, name)[0] <= 0.0:
                raise ValueError(f"{name} = {getattr(self, name)} must be positive")
        if self.eq_bands[0] < 0 or self.room_reflections[0] < 0:
            raise ValueError("eq_bands and room_reflections must not be negative")
        if self.compression_ratio[0] < 1.0:
            raise ValueError(f"compression_ratio = {self.compression_ratio} must be >= 1")
        if self.clip_drive_db[0] < 0.0 or self.hiss_below_rms_db[0] < 0.0:
            raise ValueError("clip_drive_db and hiss_below_rms_db must not be negative")
        if not 2 <= self.quantise_bits[0] <= self.quantise_bits[1] <= 32:
            raise ValueError(f"quantise_bits = {self.quantise_bits} must lie in [2, 32]")
        if any(rate <= 0 for rate in self.bandlimit_rates_hz):
            raise ValueError(f"bandlimit_rates_hz = {self.bandlimit_rates_hz} must be positive")


DEFAULT_SETTINGS = ChainSettings()


@dataclass(frozen=True)
class EqBand:
    """One colour band: a peaking or shelving biquad (the audio-EQ-cookbook designs).

    Attributes:
        kind: ``peak``, ``low_shelf`` or ``high_shelf``.
        freq_hz: The centre (peak) or corner (shelf) frequency.
        gain_db: The gain at the centre, or of the shelf.
        q: The quality factor (for a shelf, its slope: 0.707 is the steepest without overshoot).
    """

    kind: BandKind
    freq_hz: float
    gain_db: float
    q: float


@dataclass(frozen=True)
class RoomParams:
    """A room: see :func:`room_impulse_response`; ``seed`` seeds its reflections and tail."""

    rt60_s: float
    wet_db: float
    n_reflections: int
    reflection_ms: Range
    seed: int


@dataclass(frozen=True)
class CompressorParams:
    """A compressor: see :func:`compress`."""

    threshold_db: float
    ratio: float
    attack_ms: float
    release_ms: float


@dataclass(frozen=True)
class ClipParams:
    """Clipping: see :func:`clip_peaks`."""

    drive_db: float
    hard: bool


@dataclass(frozen=True)
class QuantiseParams:
    """Quantisation: see :func:`quantise`."""

    bits: int
    mu_law: bool


@dataclass(frozen=True)
class HissParams:
    """Hiss: see :func:`add_hiss`; ``seed`` seeds the noise."""

    below_rms_db: float
    pink: bool
    seed: int


@dataclass(frozen=True)
class ChainPlan:
    """One draw of the chain: the parameters of each effect, ``None`` (or empty) when it is off.

    Attributes:
        highpass_hz: The high-pass cutoff.
        lowpass_hz: The low-pass cutoff.
        eq_bands: The colour bands.
        room: The room.
        hiss: The hiss.
        compressor: The compressor.
        clip: The clipping.
        gain_db: The level change (0 when off).
        bandlimit_rate_hz: The sample rate passed through.
        quantise: The quantisation.
    """

    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    eq_bands: tuple[EqBand, ...] = ()
    room: RoomParams | None = None
    hiss: HissParams | None = None
    compressor: CompressorParams | None = None
    clip: ClipParams | None = None
    gain_db: float = 0.0
    bandlimit_rate_hz: int | None = None
    quantise: QuantiseParams | None = None


def _as_float64(audio: npt.NDArray[np.floating]) -> FloatArray:
    """A float64 copy of a 1-D signal.

    Raises:
        ValueError: The signal is not 1-D.
    """
    x = np.array(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio of shape (n,), got {x.shape}")
    return x


def _peak(x: FloatArray) -> float:
    return float(np.max(np.abs(x))) if len(x) else 0.0


def _db_to_amplitude(db: float) -> float:
    return float(10.0 ** (db / 20.0))


# --- microphone / EQ ---------------------------------------------------------------------------


def band_sos(band: EqBand, sample_rate: int = SAMPLE_RATE) -> FloatArray:
    """The second-order section (1, 6) of one colour band.

    The audio-EQ-cookbook biquads: with A = 10^(gain/40), w0 = 2 pi f / fs, alpha = sin(w0)/(2Q),
    a peak has gain A^2 at f0 and 1 far from it; a shelf has gain A^2 on its side of f0 and 1 on
    the other.

    Raises:
        ValueError: The frequency is not below the Nyquist frequency, or Q is not positive.
    """
    if not 0.0 < band.freq_hz < sample_rate / 2 or band.q <= 0.0:
        raise ValueError(f"band {band} is outside (0, {sample_rate / 2}) Hz or has Q <= 0")
    a = 10.0 ** (band.gain_db / 40.0)
    w0 = 2.0 * math.pi * band.freq_hz / sample_rate
    cos_w0 = math.cos(w0)
    alpha = math.sin(w0) / (2.0 * band.q)
    if band.kind == "peak":
        b = [1.0 + alpha * a, -2.0 * cos_w0, 1.0 - alpha * a]
        den = [1.0 + alpha / a, -2.0 * cos_w0, 1.0 - alpha / a]
    else:
        root = 2.0 * math.sqrt(a) * alpha
        sign = 1.0 if band.kind == "low_shelf" else -1.0
        # the low shelf; the high shelf is its mirror image about fs/4 (cos w0 -> -cos w0 and
        # z -> -z, which flips the sign of b1 and a1)
        b = [
            a * ((a + 1) - sign * (a - 1) * cos_w0 + root),
            sign * 2 * a * ((a - 1) - sign * (a + 1) * cos_w0),
            a * ((a + 1) - sign * (a - 1) * cos_w0 - root),
        ]
        den = [
            (a + 1) + sign * (a - 1) * cos_w0 + root,
            -sign * 2 * ((a - 1) + sign * (a + 1) * cos_w0),
            (a + 1) + sign * (a - 1) * cos_w0 - root,
        ]
    return np.array([[*(c / den[0] for c in b), *(c / den[0] for c in den)]], dtype=np.float64)


def apply_eq(
    audio: npt.NDArray[np.floating],
    *,
    sample_rate: int = SAMPLE_RATE,
    highpass_hz: float | None = None,
    lowpass_hz: float | None = None,
    bands: Sequence[EqBand] = (),
) -> FloatArray:
    """Colour ``audio`` like a microphone: high-pass, low-pass and colour bands (causal IIR).

    The high-pass is a 2nd-order and the low-pass a 6th-order Butterworth filter; their group
    delay in the pass band is a few samples (under 6 at 16 kHz for a 3.5 kHz low-pass).

    Args:
        audio: (n,) mono audio.
        sample_rate: Its sample rate.
        highpass_hz: The high-pass cutoff, or ``None`` for none.
        lowpass_hz: The low-pass cutoff, or ``None``; a cutoff at or above 95 % of the Nyquist
            frequency is ignored (the band stays full).
        bands: Colour bands, applied in order.

    Returns:
        (n,) the filtered audio, float64.
    """
    x = _as_float64(audio)
    nyquist = sample_rate / 2
    sections: list[FloatArray] = []
    if highpass_hz is not None:
        if not 0.0 < highpass_hz < nyquist:
            raise ValueError(f"highpass_hz = {highpass_hz} is outside (0, {nyquist})")
        sections.append(
            signal.butter(HIGHPASS_ORDER, highpass_hz, "highpass", fs=sample_rate, output="sos")
        )
    if lowpass_hz is not None and lowpass_hz < LOWPASS_MAX_NYQUIST_FRACTION * nyquist:
        if lowpass_hz <= 0.0:
            raise ValueError(f"lowpass_hz = {lowpass_hz} must be positive")
        sections.append(
            signal.butter(LOWPASS_ORDER, lowpass_hz, "lowpass", fs=sample_rate, output="sos")
        )
    sections.extend(band_sos(band, sample_rate) for band in bands)
    if not sections or not len(x):
        return x
    out: FloatArray = signal.sosfilt(np.concatenate(sections), x)
    return out


# --- room ----------------------------------------------------------------------------------------


def room_impulse_response(
    rng: np.random.Generator,
    *,
    rt60_s: float,
    wet_db: float,
    n_reflections: int = 4,
    reflection_ms: Range = (2.0, 30.0),
    sample_rate: int = SAMPLE_RATE,
) -> FloatArray:
    """A synthetic room impulse response with its direct path at lag 0.

    ``h[0] = 1`` is the direct path. ``n_reflections`` early reflections follow at random delays
    in ``reflection_ms``, with random signs and amplitudes (each below 0.8, so the direct path
    stays the strongest single arrival). The diffuse tail is Gaussian noise under the envelope
    10^(-3 t / rt60) (its energy falls 60 dB in ``rt60_s``), rising linearly from 0 at lag 0 to
    full at the last reflection, and cut where it reaches -60 dB. Reflections and tail together
    carry ``wet_db`` of energy relative to the direct path, 20 to 50 % of it in the reflections.

    Args:
        rng: The source of the delays, amplitudes and tail noise.
        rt60_s: The reverberation time.
        wet_db: The reverberant energy relative to the direct path's.
        n_reflections: How many early reflections.
        reflection_ms: Their delay range.
        sample_rate: The sample rate.

    Returns:
        The impulse response, float64, at least ``rt60_s`` long.
    """
    if rt60_s <= 0.0 or reflection_ms[0] <= 0.0 or reflection_ms[0] > reflection_ms[1]:
        raise ValueError(f"rt60_s = {rt60_s} and reflection_ms = {reflection_ms} must be positive")
    lags_s = rng.uniform(reflection_ms[0], reflection_ms[1], n_reflections) / 1000.0
    # two reflections rounded onto one sample are one reflection
    lag_samples = np.unique(np.maximum(1, np.round(lags_s * sample_rate).astype(np.int64)))
    n_early = len(lag_samples)
    onset = int(lag_samples[-1]) if n_early else max(1, round(0.01 * sample_rate))
    length = max(onset, math.ceil(rt60_s * sample_rate)) + 1
    t = np.arange(length) / sample_rate
    envelope = 10.0 ** (-3.0 * t / rt60_s)

    wet_energy = 10.0 ** (wet_db / 10.0)
    early_share = float(rng.uniform(0.2, 0.5)) if n_early else 0.0
    amplitudes = rng.uniform(0.3, 1.0, n_early) * rng.choice([-1.0, 1.0], n_early)
    amplitudes *= envelope[lag_samples]
    early_energy = float(np.sum(amplitudes**2))
    if early_energy > 0.0:
        amplitudes *= math.sqrt(early_share * wet_energy / early_energy)
        largest = float(np.max(np.abs(amplitudes)))
        if largest > REFLECTION_CAP:
            amplitudes *= REFLECTION_CAP / largest

    # the tail rises from 0 at lag 0; a reflection's sample is the reflection alone
    h = rng.standard_normal(length) * envelope * np.minimum(1.0, np.arange(length) / onset)
    h[lag_samples] = 0.0
    tail_energy = float(np.sum(h**2))
    if tail_energy > 0.0:
        h *= math.sqrt((wet_energy - float(np.sum(amplitudes**2))) / tail_energy)
    h[lag_samples] = amplitudes
    h[0] = 1.0
    return h


def apply_room(audio: npt.NDArray[np.floating], impulse_response: FloatArray) -> FloatArray:
    """Convolve ``audio`` with ``impulse_response``, cut to the input's length (no delay added).

    The response is causal with its direct path at lag 0, so output sample i lines up with input
    sample i.
    """
    x = _as_float64(audio)
    if not len(x):
        return x
    out: FloatArray = signal.fftconvolve(x, np.asarray(impulse_response, dtype=np.float64))
    return out[: len(x)]


# --- dynamics ------------------------------------------------------------------------------------


def compress(
    audio: npt.NDArray[np.floating],
    *,
    threshold_db: float,
    ratio: float,
    attack_ms: float,
    release_ms: float,
    sample_rate: int = SAMPLE_RATE,
) -> FloatArray:
    """A feed-forward peak compressor, with the output's RMS restored to the input's.

    The detector takes the peak of each 1 ms block in dB. Above the threshold T (``threshold_db``
    relative to the whole signal's RMS level) the static curve reduces the gain by
    (level - T) (1 - 1/ratio) dB. The reduction is smoothed per block, with the attack time
    constant while it grows and the release time constant while it shrinks, interpolated to
    every sample, and multiplied in: the signal itself is not delayed. A make-up gain then
    restores the input's RMS.

    Args:
        audio: (n,) mono audio.
        threshold_db: The threshold relative to the signal's RMS level, in dB.
        ratio: The compression ratio (>= 1).
        attack_ms: The attack time constant.
        release_ms: The release time constant.
        sample_rate: The sample rate.

    Returns:
        (n,) the compressed audio, float64.
    """
    if ratio < 1.0 or attack_ms <= 0.0 or release_ms <= 0.0:
        raise ValueError("ratio must be >= 1 and the attack and release times positive")
    x = _as_float64(audio)
    level_rms = rms(x)
    if level_rms <= SILENCE:
        return x
    hop = max(1, round(COMPRESSOR_HOP_S * sample_rate))
    n_blocks = -(-len(x) // hop)
    padded = np.zeros(n_blocks * hop)
    padded[: len(x)] = np.abs(x)
    peaks = padded.reshape(n_blocks, hop).max(axis=1)
    level_db = 20.0 * np.log10(np.maximum(peaks, SILENCE))
    threshold = 20.0 * math.log10(level_rms) + threshold_db
    target = np.maximum(0.0, level_db - threshold) * (1.0 - 1.0 / ratio)

    attack = math.exp(-hop / (attack_ms * 1e-3 * sample_rate))
    release = math.exp(-hop / (release_ms * 1e-3 * sample_rate))
    smoothed = np.empty(n_blocks)
    state = 0.0
    for k, value in enumerate(target.tolist()):
        coef = attack if value > state else release
        state = value + coef * (state - value)
        smoothed[k] = state

    centres = np.arange(n_blocks) * hop + (hop - 1) / 2.0
    gain = 10.0 ** (-np.interp(np.arange(len(x)), centres, smoothed) / 20.0)
    out = x * gain
    out_rms = rms(out)
    return out * (level_rms / out_rms) if out_rms > SILENCE else out


def clip_peaks(audio: npt.NDArray[np.floating], *, drive_db: float, hard: bool) -> FloatArray:
    """Clip ``audio`` at a level ``drive_db`` below its own peak.

    Hard clipping cuts at the level L; soft clipping is L tanh(x / L), transparent for small
    samples. The level below L is unchanged, so no make-up gain is applied.
    """
    x = _as_float64(audio)
    peak = _peak(x)
    if peak <= SILENCE:
        return x
    level = peak / _db_to_amplitude(drive_db)
    if hard:
        return np.clip(x, -level, level)
    return level * np.tanh(x / level)


# --- codec ---------------------------------------------------------------------------------------


def bandlimit(
    audio: npt.NDArray[np.floating], *, rate_hz: int, sample_rate: int = SAMPLE_RATE
) -> FloatArray:
    """Resample ``audio`` to ``rate_hz`` and back, leaving the band below ``rate_hz / 2``.

    Both directions use ``scipy.signal.resample_poly`` with one Kaiser-windowed FIR (-6 dB at
    90 % of the new Nyquist frequency, about 70 dB down above it); ``resample_poly`` removes the
    filter's delay, so the output stays aligned with the input.

    Args:
        audio: (n,) mono audio.
        rate_hz: The intermediate sample rate; at or above ``sample_rate`` nothing is done.
        sample_rate: The audio's sample rate.

    Returns:
        (n,) the bandlimited audio, float64.
    """
    x = _as_float64(audio)
    if rate_hz <= 0:
        raise ValueError(f"rate_hz = {rate_hz} must be positive")
    if rate_hz >= sample_rate or not len(x):
        return x
    ratio = Fraction(rate_hz, sample_rate).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    longest = max(up, down)
    taps = signal.firwin(
        2 * BANDLIMIT_HALF_LENGTH * longest + 1,
        BANDLIMIT_CUTOFF / longest,
        window=("kaiser", BANDLIMIT_KAISER_BETA),
    )
    low = signal.resample_poly(x, up, down, window=taps)
    back = signal.resample_poly(low, down, up, window=taps)
    out = np.zeros(len(x))
    out[: min(len(x), len(back))] = back[: len(x)]
    return out


def quantise(
    audio: npt.NDArray[np.floating],
    bits: int,
    *,
    mu_law: bool = False,
    mu: float = 255.0,
    full_scale: float = 1.0,
) -> FloatArray:
    """Quantise [-full_scale, full_scale] to ``bits`` bits (at most 2^bits levels), clipping first.

    Linear: a mid-tread quantiser with step 2 full_scale / 2^bits. Mu-law: the same quantiser
    applied to sign(x) ln(1 + mu |x|) / ln(1 + mu) (x in units of the full scale) and expanded
    back, which spends its levels on quiet samples (G.711 is 8 bits with mu = 255).
    """
    if not 2 <= bits <= 32:
        raise ValueError(f"bits = {bits} must lie in [2, 32]")
    if not full_scale > 0.0:
        raise ValueError(f"full_scale = {full_scale} must be positive")
    x = np.clip(_as_float64(audio) / full_scale, -1.0, 1.0)
    if mu_law:
        x = np.sign(x) * np.log1p(mu * np.abs(x)) / math.log1p(mu)
    half = 2 ** (bits - 1)
    q: FloatArray = np.clip(np.round(x * half), -half, half - 1) / half
    if mu_law:
        q = np.sign(q) * np.expm1(np.abs(q) * math.log1p(mu)) / mu
    return q * full_scale


# --- noise ---------------------------------------------------------------------------------------


def pink_noise(n: int, rng: np.random.Generator, *, sample_rate: int = SAMPLE_RATE) -> FloatArray:
    """``n`` samples of pink (1/f power) Gaussian noise with unit RMS (flat below 20 Hz)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum /= np.sqrt(np.maximum(freqs, PINK_LOW_HZ))
    spectrum[0] = 0.0
    noise: FloatArray = np.fft.irfft(spectrum, n)
    level = rms(noise)
    return noise / level if level > 0.0 else noise


def add_hiss(
    audio: npt.NDArray[np.floating],
    rng: np.random.Generator,
    *,
    below_rms_db: float,
    pink: bool = False,
    sample_rate: int = SAMPLE_RATE,
) -> FloatArray:
    """Add white or pink noise whose RMS is ``below_rms_db`` under the signal's RMS.

    A silent signal gets no hiss (its level is the reference).
    """
    x = _as_float64(audio)
    level = rms(x)
    if level <= SILENCE:
        return x
    if pink:
        noise = pink_noise(len(x), rng, sample_rate=sample_rate)
    else:
        noise = rng.standard_normal(len(x))
    noise_level = rms(noise)
    if noise_level <= 0.0:
        return x
    return x + noise * (level / _db_to_amplitude(below_rms_db) / noise_level)


# --- the chain -----------------------------------------------------------------------------------


def _log_uniform(rng: np.random.Generator, bounds: Range) -> float:
    return math.exp(float(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63 - 1))


def _draw_bands(rng: np.random.Generator, s: ChainSettings, sample_rate: int) -> tuple[EqBand, ...]:
    top = min(s.eq_hz[1], 0.45 * sample_rate)
    freq_range = (min(s.eq_hz[0], top), top)
    bands = []
    for _ in range(int(rng.integers(s.eq_bands[0], s.eq_bands[1] + 1))):
        shelf = rng.random() < s.eq_shelf_share
        kind: BandKind = ("low_shelf" if rng.random() < 0.5 else "high_shelf") if shelf else "peak"
        freq = _log_uniform(rng, freq_range)
        gain = _uniform(rng, s.eq_gain_db)
        q = _log_uniform(rng, s.eq_q)
        bands.append(EqBand(kind, freq, gain, min(q, SHELF_MAX_Q) if shelf else q))
    return tuple(bands)


def draw_chain(
    rng: np.random.Generator,
    settings: ChainSettings = DEFAULT_SETTINGS,
    *,
    sample_rate: int = SAMPLE_RATE,
) -> ChainPlan:
    """Draw one chain: which effects apply, and their parameters.

    Ten child generators are seeded from ``rng`` first, one per effect, so that each effect's
    draws do not depend on the other effects' settings.
    """
    s = settings
    (hp, lp, eq, room, hiss, comp, clip, gain, band, quant) = (
        np.random.default_rng(_seed(rng)) for _ in range(10)
    )
    rates = [r for r in s.bandlimit_rates_hz if r < sample_rate]
    return ChainPlan(
        highpass_hz=(
            min(_log_uniform(hp, s.highpass_hz), 0.45 * sample_rate)
            if hp.random() < s.highpass_probability
            else None
        ),
        lowpass_hz=_log_uniform(lp, s.lowpass_hz) if lp.random() < s.lowpass_probability else None,
        eq_bands=_draw_bands(eq, s, sample_rate) if eq.random() < s.eq_probability else (),
        room=(
            RoomParams(
                rt60_s=_log_uniform(room, s.room_rt60_s),
                wet_db=_uniform(room, s.room_wet_db),
                n_reflections=int(room.integers(s.room_reflections[0], s.room_reflections[1] + 1)),
                reflection_ms=s.room_reflection_ms,
                seed=_seed(room),
            )
            if room.random() < s.room_probability
            else None
        ),
        hiss=(
            HissParams(
                below_rms_db=_uniform(hiss, s.hiss_below_rms_db),
                pink=bool(hiss.random() < s.hiss_pink_share),
                seed=_seed(hiss),
            )
            if hiss.random() < s.hiss_probability
            else None
        ),
        compressor=(
            CompressorParams(
                threshold_db=_uniform(comp, s.compression_threshold_db),
                ratio=_uniform(comp, s.compression_ratio),
                attack_ms=_log_uniform(comp, s.compression_attack_ms),
                release_ms=_log_uniform(comp, s.compression_release_ms),
            )
            if comp.random() < s.compression_probability
            else None
        ),
        clip=(
            ClipParams(
                drive_db=_uniform(clip, s.clip_drive_db),
                hard=bool(clip.random() < s.clip_hard_share),
            )
            if clip.random() < s.clip_probability
            else None
        ),
        gain_db=_uniform(gain, s.gain_db) if gain.random() < s.gain_probability else 0.0,
        bandlimit_rate_hz=(
            int(rates[int(band.integers(len(rates)))])
            if rates and band.random() < s.bandlimit_probability
            else None
        ),
        quantise=(
            QuantiseParams(
                bits=int(quant.integers(s.quantise_bits[0], s.quantise_bits[1] + 1)),
                mu_law=bool(quant.random() < s.quantise_mu_law_share),
            )
            if quant.random() < s.quantise_probability
            else None
        ),
    )


def apply_chain(
    audio: npt.NDArray[np.floating], plan: ChainPlan, *, sample_rate: int = SAMPLE_RATE
) -> npt.NDArray[np.float32]:
    """Apply ``plan`` to ``audio``; the result is float32, finite, as long as the input.

    Non-finite input samples count as 0. A final clip to [-1, 1] happens only when the peak
    exceeds 1.

    Raises:
        ValueError: The audio is not 1-D.
    """
    x = _as_float64(audio)
    x[~np.isfinite(x)] = 0.0
    if not len(x):
        return x.astype(np.float32)
    if plan.room is not None:
        room = plan.room
        ir = room_impulse_response(
            np.random.default_rng(room.seed),
            rt60_s=room.rt60_s,
            wet_db=room.wet_db,
            n_reflections=room.n_reflections,
            reflection_ms=room.reflection_ms,
            sample_rate=sample_rate,
        )
        x = apply_room(x, ir)
    x = apply_eq(
        x,
        sample_rate=sample_rate,
        highpass_hz=plan.highpass_hz,
        lowpass_hz=plan.lowpass_hz,
        bands=plan.eq_bands,
    )
    if plan.hiss is not None:
        hiss_rng = np.random.default_rng(plan.hiss.seed)
        x = add_hiss(
            x,
            hiss_rng,
            below_rms_db=plan.hiss.below_rms_db,
            pink=plan.hiss.pink,
            sample_rate=sample_rate,
        )
    if plan.compressor is not None:
        c = plan.compressor
        x = compress(
            x,
            threshold_db=c.threshold_db,
            ratio=c.ratio,
            attack_ms=c.attack_ms,
            release_ms=c.release_ms,
            sample_rate=sample_rate,
        )
    if plan.clip is not None:
        x = clip_peaks(x, drive_db=plan.clip.drive_db, hard=plan.clip.hard)
    if plan.bandlimit_rate_hz is not None:
        x = bandlimit(x, rate_hz=plan.bandlimit_rate_hz, sample_rate=sample_rate)
    if plan.quantise is not None and _peak(x) > SILENCE:
        q = plan.quantise
        x = quantise(x, q.bits, mu_law=q.mu_law, full_scale=_peak(x))
    x = x * _db_to_amplitude(plan.gain_db)
    x[~np.isfinite(x)] = 0.0
    if _peak(x) > 1.0:
        x = np.clip(x, -1.0, 1.0)
    return x.astype(np.float32)


def recording_chain(
    audio: npt.NDArray[np.floating],
    rng: np.random.Generator,
    settings: ChainSettings = DEFAULT_SETTINGS,
    *,
    sample_rate: int = SAMPLE_RATE,
) -> npt.NDArray[np.float32]:
    """Pass ``audio`` through a random recording chain (:func:`draw_chain`, :func:`apply_chain`).

    Args:
        audio: (n,) clean mono audio, any float dtype (not changed).
        rng: The only source of randomness: the same seed gives the same bytes.
        settings: Each effect's probability and parameter ranges.
        sample_rate: The audio's sample rate.

    Returns:
        (n,) float32, finite, peak at most 1, aligned with the input to within 1 ms.

    Raises:
        ValueError: The audio is not 1-D.
    """
    x = _as_float64(audio)
    return apply_chain(
        x, draw_chain(rng, settings, sample_rate=sample_rate), sample_rate=sample_rate
    )
