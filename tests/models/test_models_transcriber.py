"""Transcriber: shapes, padding, feature path, overfitting, checkpoints."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from avsvt.constants import AUDIO_FPS, n_ssl_frames
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
def test_forward_shapes(modality: str) -> None:
    model = tiny(modality)
    x = inputs()
    logits, lengths = model(**x)
    if modality == "video":
        assert logits.shape == (2, 50, 20) and lengths.tolist() == [50, 28]
    else:
        # wav2vec2 grid (reference 1.2): floor((N - 400) / 320) + 1 frames
        assert logits.shape == (2, 49, 20) and lengths.tolist() == [49, 27]
    n_params = sum(p.numel() for p in model.parameters())
    assert 5_000 < n_params < 100_000


@pytest.mark.parametrize(
    "modality, frames_per_utterance", [("audio", 249), ("video", 250), ("audio_visual", 249)]
)
def test_frame_rate_is_what_a_forward_pass_gives_per_second(
    modality: str, frames_per_utterance: int
) -> None:
    # One 5-s utterance (reference 1.2: 80 000 samples -> 249 wav2vec2 frames; 250 video frames
    # at 50 fps). The model's frame rate must be its output frames per second of input, the grid
    # every caller uses to put times on frames.
    model = tiny(modality)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        logits, lengths = model(
            audio=0.1 * torch.randn(1, 80_000, generator=g),
            video=torch.randint(0, 256, (1, 250, 96, 96), generator=g, dtype=torch.uint8),
        )
    assert logits.shape[1] == frames_per_utterance and lengths.tolist() == [frames_per_utterance]
    assert model.frame_rate == pytest.approx(logits.shape[1] / 5.0, rel=1e-12)


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


def test_checkpoint_keeps_plain_json_metadata(tmp_path: Path) -> None:
    model = tiny("audio")
    metadata = {"epoch": 3, "valid": {"COnPOff": 0.25, "COn": 0.5}, "note": "best", "n": None}
    save_checkpoint(tmp_path / "ck.safetensors", model, metadata)
    _, got = load_checkpoint(tmp_path / "ck.safetensors")
    assert got == metadata
    save_model(model, tmp_path / "bare.safetensors")
    assert load_checkpoint(tmp_path / "bare.safetensors")[1] == {}
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.mark.parametrize("bad", [{"x": object()}, {"t": torch.zeros(2)}, {"loss": float("nan")}])
def test_metadata_that_is_not_plain_json_raises(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(TypeError, match="plain JSON"):
        save_checkpoint(tmp_path / "ck.safetensors", tiny("audio"), bad)
    assert not (tmp_path / "ck.safetensors").exists()


def test_a_model_file_of_the_old_layout_with_extra_state_still_loads(tmp_path: Path) -> None:
    """Files written before the metadata entry had ``extra`` (a JSON skeleton + tensors)."""
    import json

    from safetensors.torch import save_file

    model = tiny("audio", seed=3)
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    tensors["extra.0"] = torch.zeros(3)
    header = {
        "format_version": "1",
        "avsvt_version": "0.1.0",
        "kind": "avsvt-transcriber",
        "model_config": json.dumps(model.config.to_dict()),
        "extra": json.dumps({"__dict__": [["rng", {"__tensor__": "extra.0"}]]}),
    }
    save_file(tensors, tmp_path / "old.safetensors", metadata=header)
    loaded, metadata = load_checkpoint(tmp_path / "old.safetensors")
    assert metadata == {}
    x = inputs(seed=1)
    torch.testing.assert_close(loaded(**x).logits, model(**x).logits, atol=0, rtol=0)


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


# --- hostile model files through the CLI (issue 15 items 9 and 19) -----------------------------


def rewritten(tmp_path: Path, name: str, **header: str) -> Path:
    """A tiny audio model file whose header entries are replaced by ``header``."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    good = tmp_path / "good.safetensors"
    if not good.exists():
        save_model(tiny("audio"), good)
    with safe_open(str(good), framework="pt") as handle:
        metadata = dict(handle.metadata())
    path = tmp_path / name
    save_file(load_file(good), path, metadata={**metadata, **header})
    return path


def changed_config(**audio_encoder: object) -> str:
    config = tiny("audio").config.to_dict()
    config["audio_encoder"].update(audio_encoder)
    return json.dumps(config)


@pytest.fixture
def song(tmp_path: Path) -> Path:
    import soundfile as sf

    from avsvt.testing import synth_vocal

    path = tmp_path / "song.wav"
    sf.write(path, synth_vocal([Note(0.2, 0.7, 60.0)], 16000), 16000)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    from avsvt.cli import main

    code = main([str(a) for a in args])
    return code, capsys.readouterr().err.strip()


DEEP = "[" * 50_000 + "]" * 50_000  # Python's json module: RecursionError
BAD_HEADERS = {
    "model_config nested 50 000 deep": (
        {"model_config": '{"modality": ' + DEEP + "}"},
        "damaged checkpoint: model_config is JSON nested too deeply to read",
    ),
    "metadata nested 50 000 deep": (
        {"metadata": DEEP},
        "damaged checkpoint: metadata is JSON nested too deeply to read",
    ),
    "hf_config nested 900 deep (parses, then transformers recurses)": (
        {
            "model_config": changed_config(
                kind="hf_ssl",
                hf_config={"model_type": "wav2vec2", "x": json.loads("[" * 900 + "]" * 900)},
            )
        },
        "damaged checkpoint: model_config nests more than 32 levels deep",
    ),
    "unsupported transformers model type": (
        {"model_config": changed_config(kind="hf_ssl", hf_config={"model_type": "bert"})},
        "stored model_config is invalid: audio_encoder.hf_config: transformers model type 'bert' "
        "is not supported",
    ),
    "transformers rejects a field": (
        {
            "model_config": changed_config(
                kind="hf_ssl", hf_config={"model_type": "wav2vec2", "hidden_size": "abc"}
            )
        },
        "stored model_config cannot be built (",
    ),
    "a config far larger than the file (1e10 mel bands)": (
        {"model_config": changed_config(n_mels=10**10)},
        "audio_encoder.n_mels is 10,000,000,000, more than the file's",
    ),
    "a config of more layers than the file has tensors": (
        {"model_config": changed_config(n_layers=10**7)},
        "audio_encoder.n_layers is 10,000,000, more than the file's",
    ),
    "a model config check naming only a field": (
        {"model_config": changed_config(dim=33)},
        "stored model_config is invalid: audio_encoder: dim 33 not divisible by n_heads",
    ),
    "another format_version": ({"format_version": "9" * 5000}, "unsupported format_version"),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_a_hostile_model_file_header_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], song: Path, case: str
) -> None:
    header, expected = BAD_HEADERS[case]
    path = rewritten(tmp_path, "bad.safetensors", **header)
    for args in (
        ["model", "inspect", path],
        ["transcribe", song, "--model", path, "-o", tmp_path / "out"],
    ):
        code, err = run_cli(capsys, *args)
        assert code == 1 and len(err.splitlines()) == 1, err
        assert err.startswith(f"avsvt: error: {path}: ") and expected in err, err
    assert not (tmp_path / "out" / "song.csv").exists()


@pytest.mark.parametrize("entry", ["extra", "metadata"])
def test_header_entries_are_plain_json_never_decoded_into_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], song: Path, entry: str
) -> None:
    """``{"__dict__": 5}`` was a TypeError when ``extra`` was decoded into Python objects: only
    ``metadata`` is read, as plain JSON, and any other entry (``extra``) is ignored."""
    path = rewritten(tmp_path, "odd.safetensors", **{entry: json.dumps({"__dict__": 5})})
    assert run_cli(capsys, "model", "inspect", path) == (0, "")
    code, err = run_cli(capsys, "transcribe", song, "--model", path, "-o", tmp_path / "out")
    assert code == 0, err
    assert load_checkpoint(path)[1] == ({"__dict__": 5} if entry == "metadata" else {})
