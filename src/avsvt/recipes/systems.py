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
from avsvt.models.apply import Batch, forward_raw
from avsvt.train.losses import transcription_loss
from avsvt.train.trainable import Trainable

MIN_MISSING_FRACTION = 0.25
"""The shortest stretch of lost face drawn in training, as a fraction of the utterance."""


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu`` / ``cuda`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def stage1_trainable(model: Transcriber) -> Trainable:
    """A whole transcriber on raw inputs: encoders (Adam) and head (Adadelta)."""
    return Trainable(
        model,
        head_parameters=model.head_parameters(),
        encoder_parameters=model.encoder_parameters(),
        forward=forward_raw,
        loss=transcription_loss,
        fps=model.frame_rate,
        model_config=model.config.to_dict(),
    )


def drop_modalities(
    audio: torch.Tensor, video: torch.Tensor, drop_video_p: float, drop_audio_p: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero whole items' video (probability ``drop_video_p``), else their audio (``drop_audio_p``).

    Args:
        audio: (B, Ta, Da) audio features.
        video: (B, Tv, Dv) video features.
        drop_video_p: Per-item probability of zero video.
        drop_audio_p: Per-item probability of zero audio, among items that keep their video
            (an item never loses both).

    Returns:
        The two feature tensors, unchanged where nothing was dropped.
    """
    if drop_video_p <= 0.0 and drop_audio_p <= 0.0:
        return audio, video
    draw = torch.rand(audio.shape[0], device=audio.device)
    no_video = draw < drop_video_p
    no_audio = ~no_video & (draw < drop_video_p + (1.0 - drop_video_p) * drop_audio_p)
    keep_video = (~no_video).to(video.dtype)[:, None, None]
    keep_audio = (~no_audio).to(audio.dtype)[:, None, None]
    return audio * keep_audio, video * keep_video


def missing_video_spans(
    lengths: torch.Tensor, n_frames: int, probability: float
) -> torch.Tensor | None:
    """Frames whose face is lost, drawn for training: (B, n_frames) bool, or None.

    Each item loses its face with probability ``probability``, over one stretch of
    ``U(MIN_MISSING_FRACTION, 1)`` of its valid frames at a uniform place: a singer turns away,
    a hand or the microphone covers the mouth, or the face is never found. Draws come from
    torch's global CPU generator (seeded by the training loop, saved with its checkpoints), on
    any device; the mask is on ``lengths``' device.
    """
    if probability <= 0.0:
        return None
    device = lengths.device
    lengths = lengths.cpu()
    batch = lengths.shape[0]
    lost = torch.rand(batch) < probability
    fraction = MIN_MISSING_FRACTION + (1.0 - MIN_MISSING_FRACTION) * torch.rand(batch)
    span = (fraction * lengths.float()).round().long().clamp(min=1)
    start = (torch.rand(batch) * (lengths - span + 1).clamp(min=1).float()).long()
    frames = torch.arange(n_frames)[None, :]
    inside = (frames >= start[:, None]) & (frames < (start + span)[:, None])
    return (inside & lost[:, None]).to(device)


class FeatureModel(nn.Module):
    """A transcriber run from encoder features (its encoders stay frozen and unused).

    A transcriber whose config has ``takes_video: false`` is the "A" system: its video stream is
    zeros (reference 6.7) and its video projection is not trained.

    Modality dropout (AV systems, training only, as AV-HuBERT trains): each item's video
    features are zeroed with probability ``drop_video_p`` and otherwise its audio features with
    probability ``drop_audio_p``, so the fusion learns to transcribe from either stream alone and
    to weigh them when both are present, rather than leaning on whichever stream its training
    condition favoured. Draws come from torch's global generator (seeded by the training loop).

    Args:
        transcriber: The model; its encoders' parameters are frozen here.
        drop_video_p: Per-item probability of zeroing the video features in training.
        drop_audio_p: Per-item probability of zeroing the audio features in training (among the
            items whose video was kept).
        missing_video_p: Per-item probability that a stretch of its face is lost in training
            (:func:`missing_video_spans`), so the fusion learns to transcribe from the audio
            where a real video shows no face.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        *,
        drop_video_p: float = 0.0,
        drop_audio_p: float = 0.0,
        missing_video_p: float = 0.0,
    ) -> None:
        super().__init__()
        self.transcriber = transcriber
        self.drop_video_p = drop_video_p
        self.drop_audio_p = drop_audio_p
        self.missing_video_p = missing_video_p
        for p in transcriber.encoder_parameters():
            p.requires_grad_(False)
        if not transcriber.uses_video and transcriber.video_proj is not None:
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
        """Features (B, T, D) -> logits (B, T, 20) and lengths (the transcriber's own rule)."""
        missing = None
        if self.training and video is not None and self.transcriber.uses_video:
            audio, video = drop_modalities(audio, video, self.drop_video_p, self.drop_audio_p)
            if video_lengths is not None:
                missing = missing_video_spans(video_lengths, video.shape[1], self.missing_video_p)
        out = self.transcriber.forward_features(
            audio, audio_lengths, video, video_lengths, video_missing=missing
        )
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
        model_config=model.transcriber.config.to_dict(),
        model_prefix="transcriber.",
    )


def best_model_saver(path: Path) -> Callable[[nn.Module, Evaluation, int], None]:
    """An ``on_best`` callback for the training loop that keeps the best model at ``path``.

    It writes the transcriber (no optimiser state) with its epoch and validation F1 scores as the
    file's JSON metadata (``load_checkpoint(path)[1]``: ``{"epoch": 3, "valid": {"COn": ...}}``).
    """

    def save(module: nn.Module, evaluation: Evaluation, epoch: int) -> None:
        model = module.transcriber if isinstance(module, FeatureModel) else module
        assert isinstance(model, Transcriber)
        scores = {metric: float(getattr(evaluation.mean, metric).f1) for metric in METRICS}
        save_checkpoint(path, model, {"epoch": epoch, "valid": scores})

    return save
