"""Audio encoders: frame grid, padding invariance, normalisation modes, local HF models."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from avsvt.constants import n_ssl_frames
from avsvt.errors import CheckpointError, ConfigError
from avsvt.models import AudioEncoderConfig, Transcriber, load_model, preset, save_model
from avsvt.models.audio import (
    HFSSLEncoder,
    LogMelConformer,
    PeriodicityFrontend,
    build_audio_encoder,
    mel_filterbank,
    ssl_frame_lengths,
)
from avsvt.models.common import standardise


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


TINY_SIZES: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": (16,) * 7,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
}
HF_CONFIGS: dict[str, dict[str, Any]] = {
    "wav2vec2-layer": {"model_type": "wav2vec2", "feat_extract_norm": "layer",
                       "do_stable_layer_norm": True, **TINY_SIZES},
    "wav2vec2-group": {"model_type": "wav2vec2", **TINY_SIZES},
    "hubert": {"model_type": "hubert", **TINY_SIZES},
    "wavlm": {"model_type": "wavlm", "feat_extract_norm": "layer", **TINY_SIZES},
    "data2vec-audio": {"model_type": "data2vec-audio", **TINY_SIZES},
}  # fmt: skip


def hf_encoder(name: str, **changes: Any) -> HFSSLEncoder:
    torch.manual_seed(0)
    config = AudioEncoderConfig(kind="hf_ssl", hf_config=HF_CONFIGS[name], **changes)
    encoder = build_audio_encoder(config)
    assert isinstance(encoder, HFSSLEncoder)
    return encoder.eval()


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return 0.3 * torch.randn(2, 16000, generator=g), torch.tensor([16000, 9000])


@pytest.mark.parametrize("name", sorted(HF_CONFIGS))
def test_hf_padding_never_changes_valid_frames(name: str) -> None:
    encoder = hf_encoder(name)
    waveform, lengths = batch()
    features, frame_lengths = encoder(waveform, lengths)
    assert features.shape == (2, n_ssl_frames(16000), 32)
    assert frame_lengths.tolist() == [n_ssl_frames(16000), n_ssl_frames(9000)]
    alone, _ = encoder(waveform[1:, :9000], lengths[1:])
    n = int(frame_lengths[1])
    torch.testing.assert_close(features[1, :n], alone[0], atol=1e-4, rtol=0)
    assert features[1, n:].abs().max() == 0


def test_spec_augment_is_off_even_in_training() -> None:
    no_dropout = {k: 0.0 for k in ("hidden_dropout", "activation_dropout", "attention_dropout",
                                   "feat_proj_dropout", "layerdrop")}  # fmt: skip
    torch.manual_seed(0)
    config = {**HF_CONFIGS["wav2vec2-layer"], "mask_time_prob": 0.5, **no_dropout}
    encoder = build_audio_encoder(AudioEncoderConfig(kind="hf_ssl", hf_config=config))
    assert isinstance(encoder, HFSSLEncoder)
    assert encoder.model.config.apply_spec_augment is False
    assert not any("masked_spec_embed" in k for k in encoder.state_dict())
    encoder.train()  # no dropout and no masking: two training passes agree exactly
    waveform, lengths = batch()
    torch.testing.assert_close(encoder(waveform, lengths)[0], encoder(waveform, lengths)[0])


def test_batch_norm_mode_is_whole_tensor_statistics() -> None:
    """norm='batch' reproduces quirk Q5: one mean/var over the padded (B, T) and (B, T', D)."""
    encoder = hf_encoder("wav2vec2-layer", norm="batch")
    waveform, lengths = batch()
    features, _ = encoder(waveform, lengths)
    normed = torch.nn.functional.layer_norm(waveform, waveform.shape)
    raw = encoder.model(normed).last_hidden_state
    torch.testing.assert_close(features, torch.nn.functional.layer_norm(raw, raw.shape))


def test_utterance_norm_statistics() -> None:
    x = torch.randn(2, 6, 3) * 4 + 1
    out = standardise(x, torch.tensor([6, 4]), "utterance")
    valid = out[1, :4]
    assert valid.mean().abs() < 1e-5 and (valid.var(unbiased=False) - 1).abs() < 1e-3
    assert out[1, 4:].abs().max() == 0


def test_layer_option_returns_that_hidden_state() -> None:
    encoder = hf_encoder("wav2vec2-layer", layer=1, norm="none", input_norm=False)
    waveform = torch.randn(1, 4000)
    out = encoder.model(waveform, output_hidden_states=True)
    torch.testing.assert_close(encoder(waveform, torch.tensor([4000]))[0], out.hidden_states[1])


def test_local_directory_round_trip(tmp_path: Path) -> None:
    encoder = hf_encoder("wav2vec2-layer")
    encoder.model.save_pretrained(tmp_path / "w2v")
    loaded = build_audio_encoder(AudioEncoderConfig(kind="hf_ssl", hf_path=str(tmp_path / "w2v")))
    waveform, lengths = batch()
    torch.testing.assert_close(loaded.eval()(waveform, lengths)[0], encoder(waveform, lengths)[0])


def test_transcriber_checkpoint_does_not_need_the_directory(tmp_path: Path) -> None:
    hf_encoder("hubert").model.save_pretrained(tmp_path / "hubert")
    config = dataclasses.replace(
        preset("tiny", "audio"),
        audio_encoder=AudioEncoderConfig(kind="hf_ssl", hf_path=str(tmp_path / "hubert")),
    )
    model = Transcriber(config).eval()
    assert model.config.audio_encoder is not None and model.config.audio_encoder.hf_config
    save_model(model, tmp_path / "m.safetensors")
    shutil.rmtree(tmp_path / "hubert")
    loaded = load_model(tmp_path / "m.safetensors")
    waveform, lengths = batch()
    torch.testing.assert_close(
        loaded(audio=waveform, audio_lengths=lengths).logits,
        model(audio=waveform, audio_lengths=lengths).logits,
    )


def test_bad_directories_raise(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no config.json"):
        build_audio_encoder(AudioEncoderConfig(kind="hf_ssl", hf_path=str(tmp_path)))
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(CheckpointError, match="unsupported transformers model type"):
        build_audio_encoder(AudioEncoderConfig(kind="hf_ssl", hf_path=str(tmp_path)))


def test_progress_bars_disabled() -> None:
    import transformers

    hf_encoder("wav2vec2-layer")
    assert not transformers.utils.logging.is_progress_bar_enabled()


@pytest.mark.parametrize("n_samples", [400, 719, 720, 16000, 80000])
def test_logmel_frame_grid(n_samples: int) -> None:
    encoder = LogMelConformer(preset("tiny").audio_encoder)  # type: ignore[arg-type]
    features, lengths = encoder.eval()(torch.randn(1, n_samples), torch.tensor([n_samples]))
    assert features.shape == (1, n_ssl_frames(n_samples), 32)
    assert lengths.tolist() == [n_ssl_frames(n_samples)]
    assert ssl_frame_lengths(torch.tensor([n_samples])).item() == n_ssl_frames(n_samples)


@pytest.mark.parametrize(("n_mels", "periodicity_bins"), [(64, 0), (64, 24), (0, 24)])
def test_logmel_padding_never_changes_valid_frames(n_mels: int, periodicity_bins: int) -> None:
    torch.manual_seed(0)
    config = dataclasses.replace(
        preset("cpu").audio_encoder, n_mels=n_mels, periodicity_bins=periodicity_bins
    )
    encoder = LogMelConformer(config).eval()
    waveform, lengths = batch()
    waveform[1, int(lengths[1]) :] = 7.0  # whatever lies in the padding must not matter
    features, frame_lengths = encoder(waveform, lengths)
    alone, _ = encoder(waveform[1:, :9000], lengths[1:])
    n = int(frame_lengths[1])
    torch.testing.assert_close(features[1, :n], alone[0], atol=1e-4, rtol=0)


def test_mel_filterbank_peaks_follow_the_mel_scale() -> None:
    filters = mel_filterbank(40)
    assert filters.shape == (201, 40) and (filters >= 0).all()
    peaks = filters.argmax(axis=0)
    assert (peaks[1:] >= peaks[:-1]).all()
    # a 1 kHz sine puts most energy into the band whose peak is nearest 1 kHz (bin 25)
    t = torch.arange(16000) / 16000
    encoder = LogMelConformer(preset("tiny").audio_encoder)  # type: ignore[arg-type]
    assert encoder.frontend is not None
    logmel = encoder.frontend(torch.sin(2 * torch.pi * 1000 * t)[None])
    band = int(logmel[0].mean(0).argmax())
    assert abs(int(mel_filterbank(16)[:, band].argmax()) - 25) <= 3


def test_periodicity_peaks_at_the_voice_period_and_ignores_noise() -> None:
    frontend = PeriodicityFrontend(48)
    lag_hz = 16000 / frontend.lags.numpy()
    t = torch.arange(32000) / 16000
    for f0_hz in (110.0, 220.0, 523.25):
        # a voice-like tone: harmonics with falling amplitude
        tone = sum(0.3 / k * torch.sin(2 * torch.pi * k * f0_hz * t + k) for k in range(1, 6))
        salience = frontend(tone[None].float())[0, 10:-10]
        assert salience.shape[-1] == 48
        # YIN's rule: the shortest lag that is strongly periodic is the period (its multiples
        # are periodic too: they are the subharmonics' bins)
        first_hz = lag_hz[int(np.flatnonzero(salience.mean(0) > 0.9)[0])]
        assert abs(12 * math.log2(first_hz / f0_hz)) < 0.6  # within the bin spacing
        assert salience.max() > 0.9
    noise = frontend(0.1 * torch.randn(1, 32000, generator=torch.Generator().manual_seed(0)))
    assert noise.max() < 0.3
    assert frontend(torch.zeros(1, 32000)).abs().max() == 0


def test_an_encoder_needs_some_input_stream() -> None:
    with pytest.raises(ConfigError, match="n_mels or periodicity_bins"):
        dataclasses.replace(preset("cpu").audio_encoder, n_mels=0, periodicity_bins=0)
