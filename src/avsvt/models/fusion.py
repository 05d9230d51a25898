"""Audio-visual fusion: the reference's residual cross-attention network and a concat ablation.

RCA (reference section 6.5, TOMM version): sinusoidal positions are added to both streams; layer 1
keeps the audio stream as key/value and residual, layer 2 the video stream; each layer computes

    h = LN1(x + alpha * MHA(x, x, x) + (1 - alpha) * MHA(other, x, x))
    out = LN2(h + FFN(h)),   FFN = Linear -> ReLU -> Dropout -> Linear

with ONE ``nn.MultiheadAttention`` shared by the self- and cross-attention of the layer; the fused
output is ``out_audio + out_video``. Fixed on purpose (quirk Q17): key-padding masks are applied
and positions are computed for any length (no 2500-frame table). Both streams must already have
the same length (:func:`avsvt.models.common.align_frames`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from avsvt.models.common import valid_mask, zero_padding
from avsvt.models.config import FusionConfig


def sinusoidal_positions(
    n_frames: int, dim: int, device: torch.device | None = None
) -> torch.Tensor:
    """(n_frames, dim) table: PE[p, 2k] = sin(p / 10000^(2k/dim)), PE[p, 2k+1] = cos(same)."""
    position = torch.arange(n_frames, dtype=torch.float32, device=device)[:, None]
    div = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(n_frames, dim, device=device)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : dim // 2]
    return table


class RCALayer(nn.Module):
    """One residual cross-attention layer (post-norm, shared attention module)."""

    def __init__(self, dim: int, config: FusionConfig) -> None:
        super().__init__()
        self.alpha = config.alpha
        self.attention = nn.MultiheadAttention(
            dim, config.n_heads, dropout=config.dropout, batch_first=True
        )
        self.norm1 = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.norm2 = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.ffn = nn.Sequential(
            nn.Linear(dim, config.ffn_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.ffn_dim, dim),
        )

    def forward(self, x: torch.Tensor, other: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Key/value stream (B, T, D), query stream (B, T, D), (B, T) True=padded -> (B, T, D)."""
        self_att = self.attention(x, x, x, key_padding_mask=padding, need_weights=False)[0]
        cross = self.attention(other, x, x, key_padding_mask=padding, need_weights=False)[0]
        h = self.norm1(x + self.alpha * self_att + (1.0 - self.alpha) * cross)
        return torch.as_tensor(self.norm2(h + self.ffn(h)))


class RCAFusion(nn.Module):
    """Two RCA layers (audio stream, video stream) summed: (B, T, D) x 2 -> (B, T, D)."""

    def __init__(self, dim: int, config: FusionConfig) -> None:
        super().__init__()
        self.audio_layer = RCALayer(dim, config)
        self.video_layer = RCALayer(dim, config)

    def forward(
        self, audio: torch.Tensor, video: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Fuse aligned streams.

        Args:
            audio: (B, T, D) audio features.
            video: (B, T, D) video features aligned to the audio frames (zeros: the "A" model).
            lengths: (B,) valid frames per item (>= 1).

        Returns:
            (B, T, D) fused features, padded frames 0.
        """
        assert audio.shape == video.shape, f"audio {tuple(audio.shape)} video {tuple(video.shape)}"
        positions = sinusoidal_positions(audio.shape[1], audio.shape[2], audio.device)
        audio = audio + positions
        video = video + positions
        padding = ~valid_mask(lengths, audio.shape[1])
        fused = self.audio_layer(audio, video, padding) + self.video_layer(video, audio, padding)
        return zero_padding(fused, lengths)


class ConcatFusion(nn.Module):
    """Ablation: LayerNorm(2D) + Linear(2D -> D) over [audio, video] per frame."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(2 * dim)
        self.proj = nn.Linear(2 * dim, dim)

    def forward(
        self, audio: torch.Tensor, video: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """(B, T, D) audio, (B, T, D) aligned video, (B,) lengths -> (B, T, D)."""
        assert audio.shape == video.shape, f"audio {tuple(audio.shape)} video {tuple(video.shape)}"
        return zero_padding(self.proj(self.norm(torch.cat([audio, video], dim=-1))), lengths)


def build_fusion(dim: int, config: FusionConfig) -> RCAFusion | ConcatFusion:
    """The fusion module of ``config`` at width ``dim``."""
    return RCAFusion(dim, config) if config.kind == "rca" else ConcatFusion(dim)
