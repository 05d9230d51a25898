"""Harmonically stacked log-frequency spectrogram: what the pitch network sees.

A 16 kHz waveform is level-normalised, then cut into 64-ms Hann frames every 10 ms (frame ``j``
centred at ``j * 10`` ms, as :func:`avsvt.f0.yin`'s frames are). Each output pitch bin ``k``
(``bins_per_semitone`` per semitone from ``lowest_midi``) gets one channel per harmonic ``h`` of
``harmonics``: the magnitude spectrum read at ``h * f_k`` through a triangular filter as wide as
the spacing of the bins there (never narrower than one FFT bin, so a partial between two bin
centres is never missed). A voice at pitch ``f`` thus lines up its partials on one bin across the
channels, whatever its formants; the network only has to learn what a voice looks like there.
Magnitudes are compressed with ``log(1 + 100 * |X|)``.

With ``periodicity``, one more channel holds each frame's periodicity at every bin's period: the
generalised autocorrelation of the frame (the inverse FFT of ``|X|``, a cepstrum-like ACF that
weighs every partial below Nyquist rather than only the first few harmonics), divided by the
window's own autocorrelation and by its value at lag 0, read at lag ``16000 / f_k`` by linear
interpolation. It is near 1 at the period of a voice whatever its timbre or a weak fundamental,
which the harmonic channels (up to the 5th partial) miss on low voices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from avsvt.constants import SAMPLE_RATE
from avsvt.notes import midi_to_hz_array

FloatArray = npt.NDArray[np.float64]

HOP_SAMPLES = 160
"""10 ms at 16 kHz: the frame rate of the f0 tracker, so the note segmentation is shared."""
TARGET_RMS = 0.1
"""Inputs are scaled to this RMS before analysis (training draws its own level around it)."""


@dataclass(frozen=True)
class SpectrogramConfig:
    """The analysis: FFT size, pitch grid and harmonic channels."""

    n_fft: int = 1024
    lowest_midi: float = 36.0
    n_bins: int = 145
    bins_per_semitone: int = 3
    harmonics: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    periodicity: bool = False

    @property
    def n_channels(self) -> int:
        """Feature channels: one per harmonic, plus one with ``periodicity``."""
        return len(self.harmonics) + int(self.periodicity)

    def bin_midi(self) -> FloatArray:
        """(n_bins,) the MIDI pitch of each output bin."""
        return self.lowest_midi + np.arange(self.n_bins) / self.bins_per_semitone


def filterbank(config: SpectrogramConfig) -> FloatArray:
    """(harmonics, n_fft // 2 + 1, n_bins) triangular read-out weights (module docstring)."""
    n_freqs = config.n_fft // 2 + 1
    fft_hz = np.arange(n_freqs) * SAMPLE_RATE / config.n_fft
    bin_hz = SAMPLE_RATE / config.n_fft
    centres = midi_to_hz_array(config.bin_midi())
    ratio = 2.0 ** (1.0 / (12 * config.bins_per_semitone))
    weights = np.zeros((len(config.harmonics), n_freqs, config.n_bins))
    for c, h in enumerate(config.harmonics):
        f = h * centres
        half_width = np.maximum(f * (ratio - 1.0), bin_hz)
        w = np.clip(1.0 - np.abs(fft_hz[:, None] - f[None, :]) / half_width[None, :], 0.0, None)
        w[:, f >= SAMPLE_RATE / 2] = 0.0
        weights[c] = w / np.maximum(w.sum(axis=0, keepdims=True), 1e-12)
    return weights


def lag_weights(config: SpectrogramConfig) -> FloatArray:
    """(n_fft // 2 + 1, n_bins) linear interpolation of an autocorrelation at each bin's period."""
    n_lags = config.n_fft // 2 + 1
    lag = SAMPLE_RATE / midi_to_hz_array(config.bin_midi())
    weights = np.zeros((n_lags, config.n_bins))
    lo = np.floor(lag).astype(np.int64)
    frac = lag - lo
    cols = np.arange(config.n_bins)
    inside = lo + 1 < n_lags
    weights[lo[inside], cols[inside]] = 1.0 - frac[inside]
    weights[lo[inside] + 1, cols[inside]] = frac[inside]
    return weights


class HarmonicSpectrogram(nn.Module):
    """(B, samples) 16 kHz waveform -> (B, channels, frames, n_bins) features.

    ``frames = samples // 160 + 1``. The input is not level-normalised here (see
    :func:`normalise_level`).
    """

    def __init__(self, config: SpectrogramConfig) -> None:
        super().__init__()
        self.config = config
        weights = torch.from_numpy(filterbank(config)).float()
        self.register_buffer("weights", weights, persistent=False)
        window = torch.hann_window(config.n_fft)
        self.register_buffer("window", window, persistent=False)
        if config.periodicity:
            n_lags = config.n_fft // 2 + 1
            padded = torch.cat([window, torch.zeros(config.n_fft)]).double()
            window_acf = torch.fft.irfft(torch.fft.rfft(padded).abs() ** 2)[:n_lags]
            lags = torch.from_numpy(lag_weights(config))
            # unbias by the window's own autocorrelation, then read at each bin's period
            lags = lags * (window_acf[0] / window_acf.clamp(min=1e-9))[:, None]
            self.register_buffer("lags", lags.float(), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Features of a batch of waveforms."""
        window: torch.Tensor = self.window  # type: ignore[assignment]
        spec = torch.stft(
            waveform,
            self.config.n_fft,
            hop_length=HOP_SAMPLES,
            window=window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        ).abs()  # (B, freqs, frames)
        weights: torch.Tensor = self.weights  # type: ignore[assignment]
        stacked = torch.log1p(100.0 * torch.einsum("bft,hfk->bhtk", spec, weights))
        if not self.config.periodicity:
            return stacked
        acf = torch.fft.irfft(spec, n=self.config.n_fft, dim=1)  # (B, lags, frames)
        n_lags = self.config.n_fft // 2 + 1
        acf = acf[:, :n_lags] / acf[:, :1].clamp(min=1e-6)
        lags: torch.Tensor = self.lags  # type: ignore[assignment]
        periodicity = torch.einsum("blt,lk->btk", acf, lags)
        return torch.cat([stacked, periodicity[:, None]], dim=1)


def normalise_level(audio: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Scale to :data:`TARGET_RMS` (silence stays silence)."""
    x = np.asarray(audio, dtype=np.float32)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
    if rms < 1e-6 or not math.isfinite(rms):
        return x
    return (x * (TARGET_RMS / rms)).astype(np.float32)


def n_frames(n_samples: int) -> int:
    """Frames of a waveform of ``n_samples`` (centred frames every 10 ms)."""
    return n_samples // HOP_SAMPLES + 1
