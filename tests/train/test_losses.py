import math

import pytest
import torch

from avsvt.train.losses import transcription_loss, transcription_loss_terms


def test_loss_matches_a_hand_computation():
    logits = torch.zeros(1, 3, 20)
    logits[0, 0, 0] = 2.0  # onset logit of frame 0
    logits[0, 1, 2 + 1] = math.log(4.0)  # octave class 1 four times as likely on frame 1
    labels = torch.tensor([[[1, 0, 1, 3], [0, 0, 1, 3], [0, 1, 4, 12]]])
    terms = transcription_loss_terms(logits, torch.tensor([3]), labels, torch.tensor([3]))

    def bce(x, y, w=1.0):
        p = 1 / (1 + math.exp(-x))
        return -(w * y * math.log(p) + (1 - y) * math.log(1 - p))

    assert terms.onset.item() == pytest.approx((bce(2.0, 1, 15) + bce(0, 0) + bce(0, 0)) / 3)
    assert terms.offset.item() == pytest.approx((bce(0, 0) * 2 + bce(0, 1)) / 3)
    octave = (-math.log(1 / 5) - math.log(4 / 8) - math.log(1 / 5)) / 3
    assert terms.octave.item() == pytest.approx(octave)
    assert terms.pitch_class.item() == pytest.approx(-math.log(1 / 13))


def test_padding_is_ignored_and_small_length_differences_are_cut():
    torch.manual_seed(0)
    logits = torch.randn(1, 10, 20)
    labels = torch.randint(0, 2, (1, 10, 4))
    labels[..., 2] = 1
    labels[..., 3] = 5
    base = transcription_loss(logits[:, :6], torch.tensor([6]), labels[:, :6], torch.tensor([6]))
    padded = transcription_loss(logits, torch.tensor([6]), labels, torch.tensor([6]))
    assert padded.item() == pytest.approx(base.item())
    cut = transcription_loss(logits[:, :8], torch.tensor([8]), labels[:, :6], torch.tensor([6]))
    assert cut.item() == pytest.approx(base.item())
    with pytest.raises(ValueError, match="more than 3 apart"):
        transcription_loss(logits, torch.tensor([10]), labels[:, :6], torch.tensor([6]))
