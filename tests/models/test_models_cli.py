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
