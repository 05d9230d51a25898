"""A saved transcriber drives ``avsvt transcribe``'s FramePredictor interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avsvt.constants import n_ssl_frames
from avsvt.errors import CheckpointError
from avsvt.models import Transcriber, preset, save_model
from avsvt.models.predictor import load_predictor
from avsvt.transcribe.api import transcribe_array


@pytest.mark.parametrize("modality", ["audio", "video", "audio_visual"])
def test_predictor_gives_audio_grid_logits(modality: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Transcriber(preset("tiny", modality))
    save_model(model, tmp_path / "m.safetensors")
    predictor = load_predictor(tmp_path / "m.safetensors")
    assert predictor.uses_video == (modality != "audio")
    audio = (0.1 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32)
    video = np.random.default_rng(1).integers(0, 256, (75, 96, 96), dtype=np.uint8)
    logits = predictor.predict(audio, video)
    assert logits.shape == (n_ssl_frames(24000), 20) and logits.dtype == np.float32
    if modality == "audio_visual":  # without crops the video stream is zeros, not an error
        assert predictor.predict(audio, None).shape == logits.shape
    if modality == "audio":
        with torch.inference_mode():
            direct = model.eval()(audio=torch.from_numpy(audio)[None]).logits[0].numpy()
        np.testing.assert_allclose(logits, direct, atol=1e-6)
    notes = transcribe_array(audio, predictor, video=video)
    assert isinstance(notes, list)


def test_load_predictor_rejects_junk(tmp_path: Path) -> None:
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        load_predictor(tmp_path / "junk.safetensors")
