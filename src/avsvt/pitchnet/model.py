"""The pitch network: harmonic features -> per-frame voice pitch salience and voicing.

A small fully convolutional net over (time, pitch) in the spirit of deep-salience melody
extraction. Its receptive field spans about 0.3 s (dilated convolutions in time: a vibrato cycle
and a note's attack) and an octave and a half in pitch (one wide convolution along the pitch axis,
so octave errors can be resolved). Two outputs per 10-ms frame:

* ``salience`` (B, T, n_bins): logits, trained against a Gaussian (one bin s.d.) around the sung
  f0, zero where nobody sings;
* ``voicing`` (B, T): logits, trained against "the voice sounds here".

:func:`decode_f0` turns them into an :class:`avsvt.f0.F0Track` (f0 where voicing > threshold,
the salience-weighted mean pitch of the peak's neighbourhood), so the notes come from the same
segmentation as the f0 tracker's (:func:`avsvt.f0notes.f0_notes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from avsvt.constants import SAMPLE_RATE
from avsvt.f0 import F0Track
from avsvt.notes import midi_to_hz_array
from avsvt.pitchnet.features import HOP_SAMPLES, HarmonicSpectrogram, SpectrogramConfig

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PitchNetConfig:
    """Network widths; the analysis is :class:`SpectrogramConfig`."""

    spectrogram: SpectrogramConfig = SpectrogramConfig()
    channels: int = 16
    octave_channels: int = 8
    octave_kernel_bins: int = 37


class PitchAxisConv2d(nn.Conv2d):
    """A ``Conv2d`` whose kernel spans the pitch axis only (``(1, k)`` over (time, pitch)).

    Its parameters, and so its state dict, are a plain ``Conv2d``'s. It runs with the pitch axis
    as the height (input and kernel transposed): the same sums to float rounding (about 1e-6),
    and on CPU (oneDNN) about 4x faster forward and backward than the wide-row kernel, which
    took most of a training step.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) -> (B, C_out, T, F)."""
        pad_t, pad_f = (int(p) for p in self.padding)
        y = F.conv2d(
            x.transpose(2, 3), self.weight.transpose(2, 3), self.bias, padding=(pad_f, pad_t)
        )
        return y.transpose(2, 3)


class PitchNet(nn.Module):
    """Waveform (B, samples) -> (salience logits (B, T, n_bins), voicing logits (B, T))."""

    def __init__(self, config: PitchNetConfig = PitchNetConfig()) -> None:
        super().__init__()
        self.config = config
        c, n_h = config.channels, config.spectrogram.n_channels
        self.features = HarmonicSpectrogram(config.spectrogram)

        def block(c_in: int, c_out: int, kernel: tuple[int, int], dilation: int) -> nn.Sequential:
            pad = (dilation * (kernel[0] // 2), kernel[1] // 2)
            conv = nn.Conv2d(c_in, c_out, kernel, padding=pad, dilation=(dilation, 1))
            return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU())

        octave = PitchAxisConv2d(
            c,
            config.octave_channels,
            (1, config.octave_kernel_bins),
            padding=(0, config.octave_kernel_bins // 2),
        )
        self.body = nn.Sequential(
            nn.BatchNorm2d(n_h),
            block(n_h, c, (5, 5), 1),
            block(c, c, (3, 3), 1),
            block(c, c, (3, 3), 3),
            block(c, c, (3, 3), 9),
            nn.Sequential(octave, nn.BatchNorm2d(config.octave_channels), nn.ReLU()),
        )
        self.salience = nn.Conv2d(config.octave_channels, 1, 1)
        self.voicing = nn.Sequential(
            nn.Conv1d(2 * config.octave_channels, c, 9, padding=4),
            nn.ReLU(),
            nn.Conv1d(c, 1, 1),
        )

    def forward(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Salience and voicing logits of a batch of 16 kHz waveforms."""
        hidden = self.body(self.features(waveform))  # (B, C, T, F)
        salience = self.salience(hidden)[:, 0]
        pooled = torch.cat([hidden.amax(dim=3), hidden.mean(dim=3)], dim=1)  # (B, 2C, T)
        voicing = self.voicing(pooled)[:, 0]
        return salience, voicing

    def probabilities(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Salience (B, T, n_bins) and voicing (B, T) probabilities (the logits' sigmoid)."""
        salience, voicing = self(waveform)
        return torch.sigmoid(salience), torch.sigmoid(voicing)


class PitchNetEnsemble(nn.Module):
    """Several pitch networks of one config whose probabilities are averaged.

    Networks trained alike from different seeds make different errors on what they never heard
    (on the real check clip one seed moves COnPOff by up to 15 points, BENCHMARKS.md); the mean
    of their salience and voicing probabilities is then decoded once, as one network's would be.
    Its state dict holds each member's under ``members.<k>.``.
    """

    def __init__(self, config: PitchNetConfig, n_members: int) -> None:
        super().__init__()
        if n_members < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {n_members}")
        self.config = config
        self.members = nn.ModuleList(PitchNet(config) for _ in range(n_members))

    def networks(self) -> list[PitchNet]:
        """The member networks."""
        return [m for m in self.members if isinstance(m, PitchNet)]

    @classmethod
    def of(cls, members: list[PitchNet]) -> PitchNetEnsemble:
        """The ensemble of trained networks (copies of their weights; one config)."""
        configs = {m.config for m in members}
        if len(configs) != 1:
            raise ValueError("ensemble members must share one config")
        ensemble = cls(members[0].config, len(members))
        for mine, theirs in zip(ensemble.networks(), members, strict=True):
            mine.load_state_dict(theirs.state_dict())
        return ensemble

    def probabilities(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The members' mean salience and voicing probabilities."""
        outs = [member.probabilities(waveform) for member in self.networks()]
        salience = torch.stack([s for s, _ in outs]).mean(dim=0)
        voicing = torch.stack([v for _, v in outs]).mean(dim=0)
        return salience, voicing


PitchModel = PitchNet | PitchNetEnsemble
"""What a model file holds: one network or an ensemble of them."""


def decode_f0(
    salience: npt.NDArray[np.floating],
    voicing: npt.NDArray[np.floating],
    config: SpectrogramConfig,
    *,
    threshold: float = 0.5,
    radius_bins: int = 2,
    salience_weight: float = 0.0,
) -> F0Track:
    """Probabilities (T, n_bins) and (T,) -> an f0 track at 100 frames/s.

    The pitch of a frame is the salience-weighted mean of the bins within ``radius_bins`` of
    its peak. A frame's voicing is ``(1 - salience_weight) * voicing + salience_weight *``
    its salience peak (the salience head says "a voice at this pitch", so it is a second
    voicing estimate); frames whose voicing is below ``threshold`` are unvoiced.
    ``aperiodicity`` holds ``1 - voicing``.
    """
    s = np.asarray(salience, dtype=np.float64)
    n_t, n_bins = s.shape
    v = np.asarray(voicing, dtype=np.float64)
    if salience_weight and n_t:
        v = (1.0 - salience_weight) * v + salience_weight * s.max(axis=1)
    peak = s.argmax(axis=1) if n_t else np.zeros(0, dtype=np.int64)
    offsets = np.arange(-radius_bins, radius_bins + 1)
    idx = np.clip(peak[:, None] + offsets[None, :], 0, n_bins - 1)
    w = np.take_along_axis(s, idx, axis=1) * (np.abs(peak[:, None] + offsets - idx) == 0)
    bin_midi = config.bin_midi()
    midi = (w * bin_midi[idx]).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)
    f0_hz = np.where(v >= threshold, midi_to_hz_array(midi), 0.0)
    return F0Track(f0_hz=f0_hz, aperiodicity=1.0 - v, fps=SAMPLE_RATE / HOP_SAMPLES)
