"""One model class for every modality: :class:`Transcriber`.

* ``audio``: audio encoder -> [Linear to d_model] -> head, 49.8 fps.
* ``video``: video encoder -> [Linear to d_model] -> head, 50 fps.
* ``audio_visual``: both encoders; video features are aligned to the audio frame count
  (truncated or zero-padded, reference 6.4) -> fusion -> head, 49.8 fps. Without video (None) the
  video stream is zeros: the reference's "A" counterpart through the same network. A model whose
  config says ``takes_video: false`` (the "A" system as trained) always sees zeros.

Two entry points:

* :meth:`Transcriber.forward` from raw inputs (waveform and/or mouth crops);
* :meth:`Transcriber.forward_features` from precomputed encoder features (stage 2): what
  :meth:`Transcriber.encode` returns, e.g. cached per song on disk.

Parameter groups for the training loop: :meth:`Transcriber.encoder_parameters` (the encoders) and
:meth:`Transcriber.head_parameters` (projections, fusion, head).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch
from torch import nn

from avsvt.layout import N_OUTPUTS
from avsvt.models.audio import AudioEncoder, HFSSLEncoder, build_audio_encoder
from avsvt.models.avhubert import (
    AVHubertVideoEncoder,
    load_fairseq_weights,
    read_fairseq_avhubert,
)
from avsvt.models.common import align_frames, uniform_frames, zero_padding
from avsvt.models.config import ModelConfig
from avsvt.models.fusion import ConcatFusion, RCAFusion, build_fusion
from avsvt.models.heads import TranscriptionHead


class TranscriberOutput(NamedTuple):
    """Logits (B, T, 20) and (B,) valid frames per item; unpacks as ``logits, lengths``."""

    logits: torch.Tensor
    lengths: torch.Tensor


class EncoderFeatures(NamedTuple):
    """Encoder outputs, what stage 2 consumes (None for an absent stream).

    Attributes:
        audio: (B, Ta, Da) at 49.8 fps.
        audio_lengths: (B,).
        video: (B, Tv, Dv) at 50 fps (not yet aligned to the audio).
        video_lengths: (B,).
    """

    audio: torch.Tensor | None
    audio_lengths: torch.Tensor | None
    video: torch.Tensor | None
    video_lengths: torch.Tensor | None


def _projection(in_dim: int, out_dim: int) -> nn.Module:
    return nn.Identity() if in_dim == out_dim else nn.Linear(in_dim, out_dim)


class Transcriber(nn.Module):
    """Singing transcription model of any modality, built from a :class:`ModelConfig`.

    Args:
        config: The architecture.
        load_pretrained: Load external weights named in the config (``hf_path`` of an hf_ssl
            audio encoder, ``checkpoint_path`` of the video encoder). Checkpoint loading passes
            False: everything comes from the checkpoint itself.
    """

    def __init__(self, config: ModelConfig, *, load_pretrained: bool = True) -> None:
        super().__init__()
        self.audio_encoder: AudioEncoder | None = None
        self.video_encoder: AVHubertVideoEncoder | None = None
        self.fusion: RCAFusion | ConcatFusion | None = None
        modality = config.modality
        audio_dim = video_dim = config.d_model
        if modality in ("audio", "audio_visual"):
            assert config.audio_encoder is not None
            self.audio_encoder = build_audio_encoder(
                config.audio_encoder, load_pretrained=load_pretrained
            )
            audio_dim = self.audio_encoder.output_dim
            if isinstance(self.audio_encoder, HFSSLEncoder):
                config = dataclasses.replace(
                    config, audio_encoder=self.audio_encoder.resolved_config()
                )
        if config.video_encoder is not None and modality in ("video", "audio_visual"):
            video_config = config.video_encoder
            self.video_encoder = AVHubertVideoEncoder(video_config)
            if load_pretrained and video_config.checkpoint_path is not None:
                checkpoint = read_fairseq_avhubert(video_config.checkpoint_path)
                load_fairseq_weights(self.video_encoder, checkpoint, video_config.checkpoint_path)
            video_dim = video_config.dim
        self.config = config
        self.audio_proj = _projection(audio_dim, config.d_model) if modality != "video" else None
        self.video_proj = _projection(video_dim, config.d_model) if modality != "audio" else None
        if modality == "audio_visual":
            assert config.fusion is not None
            self.fusion = build_fusion(config.d_model, config.fusion)
        self.head = TranscriptionHead(config.d_model)

    @property
    def modality(self) -> str:
        """``audio``, ``video`` or ``audio_visual``."""
        return self.config.modality

    @property
    def frame_rate(self) -> float:
        """Output frames per second of the stitched grid (49.8 audio/AV, 50 video)."""
        return self.config.frame_rate

    @property
    def uses_video(self) -> bool:
        """True when the model consumes mouth crops (an "A" system trained on zeros does not)."""
        return self.config.uses_video

    def encoder_parameters(self) -> list[nn.Parameter]:
        """Parameters of the encoders (fine-tuned with their own optimiser, or frozen)."""
        params: list[nn.Parameter] = []
        for encoder in (self.audio_encoder, self.video_encoder):
            if encoder is not None:
                params.extend(encoder.parameters())
        return params

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters of everything after the encoders (projections, fusion, head)."""
        encoder_ids = {id(p) for p in self.encoder_parameters()}
        return [p for p in self.parameters() if id(p) not in encoder_ids]

    def encode(
        self,
        *,
        audio: torch.Tensor | None = None,
        audio_lengths: torch.Tensor | None = None,
        video: torch.Tensor | None = None,
        video_lengths: torch.Tensor | None = None,
    ) -> EncoderFeatures:
        """Run the encoders the modality uses on raw inputs.

        Args:
            audio: (B, N) 16 kHz waveform (audio / audio_visual).
            audio_lengths: (B,) valid samples (default: all).
            video: (B, Tv, H, W) uint8 crops at 50 fps (video; optional for audio_visual).
            video_lengths: (B,) valid frames (default: all).
        """
        audio_out = audio_len = video_out = video_len = None
        if self.audio_encoder is not None:
            if audio is None:
                raise ValueError(f"a {self.modality} model needs audio")
            if audio_lengths is None:
                audio_lengths = torch.full((audio.shape[0],), audio.shape[1], device=audio.device)
            audio_out, audio_len = self.audio_encoder(audio, audio_lengths)
        if video is not None and self.video_encoder is not None and self.uses_video:
            if video_lengths is None:
                video_lengths = torch.full((video.shape[0],), video.shape[1], device=video.device)
            video_out, video_len = self.video_encoder(video, video_lengths)
        elif self.modality == "video":
            raise ValueError("a video model needs video")
        return EncoderFeatures(audio_out, audio_len, video_out, video_len)

    def forward_features(
        self,
        audio: torch.Tensor | None = None,
        audio_lengths: torch.Tensor | None = None,
        video: torch.Tensor | None = None,
        video_lengths: torch.Tensor | None = None,
        *,
        video_missing: torch.Tensor | None = None,
    ) -> TranscriberOutput:
        """Projections, fusion and head on encoder features (stage 2).

        Args:
            audio: (B, Ta, Da) audio features (audio / audio_visual).
            audio_lengths: (B,) valid audio frames (default: all).
            video: (B, Tv, Dv) video features at 50 fps; for audio_visual they are aligned to
                Ta (truncated / zero-padded); None = zeros (the "A" counterpart).
            video_lengths: (B,) valid video frames (default: all).
            video_missing: (B, Tv) bool, frames without a face (audio_visual): the fusion gets
                no video there, as the "A" system never does (projected video 0), so it
                transcribes those frames from the audio. None = every frame has a face.

        Returns:
            logits (B, T, 20) and lengths (B,), T = Ta (Tv for video models).
        """
        if video is not None and video_lengths is None:
            video_lengths = torch.full((video.shape[0],), video.shape[1], device=video.device)
        if self.modality == "video":
            if video is None or video_lengths is None or self.video_proj is None:
                raise ValueError("a video model needs video features")
            assert video.ndim == 3, f"video features {tuple(video.shape)}"
            return TranscriberOutput(self.head(self.video_proj(video)), video_lengths)
        if audio is None or self.audio_proj is None:
            raise ValueError(f"a {self.modality} model needs audio features")
        assert audio.ndim == 3, f"audio features {tuple(audio.shape)}"
        if audio_lengths is None:
            audio_lengths = torch.full((audio.shape[0],), audio.shape[1], device=audio.device)
        h = self.audio_proj(audio)
        if self.fusion is not None:
            assert self.video_proj is not None
            if video is None or not self.uses_video:  # the "A" system: zeros, as trained
                v = torch.zeros_like(h)
            else:
                assert video_lengths is not None
                v = self.video_proj(zero_padding(video, video_lengths))
                if video_missing is not None:
                    v = v * ~video_missing[:, : v.shape[1], None]
                v = zero_padding(align_frames(v, h.shape[1]), audio_lengths)
            h = self.fusion(h, v, audio_lengths)
        logits = self.head(h)
        assert logits.shape == (audio.shape[0], audio.shape[1], N_OUTPUTS), f"{tuple(logits.shape)}"
        return TranscriberOutput(logits, audio_lengths)

    def forward(
        self,
        *,
        audio: torch.Tensor | None = None,
        audio_lengths: torch.Tensor | None = None,
        video: torch.Tensor | None = None,
        video_lengths: torch.Tensor | None = None,
    ) -> TranscriberOutput:
        """Raw inputs -> logits.

        Args:
            audio: (B, N) 16 kHz waveform, right zero-padded (audio / audio_visual).
            audio_lengths: (B,) valid samples (default: all).
            video: (B, Tv, H, W) uint8 mouth crops at 50 fps (video; audio_visual: None = zeros,
                and a uniform crop, the front end's frame without a face, is no video there).
            video_lengths: (B,) valid frames (default: all).

        Returns:
            logits (B, T, 20) at :attr:`frame_rate` and (B,) valid frames, T = n_ssl_frames(N)
            (audio / audio_visual) or Tv (video).
        """
        features = self.encode(
            audio=audio, audio_lengths=audio_lengths, video=video, video_lengths=video_lengths
        )
        missing = None
        if video is not None and self.fusion is not None and self.uses_video:
            missing = uniform_frames(video)  # the front end's crops for frames without a face
        return self.forward_features(*features, video_missing=missing)
