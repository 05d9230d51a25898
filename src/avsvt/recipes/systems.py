"""Transcribers as trainable systems: the forward functions the training loop calls, per stage.

Stage 1 trains a whole :class:`~avsvt.models.Transcriber` on raw streams (waveforms or mouth
crops). Stage 2 trains its projections, fusion and head on precomputed encoder features, through
:class:`FeatureModel` so that DistributedDataParallel sees an ordinary ``forward``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from avsvt.evaluation import Evaluation
from avsvt.metrics import METRICS
from avsvt.models import Transcriber, save_checkpoint
from avsvt.train.datasets import Batch
from avsvt.train.loop import Trainable
from avsvt.train.losses import transcription_loss


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu`` / ``cuda`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _raw_forward(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    logits, lengths = model(
        audio=batch.audio,
        audio_lengths=batch.audio_lengths,
        video=batch.video,
        video_lengths=batch.video_lengths,
    )
    return logits, lengths


def stage1_trainable(model: Transcriber) -> Trainable:
    """A whole transcriber on raw inputs: encoders (Adam) and head (Adadelta)."""
    return Trainable(
        model,
        head_parameters=model.head_parameters(),
        encoder_parameters=model.encoder_parameters(),
        forward=_raw_forward,
        loss=transcription_loss,
        fps=model.frame_rate,
    )


class FeatureModel(nn.Module):
    """A transcriber run from encoder features (its encoders stay frozen and unused).

    Args:
        transcriber: The model; its encoders' parameters are frozen here.
        use_video: False for the "A" system: the video stream is zeros (reference 6.7).
    """

    def __init__(self, transcriber: Transcriber, *, use_video: bool) -> None:
        super().__init__()
        self.transcriber = transcriber
        self.use_video = use_video
        for p in transcriber.encoder_parameters():
            p.requires_grad_(False)
        if not use_video and transcriber.video_proj is not None:
            for p in transcriber.video_proj.parameters():
                p.requires_grad_(False)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """What stage 2 trains: projections, fusion and head (those in use)."""
        return [p for p in self.transcriber.head_parameters() if p.requires_grad]

    def forward(
        self,
        audio: torch.Tensor,
        audio_lengths: torch.Tensor,
        video: torch.Tensor | None = None,
        video_lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, T, D) -> logits (B, T, 20) and lengths."""
        if not self.use_video:
            video = video_lengths = None
        out = self.transcriber.forward_features(audio, audio_lengths, video, video_lengths)
        return out.logits, out.lengths


def _feature_forward(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    assert batch.audio is not None and batch.audio_lengths is not None
    logits, lengths = model(batch.audio, batch.audio_lengths, batch.video, batch.video_lengths)
    return logits, lengths


def stage2_trainable(model: FeatureModel) -> Trainable:
    """Stage 2: one Adadelta over projections, fusion and head (reference 6.6)."""
    return Trainable(
        model,
        head_parameters=model.trainable_parameters(),
        encoder_parameters=(),
        forward=_feature_forward,
        loss=transcription_loss,
        fps=model.transcriber.frame_rate,
    )


def best_model_saver(path: Path) -> Callable[[nn.Module, Evaluation, int], None]:
    """An ``on_best`` callback for the training loop that keeps the best model at ``path``.

    It writes the transcriber (no optimiser state) with its epoch and validation F1 scores.
    """

    def save(module: nn.Module, evaluation: Evaluation, epoch: int) -> None:
        model = module.transcriber if isinstance(module, FeatureModel) else module
        assert isinstance(model, Transcriber)
        scores = {metric: getattr(evaluation.mean, metric).f1 for metric in METRICS}
        save_checkpoint(path, model, {"epoch": epoch, "valid": scores})

    return save
