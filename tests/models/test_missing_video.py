"""Frames without a face: an AV model gets no video there, and stage 2 learns to do without.

The lip front end stands in a flat grey crop (``MISSING_GREY``) for every frame where it finds no
face. Fed as pixels, those crops told the AV model "closed, still lips", and it wrote almost no
notes (onset F1 0.05 on GRID in white noise, against 0.61 for the audio-only system).
"""

from __future__ import annotations

import pytest
import torch

from avsvt.errors import ConfigError
from avsvt.lips.pipeline import MISSING_GREY
from avsvt.models import Transcriber
from avsvt.models.common import uniform_frames
from avsvt.models.config import preset
from avsvt.recipes.config import StageTwoConfig
from avsvt.recipes.systems import MIN_MISSING_FRACTION, FeatureModel, missing_video_spans


def av_model(seed: int = 0) -> Transcriber:
    torch.manual_seed(seed)
    return Transcriber(preset("tiny", "audio_visual")).eval()


def raw_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """2 s of audio and 2 s of textured crops (no crop is flat)."""
    g = torch.Generator().manual_seed(seed)
    audio = 0.1 * torch.randn(1, 32_000, generator=g)
    video = torch.randint(20, 230, (1, 100, 96, 96), generator=g, dtype=torch.uint8)
    return audio, video


def test_a_flat_frame_is_uniform_and_one_odd_pixel_is_not():
    frames = torch.full((2, 3, 8, 8), MISSING_GREY, dtype=torch.uint8)
    frames[0, 1, 4, 4] += 1
    frames[1, 2] = 0
    assert uniform_frames(frames).tolist() == [[True, False, True], [True, True, True]]


def test_crops_without_a_face_anywhere_give_what_no_video_gives():
    model = av_model()
    audio, video = raw_inputs()
    grey = torch.full_like(video, MISSING_GREY)
    with torch.no_grad():
        without = model(audio=audio).logits  # the "A" counterpart: no video at all
        from_grey = model(audio=audio, video=grey).logits
        with_face = model(audio=audio, video=video).logits
    torch.testing.assert_close(from_grey, without)
    assert not torch.allclose(with_face, without, atol=1e-3)  # the crops do matter


def test_what_the_encoder_makes_of_frames_without_a_face_never_reaches_the_fusion():
    """Oracle: with a frame marked missing, its video features can be anything at all."""
    model = av_model()
    audio, video = raw_inputs()
    with torch.no_grad():
        features = model.encode(audio=audio, video=video)
        assert features.video is not None and features.audio is not None
        missing = torch.zeros(1, features.video.shape[1], dtype=torch.bool)
        missing[0, 30:70] = True
        scrambled = features.video.clone()
        scrambled[0, 30:70] = 1e3 * torch.randn(40, features.video.shape[2])
        args = (features.audio, features.audio_lengths)
        kept = model.forward_features(*args, features.video, video_missing=missing).logits
        other = model.forward_features(*args, scrambled, video_missing=missing).logits
        unmasked = model.forward_features(*args, scrambled).logits
    torch.testing.assert_close(kept, other)
    assert not torch.allclose(unmasked, kept, atol=1e-3)


def test_the_raw_path_marks_flat_crops_as_frames_without_a_face():
    model = av_model()
    audio, video = raw_inputs()
    lost = video.clone()
    lost[0, 40:80] = MISSING_GREY
    with torch.no_grad():
        features = model.encode(audio=audio, video=lost)
        missing = torch.zeros(1, 100, dtype=torch.bool)
        missing[0, 40:80] = True
        expected = model.forward_features(*features, video_missing=missing).logits
        got = model(audio=audio, video=lost).logits
    torch.testing.assert_close(got, expected)


def test_stretches_of_lost_face_are_drawn_at_the_asked_rate_and_length():
    torch.manual_seed(0)
    lengths = torch.randint(50, 300, (4000,))
    mask = missing_video_spans(lengths, 300, 0.25)
    assert mask is not None and mask.shape == (4000, 300)
    lost = mask.any(dim=1)
    assert abs(lost.float().mean().item() - 0.25) < 0.03  # binomial s.d. 0.007
    for row, length in zip(mask[lost], lengths[lost], strict=True):
        where = torch.nonzero(row).flatten()
        assert where.max() < length  # inside the item's valid frames
        assert int(where.max() - where.min()) + 1 == len(where)  # one stretch
        fraction = len(where) / int(length)
        assert MIN_MISSING_FRACTION - 0.01 <= fraction <= 1.0
    assert missing_video_spans(lengths, 300, 0.0) is None


def test_the_same_seed_draws_the_same_stretches():
    lengths = torch.tensor([80, 120, 200])
    torch.manual_seed(5)
    first = missing_video_spans(lengths, 200, 0.5)
    torch.manual_seed(5)
    assert torch.equal(first, missing_video_spans(lengths, 200, 0.5))


def test_training_loses_the_face_and_evaluation_never_does():
    audio, video = torch.randn(3, 249, 32), torch.randn(3, 250, 32)
    lengths = torch.tensor([249] * 3), torch.tensor([250] * 3)
    torch.manual_seed(0)
    plain = FeatureModel(Transcriber(preset("tiny", "audio_visual")))
    torch.manual_seed(0)
    losing = FeatureModel(Transcriber(preset("tiny", "audio_visual")), missing_video_p=1.0)
    with torch.no_grad():
        evaluated = losing.eval()(audio, lengths[0], video, lengths[1])[0]
        reference = plain.eval()(audio, lengths[0], video, lengths[1])[0]
        torch.manual_seed(1)
        trained_on = losing.train()(audio, lengths[0], video, lengths[1])[0]
        torch.manual_seed(1)
        plain_training = plain.train()(audio, lengths[0], video, lengths[1])[0]
    torch.testing.assert_close(evaluated, reference)
    assert not torch.allclose(trained_on, plain_training, atol=1e-3)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_probability_off_range_is_a_config_error(value):
    with pytest.raises(ConfigError, match="missing_video_p"):
        StageTwoConfig(missing_video_p=value)
