"""The output layer: Linear(D -> 20) = [onset, offset, octave x5, pitch class x13].

The layout itself is defined once in :mod:`avsvt.layout`; this module splits torch logits by it.
The training loss over these logits lives in :mod:`avsvt.train.losses`
(``transcription_loss(logits, lengths, labels, label_lengths)``: pos weights 15/1, NLL heads,
pooled masked means, +-3 frame reconciliation).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from avsvt.decoding import FramePosteriors
from avsvt.layout import N_OUTPUTS, OCTAVE, OFFSET, ONSET, PITCH_CLASS


class HeadLogits(NamedTuple):
    """The four parts of (..., 20) logits."""

    onset: torch.Tensor
    offset: torch.Tensor
    octave: torch.Tensor
    pitch_class: torch.Tensor


def split_logits(logits: torch.Tensor) -> HeadLogits:
    """Split (..., 20) logits: onset (...), offset (...), octave (..., 5), pitch class (..., 13)."""
    assert logits.shape[-1] == N_OUTPUTS, f"logits {tuple(logits.shape)}"
    return HeadLogits(
        logits[..., ONSET], logits[..., OFFSET], logits[..., OCTAVE], logits[..., PITCH_CLASS]
    )


class TranscriptionHead(nn.Linear):
    """Linear(D -> 20) with bias (PyTorch default init), as the reference."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim, N_OUTPUTS)


def logits_to_posteriors(logits: torch.Tensor) -> FramePosteriors:
    """One song's (T, 20) logits -> :class:`~avsvt.decoding.FramePosteriors` for the decoder."""
    assert logits.ndim == 2 and logits.shape[1] == N_OUTPUTS, f"logits {tuple(logits.shape)}"
    return FramePosteriors.from_logits(logits.detach().cpu().float().numpy().astype(np.float32))
