"""The reference's training loss (reference-system.md section 2.3).

For logits (B, T, 20) laid out [onset, offset/silence, octave x5, pitch class x13]
(:mod:`avsvt.layout`) and labels
(B, T', 4): BCE-with-logits on onset (positive weight 15) and offset-or-silence (weight 1), NLL of
the log-softmax for octave and pitch class; each term is a mean over the valid frames of the whole
batch (pooled, not per utterance), and the four terms are summed with weight 1.

Prediction and label frame counts may differ by up to ``ALLOWED_LEN_DIFF`` frames (3, as in the
reference): the longer is cut to the shorter. A bigger difference is an error. The frame mask is
``min(prediction length, label length)`` per item, which fixes quirk Q12 (the reference scales the
*label* length by the *input*'s relative length).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 - the usual alias

from avsvt.constants import OFFSET_POS_WEIGHT, ONSET_POS_WEIGHT
from avsvt.layout import (
    LABEL_OCTAVE,
    LABEL_OFFSET,
    LABEL_ONSET,
    LABEL_PITCH_CLASS,
    N_LABEL_COLUMNS,
    N_OUTPUTS,
    OCTAVE,
    OFFSET,
    ONSET,
    PITCH_CLASS,
)

ALLOWED_LEN_DIFF = 3


@dataclass(frozen=True)
class LossTerms:
    """The four loss terms and their sum (scalars)."""

    onset: torch.Tensor
    offset: torch.Tensor
    octave: torch.Tensor
    pitch_class: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        """Sum of the terms (equal weights)."""
        return self.onset + self.offset + self.octave + self.pitch_class


def reconcile_lengths(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the longer of (B, T, ...) logits and (B, T', 4) labels to the shorter (|T - T'| <= 3)."""
    difference = abs(logits.shape[1] - labels.shape[1])
    if difference > ALLOWED_LEN_DIFF:
        raise ValueError(
            f"prediction has {logits.shape[1]} frames, labels {labels.shape[1]}: more than "
            f"{ALLOWED_LEN_DIFF} apart"
        )
    n = min(logits.shape[1], labels.shape[1])
    return logits[:, :n], labels[:, :n]


def transcription_loss_terms(
    logits: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor, label_lengths: torch.Tensor
) -> LossTerms:
    """The four loss terms.

    Args:
        logits: (B, T, 20) model outputs.
        lengths: (B,) valid output frames per item.
        labels: (B, T', 4) int64 frame labels (padding rows are ignored).
        label_lengths: (B,) valid label frames per item.
    """
    assert logits.ndim == 3 and logits.shape[-1] == N_OUTPUTS, f"logits {tuple(logits.shape)}"
    assert labels.ndim == 3 and labels.shape[-1] == N_LABEL_COLUMNS, f"labels {tuple(labels.shape)}"
    logits, labels = reconcile_lengths(logits, labels)
    n_frames = logits.shape[1]
    valid = torch.minimum(lengths, label_lengths).to(logits.device)
    mask = (torch.arange(n_frames, device=logits.device)[None, :] < valid[:, None]).float()
    n_valid = mask.sum().clamp_min(1.0)

    def masked_mean(values: torch.Tensor) -> torch.Tensor:
        return (values * mask).sum() / n_valid

    onset = F.binary_cross_entropy_with_logits(
        logits[..., ONSET],
        labels[..., LABEL_ONSET].float(),
        reduction="none",
        pos_weight=torch.tensor(ONSET_POS_WEIGHT, device=logits.device),
    )
    offset = F.binary_cross_entropy_with_logits(
        logits[..., OFFSET],
        labels[..., LABEL_OFFSET].float(),
        reduction="none",
        pos_weight=torch.tensor(OFFSET_POS_WEIGHT, device=logits.device),
    )
    octave = F.nll_loss(
        F.log_softmax(logits[..., OCTAVE], dim=-1).transpose(1, 2),
        labels[..., LABEL_OCTAVE],
        reduction="none",
    )
    pitch_class = F.nll_loss(
        F.log_softmax(logits[..., PITCH_CLASS], dim=-1).transpose(1, 2),
        labels[..., LABEL_PITCH_CLASS],
        reduction="none",
    )
    return LossTerms(
        masked_mean(onset), masked_mean(offset), masked_mean(octave), masked_mean(pitch_class)
    )


def transcription_loss(
    logits: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor, label_lengths: torch.Tensor
) -> torch.Tensor:
    """The summed loss (a :data:`avsvt.train.trainable.LossFn`)."""
    return transcription_loss_terms(logits, lengths, labels, label_lengths).total
