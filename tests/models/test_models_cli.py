"""``avsvt model inspect`` on every supported kind and on junk."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from avhubert_synthetic import fairseq_keys, write_checkpoint

from avsvt.cli import main
from avsvt.models import Transcriber, preset, save_model


def test_inspect_our_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = Transcriber(preset("tiny", "audio_visual"))
    save_model(model, tmp_path / "m.safetensors")
    assert main(["model", "inspect", str(tmp_path / "m.safetensors")]) == 0
    out = capsys.readouterr().out
    n = sum(p.numel() for p in model.state_dict().values())
    assert "avsvt-transcriber" in out and "audio_visual" in out and f"{n:,}" in out


def test_inspect_transformers_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.for_model(
        "wavlm", hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, conv_dim=(16,) * 7,
    )  # fmt: skip
    model = AutoModel.from_config(config)
    model.save_pretrained(tmp_path / "wavlm")
    assert main(["model", "inspect", str(tmp_path / "wavlm")]) == 0
    out = capsys.readouterr().out
    assert "wavlm" in out and "2 layers" in out
    # SpecAugment is off when we load it, so its mask embedding is not part of the model
    n = sum(p.numel() for name, p in model.named_parameters() if name != "masked_spec_embed")
    assert f"{n:,}" in out


def test_inspect_avhubert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_checkpoint(tmp_path / "large_vox_iter5.pt", monkeypatch)
    assert main(["model", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "AV-HuBERT" in out and "D 32, 2 layers, 4 heads" in out
    total = sum(math.prod(shape) for shape in fairseq_keys().values())
    assert f"{total:,} in file" in out


@pytest.mark.parametrize("content", [b"", b"hello world", b"\x00" * 64])
def test_inspect_junk_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "junk.bin"
    path.write_bytes(content)
    assert main(["model", "inspect", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err


def test_inspect_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "inspect", str(tmp_path / "nope")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_inspect_f0_notes_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It used to say "not a readable safetensors checkpoint" (issue 15 item 19)."""
    from avsvt.f0notes import F0NoteSettings, f0_model_json

    info = {
        "fitted_on": "corpus: 2 valid songs, 8 s, clean vocals",
        "candidates": 864,
        "valid_f1": {"COnPOff": 0.61, "COnP": 0.7},
        "test_f1": {"COnPOff": 0.5},
    }
    path = tmp_path / "model.json"
    path.write_text(f0_model_json(F0NoteSettings(hold_frames=3), info))
    assert main(["model", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "kind: avsvt-f0notes (version 1): f0 note tracker" in out
    assert "median_frames 5, split_semitones 0.7, hold_frames 3, reference_frames 1000" in out
    assert "fitted on: corpus: 2 valid songs, 8 s, clean vocals (best of 864" in out
    assert "validation F1: COnPOff 0.610, COnP 0.700" in out and "test F1: COnPOff 0.500" in out
    bare = tmp_path / "bare.json"
    bare.write_text(f0_model_json(F0NoteSettings(), {}))
    assert main(["model", "inspect", str(bare)]) == 0
    assert "fitted on: not recorded" in capsys.readouterr().out


def tiny_wav2vec2(path: Path) -> object:
    """A random wav2vec2 (stable layer norm, SpecAugment on: it has a masking embedding)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.for_model(
        "wav2vec2", hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, feat_extract_norm="layer", do_stable_layer_norm=True,
    )  # fmt: skip
    model = AutoModel.from_config(config)
    model.save_pretrained(path)
    return model


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def test_inspect_wav2vec2_directory_reports_what_is_on_disk_and_what_is_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offline: None
) -> None:
    """It reported only the values avsvt keeps (masked_spec_embed dropped) as the directory's."""
    from safetensors import safe_open

    tiny_wav2vec2(tmp_path / "w2v")
    with safe_open(str(tmp_path / "w2v" / "model.safetensors"), framework="pt") as handle:
        on_disk = {k: math.prod(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118
    total, mask = sum(on_disk.values()), on_disk["masked_spec_embed"]
    assert mask == 32
    assert main(["model", "inspect", str(tmp_path / "w2v")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no transformers load report
    out = captured.out
    assert "kind: transformers wav2vec2 (Wav2Vec2Model)" in out
    assert f"parameters: {total:,} in the directory, {total - mask:,} used by avsvt" in out
    assert f"not used: {mask:,} values in 1 tensor(s): masked_spec_embed ({mask:,})" in out
    assert "SpecAugment" in out


@pytest.mark.parametrize("damage", ["deep config", "sizes differ", "truncated weights", "bert"])
def test_inspect_damaged_transformers_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offline: None, damage: str
) -> None:
    import json

    folder = tmp_path / "w2v"
    tiny_wav2vec2(folder)
    config = json.loads((folder / "config.json").read_text())
    weights = folder / "model.safetensors"
    expected = {
        "deep config": "cannot read config.json (JSON nested too deeply)",
        "sizes differ": "weights do not match config.json: encoder.layers.0.feed_forward",
        "truncated weights": "cannot load transformers model",
        "bert": "unsupported transformers model type 'bert'",
    }[damage]
    if damage == "deep config":
        (folder / "config.json").write_text('{"x": ' + "[" * 50_000 + "]" * 50_000 + "}")
    elif damage == "sizes differ":
        (folder / "config.json").write_text(json.dumps({**config, "intermediate_size": 48}))
    elif damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:1000])
    else:
        (folder / "config.json").write_text(json.dumps({**config, "model_type": "bert"}))
    assert main(["model", "inspect", str(folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"avsvt: error: {folder}: ") and expected in err, err
