"""A fast YIN fundamental-frequency tracker in numpy (de Cheveigne and Kawahara, 2002).

Frames are analysed all at once: the difference function comes from FFT autocorrelations and
running energy sums, the cumulative-mean-normalised difference is thresholded for the first dip, and
the lag is refined by parabolic interpolation. It runs hundreds of times faster than real time on
one core, fast enough to sit beside a transcription model (pYIN, its probabilistic cousin, runs at
a few times real time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from avsvt.constants import SAMPLE_RATE
from avsvt.notes import hz_to_midi_array

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class F0Track:
    """Frame-wise f0: ``f0_hz`` (0 where unvoiced) and YIN ``aperiodicity`` (0 = periodic)."""

    f0_hz: FloatArray
    aperiodicity: FloatArray
    fps: float

    @property
    def voiced(self) -> npt.NDArray[np.bool_]:
        """Frames with an f0."""
        return self.f0_hz > 0

    def midi(self) -> FloatArray:
        """f0 as fractional MIDI (NaN where unvoiced)."""
        return hz_to_midi_array(self.f0_hz)


def yin(
    audio: npt.NDArray[np.floating],
    *,
    sample_rate: int = SAMPLE_RATE,
    fmin_hz: float = 65.0,
    fmax_hz: float = 1000.0,
    frame_length: int = 1024,
    hop_length: int = 160,
    threshold: float = 0.15,
    max_aperiodicity: float = 0.35,
    min_rms: float = 1e-3,
    block_frames: int = 4096,
) -> F0Track:
    """Track f0 with YIN.

    Args:
        audio: (samples,) mono audio.
        sample_rate: Its rate in Hz.
        fmin_hz: Lowest f0 searched.
        fmax_hz: Highest f0 searched.
        frame_length: Analysis window in samples (must hold two periods of ``fmin_hz``).
        hop_length: Samples between frames; frame ``i`` is centred at ``i * hop_length``.
        threshold: YIN absolute threshold for the first dip.
        max_aperiodicity: Frames whose best dip is above this are unvoiced.
        min_rms: Frames quieter than this RMS are unvoiced.
        block_frames: Frames analysed at once (memory grows with it, not with the input).

    Returns:
        The track at ``sample_rate / hop_length`` frames per second.
    """
    x = np.asarray(audio)
    max_lag = min(int(sample_rate / fmin_hz) + 1, frame_length // 2)
    min_lag = max(2, int(sample_rate / fmax_hz))
    n_frames = 1 + max(0, len(x) // hop_length)
    half = frame_length // 2
    f0 = np.zeros(n_frames)
    aperiodicity = np.ones(n_frames)
    for first in range(0, n_frames, block_frames):  # blocks bound the memory of long inputs
        last = min(first + block_frames, n_frames)
        lo, hi = first * hop_length - half, (last - 1) * hop_length + frame_length - half
        segment = np.zeros(hi - lo, dtype=np.float32)
        inside = x[max(lo, 0) : min(hi, len(x))]
        segment[max(lo, 0) - lo : max(lo, 0) - lo + len(inside)] = inside
        frames = sliding_window_view(segment, frame_length)[::hop_length][: last - first]
        f0[first:last], aperiodicity[first:last] = _yin_frames(
            frames,
            sample_rate=sample_rate,
            min_lag=min_lag,
            max_lag=max_lag,
            threshold=threshold,
            max_aperiodicity=max_aperiodicity,
            min_rms=min_rms,
        )
    return F0Track(f0_hz=f0, aperiodicity=aperiodicity, fps=sample_rate / hop_length)


def _yin_frames(
    frames: npt.NDArray[np.float32],
    *,
    sample_rate: int,
    min_lag: int,
    max_lag: int,
    threshold: float,
    max_aperiodicity: float,
    min_rms: float,
) -> tuple[FloatArray, FloatArray]:
    """YIN on (n, frame_length) frames: (f0 Hz with 0 where unvoiced, aperiodicity)."""
    frame_length = frames.shape[1]
    w = frame_length - max_lag  # integration window
    # d(tau) = sum_{j<w} (x_j - x_{j+tau})^2 = e0 + e_tau - 2 r(tau)
    size = 1 << int(np.ceil(np.log2(frame_length + w)))
    # float32 FFTs (scipy keeps single precision; numpy would upcast): 3-5x faster, and the
    # difference function's relative error (~1e-6) is far below the voicing thresholds
    spec_full = scipy.fft.rfft(frames, size)
    spec_head = scipy.fft.rfft(frames[:, :w], size)
    r = scipy.fft.irfft(spec_head.conj() * spec_full, size)[:, : max_lag + 1].astype(np.float64)
    frames64 = frames.astype(np.float64)
    sq = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames64**2, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    e_tau = sq[:, lags + w] - sq[:, lags]
    diff = np.maximum(e_tau[:, :1] + e_tau - 2 * r, 0.0)
    cumulative = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(cumulative, 1e-12)
    search = cmnd[:, min_lag:max_lag]
    # first lag under the threshold that is a local minimum; else the global minimum
    below = search < threshold
    is_dip = np.zeros_like(below)
    is_dip[:, :-1] = below[:, :-1] & (search[:, :-1] <= search[:, 1:])
    first = np.where(is_dip.any(axis=1), is_dip.argmax(axis=1), search.argmin(axis=1))
    rows = np.arange(len(frames))
    lag = first + min_lag
    aperiodicity = cmnd[rows, lag]
    # parabolic interpolation around the chosen lag
    left = cmnd[rows, np.maximum(lag - 1, 0)]
    right = cmnd[rows, np.minimum(lag + 1, max_lag)]
    denominator = left - 2 * aperiodicity + right
    safe = np.where(np.abs(denominator) > 1e-12, denominator, 1.0)
    shift = np.where(np.abs(denominator) > 1e-12, 0.5 * (left - right) / safe, 0.0)
    refined = lag + np.clip(shift, -1, 1)
    rms = np.sqrt(np.mean(frames64**2, axis=1))
    voiced = (aperiodicity <= max_aperiodicity) & (rms >= min_rms)
    return np.where(voiced, sample_rate / refined, 0.0), aperiodicity
