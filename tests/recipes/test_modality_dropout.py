"""Stage 2 modality dropout: items lose one whole stream in training, never both, never in eval."""

from __future__ import annotations

import pytest
import torch

from avsvt.errors import ConfigError
from avsvt.models import Transcriber
from avsvt.models.config import preset
from avsvt.recipes.config import StageTwoConfig
from avsvt.recipes.systems import FeatureModel, drop_modalities


def _features(n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Every entry nonzero, so a zeroed item is one whose entries are all exactly 0.
    audio = torch.rand(n_items, 7, 5) + 1.0
    video = torch.rand(n_items, 9, 3) + 1.0
    return audio, video


def _zeroed(x: torch.Tensor) -> torch.Tensor:
    return (x == 0).flatten(1).all(dim=1)


def test_items_are_dropped_whole_one_stream_at_most_at_the_asked_rates():
    torch.manual_seed(0)
    audio, video = _features(4000)
    a, v = drop_modalities(audio, video, 0.25, 0.5)
    no_audio, no_video = _zeroed(a), _zeroed(v)
    # Each item is either untouched or zero throughout a stream (no partial zeroing).
    kept_a, kept_v = ~no_audio, ~no_video
    assert torch.equal(a[kept_a], audio[kept_a]) and torch.equal(v[kept_v], video[kept_v])
    assert not (no_audio & no_video).any()
    # Rates: video off 0.25; audio off 0.5 of the remaining 0.75 = 0.375 (binomial s.d. < 0.008).
    assert abs(no_video.float().mean().item() - 0.25) < 0.03
    assert abs(no_audio.float().mean().item() - 0.375) < 0.03


def test_certain_drops_and_no_drops():
    audio, video = _features(16)
    a, v = drop_modalities(audio, video, 1.0, 0.0)
    assert _zeroed(v).all() and torch.equal(a, audio)
    a, v = drop_modalities(audio, video, 0.0, 1.0)
    assert _zeroed(a).all() and torch.equal(v, video)
    a, v = drop_modalities(audio, video, 0.0, 0.0)
    assert a is audio and v is video


def _model(**drops: float) -> FeatureModel:
    torch.manual_seed(0)
    return FeatureModel(Transcriber(preset("tiny", "audio_visual")), **drops)


def test_training_sees_the_dropped_streams_and_evaluation_never_does():
    audio, video = torch.randn(3, 249, 32), torch.randn(3, 250, 32)
    lengths = torch.tensor([249] * 3), torch.tensor([250] * 3)
    model = _model(drop_video_p=1.0)
    # Oracle for "video dropped": the same network fed zero video features.
    with torch.no_grad():
        zero_video = model.eval()(audio, lengths[0], torch.zeros_like(video), lengths[1])[0]
        as_given = model.eval()(audio, lengths[0], video, lengths[1])[0]
        trained_on = model.train()(audio, lengths[0], video, lengths[1])[0]
    assert not torch.allclose(as_given, zero_video, atol=1e-3)  # the video matters here
    # (attention's eval fast path differs from its training path by float rounding only)
    torch.testing.assert_close(trained_on, zero_video, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("field", ["drop_video_p", "drop_audio_p"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_probabilities_off_range_are_config_errors(field, value):
    with pytest.raises(ConfigError, match=field):
        StageTwoConfig(**{field: value})
