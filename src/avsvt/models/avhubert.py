"""AV-HuBERT's video-only feature extractor in plain PyTorch (reference 4.2 and 9.2).

Mouth crops (B, T, H, W) at 50 fps + lengths -> features (B, T, D) at 50 fps:

1. input normalisation: /255, 88x88 crop (centre in eval; random crop + horizontal flip in
   training), optional average-pool downsampling (cheap CPU configs), (x - 0.421) / 0.165;
2. 3D-conv stem (Conv3d 1->C (k_t,7,7), stride (1,2,2), BN, PReLU, MaxPool (1,3,3)/(1,2,2));
3. per-frame 2D ResNet-18 trunk (PReLU BasicBlocks), global average pool, Linear(512 -> D);
4. a zero audio stream concatenated *before* the video ([zeros, video], 2D), LayerNorm(2D),
   Linear(2D -> D), dropout;
5. the wav2vec2-style pre-LN transformer: padded frames zeroed, weight-normed grouped conv
   positional embedding (kernel ``conv_pos``, last frame dropped for even kernels, GELU, residual),
   layers of [LN -> self-attention -> residual, LN -> FFN(GELU) -> residual], final LayerNorm;
6. optional output standardisation (``output_norm``).

Module and attribute names mirror the fairseq checkpoint, so :func:`load_fairseq_avhubert` maps
keys by fixed renames (see :func:`map_fairseq_key`). The 25-vs-50 fps question is an explicit option
(:data:`avsvt.models.config.FrameRateMode`).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import pickle
import types
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrizations

from avsvt.errors import CheckpointError
from avsvt.models.common import standardise, uniform_frames, valid_mask, zero_padding
from avsvt.models.config import VideoEncoderConfig

logger = logging.getLogger(__name__)


class _GradMultiply(torch.autograd.Function):
    """Identity forward, gradient times ``scale`` (fairseq's GradMultiply)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.scale, None


class BasicBlock(nn.Module):
    """ResNet BasicBlock with PReLU activations (AV-HuBERT's ``resnet_relu_type prelu``)."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.PReLU(channels)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C, H', W')."""
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.as_tensor(self.relu2(out + residual))


class ResNetTrunk(nn.Module):
    """Four stages of BasicBlocks (strides 1, 2, 2, 2) + global average pooling."""

    def __init__(self, in_channels: int, widths: tuple[int, ...], blocks: tuple[int, ...]) -> None:
        super().__init__()
        channels = in_channels
        for index, (width, n_blocks) in enumerate(zip(widths, blocks, strict=True)):
            stride = 1 if index == 0 else 2
            stage = []
            for b in range(n_blocks):
                stage.append(BasicBlock(channels, width, stride if b == 0 else 1))
                channels = width
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
        self.output_dim = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, widths[-1])."""
        for index in range(4):
            x = getattr(self, f"layer{index + 1}")(x)
        return x.mean(dim=(2, 3))


class ResEncoder(nn.Module):
    """3D-conv stem + per-frame ResNet trunk: (B, 1, T, H, W) -> (B, T, widths[-1])."""

    def __init__(self, config: VideoEncoderConfig) -> None:
        super().__init__()
        c = config.stem_channels
        k = config.stem_kernel_t
        self.frontend3d = nn.Sequential(
            nn.Conv3d(1, c, (k, 7, 7), (1, 2, 2), (k // 2, 3, 3), bias=False),
            nn.BatchNorm3d(c),
            nn.PReLU(c),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.trunk = ResNetTrunk(c, config.widths, config.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) -> (B, T, C_out)."""
        batch, _, n_frames = x.shape[:3]
        x = self.frontend3d(x)  # (B, C, T, H', W')
        x = x.transpose(1, 2).flatten(0, 1)  # (B*T, C, H', W')
        x = self.trunk(x)
        return x.reshape(batch, n_frames, -1)


class SelfAttention(nn.Module):
    """fairseq MultiheadAttention (separate q/k/v/out projections with bias)."""

    def __init__(self, dim: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) with a (B, T) valid-key mask -> (B, T, D)."""
        batch, n_frames, dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(batch, n_frames, self.n_heads, -1).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        out = nn.functional.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask[:, None, None, :],
            dropout_p=self.dropout if self.training else 0.0,
        )
        return torch.as_tensor(self.out_proj(out.transpose(1, 2).reshape(batch, n_frames, dim)))


class EncoderLayer(nn.Module):
    """Pre-LN transformer layer (``layer_norm_first``) with fairseq's names and dropouts."""

    def __init__(self, config: VideoEncoderConfig) -> None:
        super().__init__()
        self.self_attn = SelfAttention(config.dim, config.n_heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(config.dim)
        self.fc1 = nn.Linear(config.dim, config.ffn_dim)
        self.fc2 = nn.Linear(config.ffn_dim, config.dim)
        self.final_layer_norm = nn.LayerNorm(config.dim)
        self.dropout = nn.Dropout(config.dropout)
        self.activation_dropout = nn.Dropout(config.activation_dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) with a (B, T) valid mask -> (B, T, D)."""
        x = x + self.dropout(self.self_attn(self.self_attn_layer_norm(x), mask))
        h = self.activation_dropout(nn.functional.gelu(self.fc1(self.final_layer_norm(x))))
        return torch.as_tensor(x + self.dropout(self.fc2(h)))


class TransformerEncoder(nn.Module):
    """wav2vec2-style encoder: conv positional embedding, pre-LN layers, final LayerNorm."""

    def __init__(self, config: VideoEncoderConfig) -> None:
        super().__init__()
        conv = nn.Conv1d(
            config.dim,
            config.dim,
            config.conv_pos,
            padding=config.conv_pos // 2,
            groups=config.conv_pos_groups,
        )
        # fairseq initialises the direction with std sqrt(4 / (k * D)) and zero bias
        nn.init.normal_(conv.weight, 0.0, (4.0 / (config.conv_pos * config.dim)) ** 0.5)
        assert conv.bias is not None
        nn.init.zeros_(conv.bias)
        self.pos_conv = nn.Sequential(parametrizations.weight_norm(conv, name="weight", dim=2))
        self.drop_last = config.conv_pos % 2 == 0
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_layers))
        self.layer_norm = nn.LayerNorm(config.dim)
        self.dropout = nn.Dropout(config.dropout)
        self.layerdrop = config.layerdrop

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) with a (B, T) valid mask -> (B, T, D) after the final LayerNorm."""
        x = x * mask.unsqueeze(-1).to(x.dtype)
        pos = self.pos_conv(x.transpose(1, 2))
        if self.drop_last:
            pos = pos[:, :, :-1]
        x = x + nn.functional.gelu(pos).transpose(1, 2)
        x = self.dropout(x)
        for layer in self.layers:
            if self.training and self.layerdrop > 0 and float(torch.rand(())) < self.layerdrop:
                continue
            x = layer(x, mask)
        return torch.as_tensor(self.layer_norm(x))


def photometric_jitter(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, h, w) frames on the 0..1 scale -> the same with each item's own random lighting.

    Per item: contrast x0.6-1.5 about the mean of its ``lengths`` valid frames, brightness
    +-0.12, gamma 0.7-1.45 (log-uniform) and Gaussian sensor noise of s.d. 0-0.03, clipped to
    0..1. Draws come from torch's global generator (seeded by the training loop).
    """
    shape = (x.shape[0], 1, 1, 1)
    contrast = 0.6 + 0.9 * torch.rand(shape)
    brightness = 0.24 * torch.rand(shape) - 0.12
    gamma = torch.exp(math.log(0.7) + (math.log(1.45) - math.log(0.7)) * torch.rand(shape))
    noise_sd = 0.03 * torch.rand(shape)
    valid = valid_mask(lengths, x.shape[1]).to(x.dtype)  # (B, T)
    frame_means = x.mean(dim=(2, 3))
    mean = (frame_means * valid).sum(1) / valid.sum(1).clamp(min=1.0)
    mean = mean.reshape(shape)
    y = ((x - mean) * contrast + mean + brightness).clamp(0.0, 1.0) ** gamma
    y = y + noise_sd * torch.randn(x.shape)
    return y.clamp(0.0, 1.0)


def remove_appearance(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, h, w) frames -> each item minus its own mean frame, over its spread.

    The mean image and the spread (root mean square of what is left) are taken over each item's
    ``lengths`` valid frames that show something: a uniform frame is the lip front end's stand-in
    for a frame without a face (:data:`avsvt.lips.pipeline.MISSING_GREY`), so it is left out and
    comes back as 0, as neutral as padding. Padded frames come back as they were minus the mean
    (the caller zeroes them). A still utterance (no spread) stays near 0.
    """
    valid = valid_mask(lengths, x.shape[1])  # (B, T)
    shows = ~uniform_frames(x)  # (B, T)
    weights = (valid & shows).to(x.dtype)[:, :, None, None]
    count = weights.sum(1, keepdim=True).clamp(min=1.0)
    mean_frame = (x * weights).sum(1, keepdim=True) / count
    moving = x - mean_frame
    pixels = count * x.shape[2] * x.shape[3]
    spread = ((moving**2 * weights).sum(dim=(1, 2, 3), keepdim=True) / pixels).sqrt()
    result = moving / spread.clamp(min=1e-3)
    return torch.where((valid & ~shows)[:, :, None, None], torch.zeros_like(result), result)


class AVHubertVideoEncoder(nn.Module):
    """AV-HuBERT video-only features: (B, T, H, W) crops at 50 fps -> (B, T, D).

    Attributes:
        output_dim: D.
    """

    def __init__(self, config: VideoEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.output_dim = config.dim
        self.resnet = ResEncoder(config)
        self.video_proj = nn.Linear(config.widths[-1], config.dim)
        self.layer_norm = nn.LayerNorm(2 * config.dim)
        self.post_extract_proj = nn.Linear(2 * config.dim, config.dim)
        self.dropout_input = nn.Dropout(config.dropout_input)
        self.encoder = TransformerEncoder(config)

    def preprocess(self, video: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W) pixels (uint8, or float on the same 0..255 scale) -> (B, 1, T, h, w).

        Crop (centre, or random + flip in training with ``train_augment``), /255, in training
        each utterance's own lighting with ``photometric_augment`` (:func:`photometric_jitter`),
        optional downsampling, (x - mean) / std (or, with ``appearance_norm``, each utterance's
        own mean frame and spread: :func:`remove_appearance`); padded frames are set to 0 so
        the 3D stem sees them as its own zero padding.
        """
        assert video.ndim == 4, f"video must be (B, T, H, W), got {tuple(video.shape)}"
        config = self.config
        height, width = video.shape[2], video.shape[3]
        size = config.crop_size
        if height < size or width < size:
            raise ValueError(f"video frames {height}x{width} are smaller than the {size} crop")
        augment = self.training and config.train_augment
        if augment:
            top = int(torch.randint(0, height - size + 1, ()))
            left = int(torch.randint(0, width - size + 1, ()))
        else:
            top, left = (height - size) // 2, (width - size) // 2
        x = video[:, :, top : top + size, left : left + size].float() / 255.0
        if augment and float(torch.rand(())) < 0.5:
            x = x.flip(-1)
        if self.training and config.photometric_augment:
            x = photometric_jitter(x, lengths)
        if config.downsample > 1:
            x = nn.functional.avg_pool2d(x, config.downsample)
        if config.appearance_norm:
            x = remove_appearance(x, lengths)
        else:
            x = (x - config.image_mean) / config.image_std
        x = zero_padding(x, lengths)
        return x.unsqueeze(1)

    def _encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, h, w) normalised frames -> (B, T, D) before output normalisation."""
        feats = self.video_proj(self.resnet(x))  # (B, T, D)
        if self.training and self.config.feature_grad_mult != 1.0:
            feats = _GradMultiply.apply(feats, self.config.feature_grad_mult)  # type: ignore[no-untyped-call]
        fused = torch.cat([torch.zeros_like(feats), feats], dim=-1)  # audio first, then video
        h = self.dropout_input(self.post_extract_proj(self.layer_norm(fused)))
        return torch.as_tensor(self.encoder(h, valid_mask(lengths, h.shape[1])))

    def forward(
        self, video: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode mouth crops.

        Args:
            video: (B, T, H, W) uint8 (or float 0..255) grayscale crops at 50 fps, H, W >= crop.
            lengths: (B,) valid frames per item.

        Returns:
            features (B, T, D) at 50 fps (padded frames 0 unless ``output_norm`` is ``batch``) and
            (B,) lengths (unchanged).
        """
        assert lengths.shape == (video.shape[0],), f"lengths {tuple(lengths.shape)}"
        n_frames = video.shape[1]
        x = self.preprocess(video, lengths)
        if self.config.frame_rate_mode == "resample_25":
            half = (lengths + 1) // 2
            h = self._encode(x[:, :, ::2], half)
            h = h.repeat_interleave(2, dim=1)[:, :n_frames]
        else:
            h = self._encode(x, lengths)
        h = standardise(h, lengths, self.config.output_norm)
        if self.config.output_norm != "batch":
            h = zero_padding(h, lengths)
        assert h.shape == (video.shape[0], n_frames, self.output_dim), f"{tuple(h.shape)}"
        return h, lengths


# --- the official fairseq checkpoint -----------------------------------------------------------

DROPPED_PREFIXES: tuple[str, ...] = (
    "feature_extractor_audio.",
    "final_proj.",
    "label_embs_concat",
    "mask_emb",
)
"""Pretraining-only or audio-frontend keys our video encoder does not use."""


def map_fairseq_key(key: str) -> str | None:
    """Our parameter name for an AV-HuBERT checkpoint key (None: a key we drop).

    Raises:
        KeyError: A key that is neither used nor known to be droppable.
    """
    if key.startswith(DROPPED_PREFIXES):
        return None
    if key.startswith("feature_extractor_video.resnet."):
        rest = key.removeprefix("feature_extractor_video.resnet.")
        return "resnet." + rest.replace("frontend3D.", "frontend3d.", 1)
    if key.startswith("feature_extractor_video.proj."):
        return "video_proj." + key.removeprefix("feature_extractor_video.proj.")
    if key == "encoder.pos_conv.0.weight_g":
        return "encoder.pos_conv.0.parametrizations.weight.original0"
    if key == "encoder.pos_conv.0.weight_v":
        return "encoder.pos_conv.0.parametrizations.weight.original1"
    if key.startswith(("encoder.", "layer_norm.", "post_extract_proj.")):
        return key
    raise KeyError(key)


class _Inert:
    """Stand-in for a class we refuse to import (fairseq, omegaconf, argparse...): stores state."""

    _dotted = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._state: Any = kwargs or None

    def __setstate__(self, state: Any) -> None:
        self._state = state

    def __repr__(self) -> str:
        return f"<inert {self._dotted}>"


_STUB_MODULES = ("fairseq.", "omegaconf.", "typing.", "hydra.")
_STUB_NAMES = {("argparse", "Namespace"), ("_operator", "getitem"), ("enum", "Enum")}
_BUILTINS = {
    "set", "frozenset", "dict", "list", "tuple", "int", "float", "bool", "str", "bytes",
    "bytearray", "complex", "slice", "object", "long", "unicode",
}  # fmt: skip


def _numpy_global(module: str, name: str) -> Any:
    core = getattr(np, "_core", None) or np.core
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in (
        "scalar",
        "_reconstruct",
    ):
        return getattr(core.multiarray, name)
    if module == "numpy" and name in ("dtype", "ndarray"):
        return getattr(np, name)
    if module == "numpy.dtypes" and name.endswith("DType"):
        return getattr(np.dtypes, name)
    return None


def _resolve_global(module: str, name: str) -> Any:
    """The allow-list: real objects for tensors and plain data, inert stubs for config classes."""
    if (module, name) in (
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_parameter"),
    ):
        return getattr(torch._utils, name)
    if (module, name) == ("collections", "OrderedDict"):
        return OrderedDict
    if (module, name) == ("collections", "defaultdict"):
        import collections

        return collections.defaultdict
    if module in ("builtins", "__builtin__") and name in _BUILTINS:
        import builtins

        return {"long": int, "unicode": str}.get(name) or getattr(builtins, name)
    if (module, name) == ("_codecs", "encode"):
        import codecs

        return codecs.encode
    if module.startswith("numpy"):
        found = _numpy_global(module, name)
        if found is not None:
            return found
    if module.startswith(_STUB_MODULES) or module in ("fairseq",) or (module, name) in _STUB_NAMES:
        return type(name, (_Inert,), {"_dotted": f"{module}.{name}"})
    raise pickle.UnpicklingError(f"refusing unexpected global {module}.{name}")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only allow-listed globals (see :func:`_resolve_global`).

    Anything else raises before it can be called, so a malicious ``__reduce__`` never runs.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Resolve ``module.name`` through the allow-list."""
        return _resolve_global(module, name)


def _restricted_pickle_module() -> types.ModuleType:
    module = types.ModuleType("avsvt_restricted_pickle")
    module.Unpickler = RestrictedUnpickler  # type: ignore[attr-defined]

    def load(file: io.BufferedIOBase, **kwargs: Any) -> Any:
        return RestrictedUnpickler(file, **kwargs).load()

    module.load = load  # type: ignore[attr-defined]
    return module


def read_restricted(path: str | Path) -> Any:
    """``torch.load`` a zip checkpoint through :class:`RestrictedUnpickler` (memory-mapped).

    Raises:
        CheckpointError: Not a zip checkpoint, a refused global, or a damaged file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path=path)
    if not zipfile.is_zipfile(path):
        raise CheckpointError("not a zip checkpoint (torch >= 1.6 format)", path=path)
    try:
        return torch.load(
            path,
            map_location="cpu",
            weights_only=False,
            pickle_module=_restricted_pickle_module(),
            mmap=True,
        )
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"unsafe or unreadable pickle: {exc}", path=path) from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged files
        raise CheckpointError(
            f"cannot read checkpoint ({type(exc).__name__}: {exc})", path=path
        ) from None


def _plain(obj: Any) -> Any:
    """Turn inert omegaconf stubs (``_content`` / ``_val`` states) back into plain containers."""
    if isinstance(obj, _Inert):
        state = obj._state
        if isinstance(state, Mapping):
            if "_content" in state:
                return _plain(state["_content"])
            if "_val" in state:
                return _plain(state["_val"])
            return {k: _plain(v) for k, v in state.items()}
        return state
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


@dataclass(frozen=True)
class FairseqAVHubert:
    """What we use from ``large_vox_iter5.pt``-style files.

    Attributes:
        config: Encoder sizes read from the tensors (cross-checked against ``cfg['model']``).
        state_dict: Our parameter names -> float32 tensors.
        ignored_keys: Checkpoint keys we dropped (pretraining heads, audio front end).
        n_values: Number of values in the file's model state dict.
    """

    config: VideoEncoderConfig
    state_dict: dict[str, torch.Tensor]
    ignored_keys: tuple[str, ...]
    n_values: int


def _sizes_from_tensors(model: Mapping[str, torch.Tensor], path: Path) -> dict[str, Any]:
    def shape(key: str) -> tuple[int, ...]:
        if key not in model:
            raise CheckpointError(f"no {key!r} in the model state dict", path=path)
        return tuple(model[key].shape)

    trunk = "feature_extractor_video.resnet.trunk."
    dim = shape("post_extract_proj.weight")[0]
    weight_v = shape("encoder.pos_conv.0.weight_v")
    layer_ids = {int(k.split(".")[2]) for k in model if k.startswith("encoder.layers.")}
    widths, blocks = [], []
    for stage in range(1, 5):
        ids = {int(k.split(".")[4]) for k in model if k.startswith(f"{trunk}layer{stage}.")}
        if not ids:
            raise CheckpointError(f"no ResNet stage layer{stage} in the checkpoint", path=path)
        blocks.append(max(ids) + 1)
        widths.append(shape(f"{trunk}layer{stage}.0.conv1.weight")[0])
    stem = shape("feature_extractor_video.resnet.frontend3D.0.weight")
    if dim % weight_v[1]:
        raise CheckpointError(
            f"encoder.pos_conv.0.weight_v has group width {weight_v[1]}, not a divisor of {dim}",
            path=path,
        )
    return {
        "dim": dim,
        "n_layers": max(layer_ids) + 1 if layer_ids else 0,
        "ffn_dim": shape("encoder.layers.0.fc1.weight")[0],
        "conv_pos": weight_v[2],
        "conv_pos_groups": dim // weight_v[1],
        "stem_channels": stem[0],
        "stem_kernel_t": stem[2],
        "widths": tuple(widths),
        "blocks": tuple(blocks),
    }


def read_fairseq_avhubert(path: str | Path) -> FairseqAVHubert:
    """Read an official AV-HuBERT pretraining checkpoint without fairseq.

    The pickle is read by :class:`RestrictedUnpickler` (tensors, plain containers and numpy
    scalars are real; fairseq/omegaconf/argparse classes become inert stubs; anything else is
    refused). Sizes come from tensor shapes and are cross-checked with ``cfg['model']``; heads,
    ``layer_norm_first`` and the activation come from the cfg.

    Raises:
        CheckpointError: Unreadable or unsafe file, wrong model kind, missing or inconsistent keys.
    """
    path = Path(path)
    checkpoint = read_restricted(path)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError("checkpoint is not a dict", path=path)
    model = checkpoint.get("model")
    if not isinstance(model, Mapping):
        raise CheckpointError("no 'model' entry (not a fairseq checkpoint)", path=path)
    cfg = _plain(checkpoint.get("cfg"))
    if cfg is None and checkpoint.get("args") is not None:
        cfg = {"model": _plain(checkpoint["args"])}
    model_cfg = cfg.get("model", {}) if isinstance(cfg, Mapping) else {}
    model_cfg = model_cfg if isinstance(model_cfg, Mapping) else {}
    name = model_cfg.get("_name", "av_hubert")
    if name != "av_hubert":
        raise CheckpointError(
            f"model _name is {name!r}; only pretrained 'av_hubert' checkpoints are supported",
            path=path,
        )
    for key, value in model.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"model entry {key!r} is not a tensor", path=path)
    sizes = _sizes_from_tensors(model, path)
    for ours, theirs in (
        ("dim", "encoder_embed_dim"),
        ("n_layers", "encoder_layers"),
        ("ffn_dim", "encoder_ffn_embed_dim"),
        ("conv_pos", "conv_pos"),
        ("conv_pos_groups", "conv_pos_groups"),
    ):
        if theirs in model_cfg and int(model_cfg[theirs]) != sizes[ours]:
            raise CheckpointError(
                f"cfg model.{theirs} = {model_cfg[theirs]} but the tensors say {sizes[ours]}",
                path=path,
            )
    if not model_cfg.get("layer_norm_first", True):
        raise CheckpointError("layer_norm_first False (post-LN) is not supported", path=path)
    if model_cfg.get("activation_fn", "gelu") != "gelu":
        raise CheckpointError(f"activation {model_cfg['activation_fn']!r} unsupported", path=path)
    if model_cfg.get("resnet_relu_type", "prelu") != "prelu":
        raise CheckpointError("only resnet_relu_type 'prelu' is supported", path=path)
    task_cfg = cfg.get("task", {}) if isinstance(cfg, Mapping) else {}
    task_cfg = task_cfg if isinstance(task_cfg, Mapping) else {}
    config = VideoEncoderConfig(
        checkpoint_path=str(path),
        n_heads=int(model_cfg.get("encoder_attention_heads", 16)),
        dropout=float(model_cfg.get("dropout", 0.1)),
        attention_dropout=float(model_cfg.get("attention_dropout", 0.1)),
        activation_dropout=float(model_cfg.get("activation_dropout", 0.0)),
        layerdrop=float(model_cfg.get("encoder_layerdrop", 0.05)),
        dropout_input=float(model_cfg.get("dropout_input", 0.1)),
        feature_grad_mult=float(model_cfg.get("feature_grad_mult", 0.1)),
        crop_size=int(task_cfg.get("image_crop_size", 88)),
        image_mean=float(task_cfg.get("image_mean", 0.421)),
        image_std=float(task_cfg.get("image_std", 0.165)),
        **sizes,
    )
    state: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    n_values = 0
    for key, value in model.items():
        n_values += value.numel()
        try:
            mapped = map_fairseq_key(key)
        except KeyError:
            raise CheckpointError(
                f"unexpected key {key!r} in the model state dict", path=path
            ) from None
        if mapped is None:
            ignored.append(key)
            continue
        state[mapped] = value.float() if value.is_floating_point() else value
    return FairseqAVHubert(config, state, tuple(ignored), n_values)


def load_fairseq_weights(
    encoder: AVHubertVideoEncoder, checkpoint: FairseqAVHubert, path: str | Path
) -> None:
    """Copy the checkpoint's weights into ``encoder`` (strict: every key, every shape).

    Raises:
        CheckpointError: Missing, unexpected or mis-shaped keys.
    """
    own = encoder.state_dict()
    for key, value in checkpoint.state_dict.items():
        if key in own and own[key].shape != value.shape:
            raise CheckpointError(
                f"{key}: checkpoint shape {tuple(value.shape)} != model {tuple(own[key].shape)}",
                path=path,
            )
    missing = sorted(set(own) - set(checkpoint.state_dict))
    unexpected = sorted(set(checkpoint.state_dict) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"keys do not match: missing {missing[:3]}, unexpected {unexpected[:3]}", path=path
        )
    encoder.load_state_dict(checkpoint.state_dict, strict=True)


def avhubert_from_fairseq(path: str | Path, **overrides: Any) -> AVHubertVideoEncoder:
    """Build an :class:`AVHubertVideoEncoder` with the sizes and weights of a fairseq file.

    Args:
        path: ``large_vox_iter5.pt`` or a file of the same structure.
        **overrides: Non-size :class:`VideoEncoderConfig` fields (e.g. ``output_norm``,
            ``frame_rate_mode``, dropouts).
    """
    checkpoint = read_fairseq_avhubert(path)
    encoder = AVHubertVideoEncoder(dataclasses.replace(checkpoint.config, **overrides))
    load_fairseq_weights(encoder, checkpoint, path)
    return encoder
