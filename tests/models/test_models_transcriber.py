"""Transcriber: shapes, padding, feature path, overfitting, checkpoints."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from avsvt.constants import AUDIO_FPS, VIDEO_FPS, n_ssl_frames
from avsvt.errors import CheckpointError, ConfigError
from avsvt.labels import notes_to_labels
from avsvt.models import (
    ModelConfig,
    Transcriber,
    load_checkpoint,
    load_model,
    preset,
    save_checkpoint,
    save_model,
)
from avsvt.models.heads import logits_to_posteriors, split_logits
from avsvt.notes import Note
from avsvt.train.losses import transcription_loss

MODALITIES = ["audio", "video", "audio_visual"]


def tiny(modality: str, seed: int = 0) -> Transcriber:
    torch.manual_seed(seed)
    return Transcriber(preset("tiny", modality)).eval()


def inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "audio": 0.1 * torch.randn(2, 16000, generator=g),
        "audio_lengths": torch.tensor([16000, 9000]),
        "video": torch.randint(0, 256, (2, 50, 96, 96), generator=g, dtype=torch.uint8),
        "video_lengths": torch.tensor([50, 28]),
    }


@pytest.mark.parametrize("modality", MODALITIES)
def test_forward_shapes_and_frame_rate(modality: str) -> None:
    model = tiny(modality)
    x = inputs()
    logits, lengths = model(**x)
    if modality == "video":
        assert logits.shape == (2, 50, 20) and lengths.tolist() == [50, 28]
        assert model.frame_rate == VIDEO_FPS
    else:
        assert logits.shape == (2, n_ssl_frames(16000), 20)
        assert lengths.tolist() == [n_ssl_frames(16000), n_ssl_frames(9000)]
        assert model.frame_rate == AUDIO_FPS
    n_params = sum(p.numel() for p in model.parameters())
    assert 5_000 < n_params < 100_000


@pytest.mark.parametrize("modality", MODALITIES)
def test_padding_never_changes_valid_frames(modality: str) -> None:
    model = tiny(modality)
    x = inputs()
    batch = model(**x)
    alone = model(
        audio=x["audio"][1:, :9000],
        audio_lengths=x["audio_lengths"][1:],
        video=x["video"][1:, :28],
        video_lengths=x["video_lengths"][1:],
    )
    n = int(batch.lengths[1])
    assert alone.logits.shape[1] == n
    torch.testing.assert_close(batch.logits[1, :n], alone.logits[0], atol=1e-4, rtol=0)


def test_features_path_equals_raw_path_and_none_video_is_zeros() -> None:
    model = tiny("audio_visual")
    x = inputs()
    features = model.encode(**x)
    assert features.video is not None and features.video.shape[1] == 50  # 50 fps, not yet aligned
    torch.testing.assert_close(model.forward_features(*features).logits, model(**x).logits)
    # the "A" counterpart: no video = zero video features through the same network
    assert features.audio is not None and features.audio_lengths is not None
    no_video = model.forward_features(features.audio, features.audio_lengths)
    zeros = model.forward_features(
        features.audio, features.audio_lengths, torch.zeros_like(features.video), x["video_lengths"]
    )
    torch.testing.assert_close(no_video.logits, zeros.logits)
    assert not torch.allclose(no_video.logits, model(**x).logits)


def test_audio_visual_without_video_encoder_runs_on_features() -> None:
    config = dataclasses.replace(preset("tiny", "audio_visual"), video_encoder=None)
    model = Transcriber(config).eval()
    assert model.video_encoder is None
    audio = torch.randn(3, 40, 32)
    video = torch.randn(3, 41, 32)  # one frame longer: cut to the audio length
    logits, lengths = model.forward_features(audio, torch.tensor([40, 30, 20]), video)
    assert logits.shape == (3, 40, 20) and lengths.tolist() == [40, 30, 20]


def test_parameter_groups_partition_the_model() -> None:
    model = tiny("audio_visual")
    encoder = {id(p) for p in model.encoder_parameters()}
    head = {id(p) for p in model.head_parameters()}
    assert not encoder & head
    assert encoder | head == {id(p) for p in model.parameters()}
    assert id(model.head.weight) in head


def test_overfits_a_few_frames() -> None:
    torch.manual_seed(0)
    model = Transcriber(preset("tiny", "audio")).train()
    audio = 0.1 * torch.randn(2, 16000, generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([16000, 12000])
    notes = [Note(0.1, 0.4, 60), Note(0.5, 0.8, 67)]
    n = n_ssl_frames(16000)
    labels = torch.from_numpy(np.stack([notes_to_labels(notes, n, AUDIO_FPS)] * 2)).long()
    label_lengths = torch.tensor([n, n_ssl_frames(12000)])
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.perf_counter()
    losses = []
    for _ in range(50):
        logits, out_lengths = model(audio=audio, audio_lengths=lengths)
        loss = transcription_loss(logits, out_lengths, labels, label_lengths)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert time.perf_counter() - start < 10


def test_head_layout_and_posteriors() -> None:
    logits = torch.zeros(4, 20)
    logits[:, 0] = 10.0
    logits[2, 2 + 3] = 5.0  # octave 3
    logits[2, 7 + 11] = 5.0  # pitch class 11
    parts = split_logits(logits)
    assert parts.octave.shape == (4, 5) and parts.pitch_class.shape == (4, 13)
    post = logits_to_posteriors(logits)
    assert post.octave[2] == 3 and post.pitch_class[2] == 11
    assert post.onset_prob[0] == pytest.approx(1 / (1 + np.exp(-10.0)))


# --- checkpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize("modality", MODALITIES)
def test_save_load_round_trip_gives_identical_outputs(modality: str, tmp_path: Path) -> None:
    model = tiny(modality, seed=5)
    path = tmp_path / "model.safetensors"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.config == model.config
    x = inputs(seed=2)
    torch.testing.assert_close(loaded(**x).logits, model(**x).logits, atol=0, rtol=0)


def test_checkpoint_keeps_training_state(tmp_path: Path) -> None:
    model = tiny("audio")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(audio=torch.randn(1, 4000)).logits.sum().backward()
    optimiser.step()
    extra = {
        "optimizer": optimiser.state_dict(),
        "epoch": 3,
        "history": [{"loss": 1.5}, {"loss": float("inf")}],
        "rng": torch.get_rng_state(),
        "pair": (1, "a"),
    }
    save_checkpoint(tmp_path / "ck.safetensors", model, extra)
    _, got = load_checkpoint(tmp_path / "ck.safetensors")
    assert got["epoch"] == 3 and got["pair"] == (1, "a") and got["history"][1]["loss"] == np.inf
    assert torch.equal(got["rng"], extra["rng"])
    assert sorted(got["optimizer"]["state"]) == sorted(optimiser.state_dict()["state"])
    fresh = torch.optim.Adam(model.parameters(), lr=1e-3)
    fresh.load_state_dict(got["optimizer"])  # int keys and tuples survived
    assert fresh.state_dict()["param_groups"][0]["betas"] == (0.9, 0.999)
    assert not list(tmp_path.glob("*.tmp*"))


def test_unstorable_extra_state_raises(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot store"):
        save_checkpoint(tmp_path / "ck.safetensors", tiny("audio"), {"x": object()})


def test_truncated_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save_model(tiny("audio"), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_wrong_kind_raises(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, path, metadata={"kind": "something-else"})
    with pytest.raises(CheckpointError, match="wrong checkpoint kind"):
        load_model(path)


def test_config_weight_mismatch_raises(tmp_path: Path) -> None:
    import json

    from safetensors.torch import load_file, save_file

    path = tmp_path / "model.safetensors"
    save_model(tiny("audio"), path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
    config = json.loads(metadata["model_config"])
    config["d_model"] = 48  # head and projection shapes no longer match the weights
    metadata["model_config"] = json.dumps(config)
    save_file(load_file(path), path, metadata=metadata)
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nope.safetensors")


def test_config_round_trip_and_unknown_keys() -> None:
    for name in ("tiny", "cpu", "large"):
        for modality in MODALITIES:
            config = preset(name, modality)
            assert ModelConfig.from_dict(config.to_dict()) == config
    data = preset("tiny", "audio").to_dict()
    data["audio_encoder"]["n_mel"] = 3
    with pytest.raises(ConfigError, match="unknown key.*n_mel"):
        ModelConfig.from_dict(data)
    with pytest.raises(ConfigError, match="modality"):
        ModelConfig.from_dict({**preset("tiny").to_dict(), "modality": "smell"})
    with pytest.raises(ConfigError, match="unknown model preset"):
        preset("huge")
    with pytest.raises(ConfigError, match="needs a fusion"):
        ModelConfig(modality="audio_visual", d_model=8, audio_encoder=preset("tiny").audio_encoder)
