"""A :class:`Transcriber` checkpoint as the ``FramePredictor`` that ``avsvt transcribe`` uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from avsvt.constants import AUDIO_FPS, VIDEO_FPS, n_ssl_frames
from avsvt.models.checkpoint import load_model
from avsvt.models.transcriber import Transcriber


class TranscriberPredictor:
    """Runs a transcriber on one window of audio (+ crops) and returns (T, 20) logits.

    Output frames are always on the audio grid (49.8 fps, T = n_ssl_frames(samples)); a video
    model's 50 fps frames are picked by nearest time.
    """

    def __init__(self, model: Transcriber) -> None:
        self.model = model.eval()

    @property
    def uses_video(self) -> bool:
        """True when the model takes mouth crops."""
        return self.model.uses_video

    @torch.inference_mode()
    def predict(
        self, audio: npt.NDArray[np.float32], video: npt.NDArray[np.uint8] | None
    ) -> npt.NDArray[np.float32]:
        """(samples,) 16 kHz audio [+ (T_video, H, W) uint8 crops at 50 fps] -> (T, 20) logits."""
        n_frames = n_ssl_frames(len(audio))
        crops = None if video is None or len(video) == 0 else torch.from_numpy(video)[None]
        if self.model.modality == "video":
            if crops is None:
                return np.zeros((n_frames, 20), dtype=np.float32)
            logits = self.model(video=crops).logits[0]
            index = np.round(np.arange(n_frames) * VIDEO_FPS / AUDIO_FPS).astype(np.int64)
            picked: npt.NDArray[np.float32] = (
                logits[np.clip(index, 0, len(logits) - 1)].numpy().astype(np.float32)
            )
            return picked
        wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        out = self.model(audio=wave, video=crops if self.uses_video else None)
        result: npt.NDArray[np.float32] = out.logits[0].numpy().astype(np.float32)
        return result


def load_predictor(path: str | Path) -> TranscriberPredictor:
    """Load a transcriber checkpoint as a predictor (raises CheckpointError on bad files)."""
    return TranscriberPredictor(load_model(path))
