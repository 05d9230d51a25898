"""Small tensor helpers shared by the encoders, the fusion and the transcriber."""

from __future__ import annotations

import torch

from avsvt.models.config import NormMode


def valid_mask(lengths: torch.Tensor, n_frames: int) -> torch.Tensor:
    """(B, n_frames) bool mask, True on the first ``lengths[b]`` frames of item b."""
    assert lengths.ndim == 1, f"lengths {tuple(lengths.shape)}"
    frames = torch.arange(n_frames, device=lengths.device)
    return frames[None, :] < lengths[:, None].to(frames.device)


def uniform_frames(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W) frames -> (B, T) bool, True where a frame is one flat value.

    A uniform crop is the lip front end's stand-in for a frame without a face
    (:data:`avsvt.lips.pipeline.MISSING_GREY`); no camera frame of a mouth is flat.
    """
    return frames.amax(dim=(2, 3)) == frames.amin(dim=(2, 3))


def standardise(
    x: torch.Tensor, lengths: torch.Tensor, mode: NormMode, eps: float = 1e-5
) -> torch.Tensor:
    """Non-affine standardisation of (B, T, ...) with one mean/variance per scope.

    ``utterance``: per item over its valid frames (all feature dims together), padding ignored
    and set to 0. ``batch``: one mean/variance over the whole padded tensor, the reference's
    ``F.layer_norm(x, x.shape)`` (quirk Q5). ``none``: unchanged.

    Args:
        x: (B, T, ...) values.
        lengths: (B,) valid frames per item.
        mode: Scope of the statistics.
        eps: Added to the variance.

    Returns:
        Tensor shaped like ``x``.
    """
    if mode == "none":
        return x
    if mode == "batch":
        return torch.nn.functional.layer_norm(x, x.shape, eps=eps)
    mask = valid_mask(lengths, x.shape[1]).to(x.dtype)
    mask = mask.reshape(mask.shape + (1,) * (x.ndim - 2))
    per_frame = x[0, 0].numel() if x.shape[1] else 1
    count = (mask.flatten(1).sum(1) * per_frame).clamp_min(1.0)
    dims = tuple(range(1, x.ndim))
    mean = (x * mask).sum(dims) / count
    shape = (-1,) + (1,) * (x.ndim - 1)
    centred = (x - mean.reshape(shape)) * mask
    var = centred.square().sum(dims) / count
    return centred / torch.sqrt(var.reshape(shape) + eps)


def zero_padding(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Set frames at or beyond ``lengths[b]`` of (B, T, ...) to zero."""
    mask = valid_mask(lengths, x.shape[1])
    return x * mask.reshape(mask.shape + (1,) * (x.ndim - 2)).to(x.dtype)


def align_frames(features: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Cut (B, T, D) features to ``n_frames`` or append zero frames (reference 6.4, Q18)."""
    if features.shape[1] >= n_frames:
        return features[:, :n_frames]
    pad = features.new_zeros(features.shape[0], n_frames - features.shape[1], features.shape[2])
    return torch.cat([features, pad], dim=1)
