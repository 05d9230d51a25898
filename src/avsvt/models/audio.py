"""Audio encoders: 16 kHz waveform (B, N) + lengths -> features (B, T, D) at 49.8 fps.

Every encoder gives T = ``n_ssl_frames(N)`` = floor((N - 400) / 320) + 1 frames, the wav2vec2 grid
the labels are built on, and per-item output lengths ``n_ssl_frames(lengths[b])``.

* :class:`HFSSLEncoder` wraps a transformers SSL model (wav2vec2, HuBERT, WavLM, data2vec-audio)
  as the reference uses it: SpecAugment off, waveform standardised, last layer, output
  standardised. Normalisation scope is explicit: ``utterance`` (default; per item over valid
  samples/frames, padding masked, attention mask passed) or ``batch`` (the reference's whole-tensor
  statistics, quirk Q5).
* :class:`LogMelConformer` is the CPU-friendly encoder trained from scratch: log-mel features on
  the same frame grid followed by a small conformer.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avsvt.constants import (
    SAMPLE_RATE,
    WAV2VEC2_RECEPTIVE_FIELD_SAMPLES,
    WAV2VEC2_STRIDE_SAMPLES,
)
from avsvt.errors import CheckpointError, ConfigError
from avsvt.models.common import standardise, valid_mask, zero_padding
from avsvt.models.config import AudioEncoderConfig

logger = logging.getLogger(__name__)

SUPPORTED_MODEL_TYPES: tuple[str, ...] = ("wav2vec2", "hubert", "wavlm", "data2vec-audio")


def ssl_frame_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Per-item frame counts ``n_ssl_frames`` of (B,) sample counts (0 below 400 samples)."""
    frames = (lengths - WAV2VEC2_RECEPTIVE_FIELD_SAMPLES) // WAV2VEC2_STRIDE_SAMPLES + 1
    return frames.clamp_min(0)


def _check_inputs(waveform: torch.Tensor, lengths: torch.Tensor) -> None:
    assert waveform.ndim == 2, f"waveform must be (B, samples), got {tuple(waveform.shape)}"
    assert lengths.shape == (waveform.shape[0],), f"lengths {tuple(lengths.shape)}"


class AudioEncoder(nn.Module):
    """Interface of the audio encoders.

    Attributes:
        output_dim: Feature dimension D.
    """

    output_dim: int

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a padded batch.

        Args:
            waveform: (B, N) float 16 kHz samples, right zero-padded.
            lengths: (B,) valid samples per item.

        Returns:
            features (B, T, D) with T = n_ssl_frames(N), and (B,) valid frames per item.
        """
        raise NotImplementedError


# --- transformers SSL models -------------------------------------------------------------------


def _quiet_transformers() -> Any:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return transformers


_NO_SPEC_AUGMENT = {"apply_spec_augment": False, "mask_time_prob": 0.0, "mask_feature_prob": 0.0}


def build_hf_model(config: AudioEncoderConfig, *, load_pretrained: bool = True) -> Any:
    """Build the transformers model of an ``hf_ssl`` config.

    With ``load_pretrained`` and ``hf_path`` the weights come from that local directory (never
    from the network, :func:`load_hf_directory`); otherwise a randomly initialised model is built
    from ``hf_config``. SpecAugment is switched off either way.

    Raises:
        CheckpointError: The directory cannot be loaded or holds an unsupported model type.
        ConfigError: Neither a usable path nor a config.
    """
    if load_pretrained and config.hf_path is not None:
        return load_hf_directory(Path(config.hf_path)).model
    transformers = _quiet_transformers()
    if config.hf_config is None:
        raise ConfigError("hf_ssl encoder: no hf_config to build from (and no weights to load)")
    fields = dict(config.hf_config)
    model_type = str(fields.pop("model_type", ""))
    _check_model_type(model_type, None)
    fields.update(_NO_SPEC_AUGMENT)
    hf_config = transformers.AutoConfig.for_model(model_type, **fields)
    return transformers.AutoModel.from_config(hf_config)


@dataclass(frozen=True)
class HFDirectory:
    """A transformers model directory as avsvt loads it (:func:`load_hf_directory`).

    Attributes:
        model: The model, SpecAugment off.
        unused: Tensors in the directory's weight files the model does not take (for example
            ``masked_spec_embed``, SpecAugment's mask embedding, or a pretraining head).
        missing: The model's tensors the directory lacks (randomly initialised).
    """

    model: Any
    unused: tuple[str, ...]
    missing: tuple[str, ...]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def load_hf_directory(path: Path) -> HFDirectory:
    """Load a local transformers SSL model directory (never the network), SpecAugment off.

    Transformers' own loading report is not printed; the tensors not used and those missing are
    returned (missing ones are also logged as a warning: they are randomly initialised).

    Raises:
        CheckpointError: Not a model directory, an unsupported model type, an unreadable or
            damaged ``config.json`` or weight file, or weights of other shapes than the config.
    """
    from avsvt.data.files import not_a_file

    transformers = _quiet_transformers()
    if not path.is_dir():
        problem = not_a_file(path, missing="transformers model directory not found")
        raise CheckpointError(
            problem or "not a transformers model directory (a file, not a folder)", path=path
        )
    problem = not_a_file(path / "config.json", missing="")
    if problem == "":
        raise CheckpointError("not a transformers model directory (no config.json)", path=path)
    if problem:
        raise CheckpointError(problem, path=path / "config.json")
    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()  # its load report: we say what matters
    try:
        try:
            hf_config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
        except RecursionError:
            raise CheckpointError(
                "cannot read config.json (JSON nested too deeply)", path=path
            ) from None
        except Exception as exc:  # noqa: BLE001 - transformers raises many types for bad files
            raise CheckpointError(
                f"cannot read config.json ({_first_line(exc)})", path=path
            ) from None
        _check_model_type(hf_config.model_type, path)
        for key, value in _NO_SPEC_AUGMENT.items():
            setattr(hf_config, key, value)
        try:
            model, info = transformers.AutoModel.from_pretrained(
                path,
                config=hf_config,
                local_files_only=True,
                output_loading_info=True,
                ignore_mismatched_sizes=True,  # reported below, as an error of ours
            )
        except Exception as exc:  # noqa: BLE001 - damaged weights, missing files, ...
            raise CheckpointError(
                f"cannot load transformers model ({_first_line(exc)})", path=path
            ) from None
    finally:
        transformers.utils.logging.set_verbosity(verbosity)
    mismatched = sorted(info.get("mismatched_keys") or ())
    if mismatched:
        key, stored, built = mismatched[0]
        raise CheckpointError(
            f"weights do not match config.json: {key} is {tuple(stored)} in the weights, "
            f"{tuple(built)} in the config ({len(mismatched)} tensor(s) differ)",
            path=path,
        )
    missing = tuple(sorted(info.get("missing_keys") or ()))
    if missing:
        logger.warning(
            "%s: %d tensor(s) of the model are not in the directory and start random: %s",
            path,
            len(missing),
            ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else ""),
        )
    return HFDirectory(model, tuple(sorted(info.get("unexpected_keys") or ())), missing)


def hf_directory_weights(path: Path) -> dict[str, int]:
    """``{tensor name: values}`` of the weight files in a transformers directory, headers only.

    The ``*.safetensors`` files (one or several shards) when there are any, as transformers
    prefers them, else the ``pytorch_model*.bin`` files (read with ``weights_only=True``, mapped).

    Raises:
        CheckpointError: A weight file cannot be read.
    """
    import zipfile

    from safetensors import safe_open

    sizes: dict[str, int] = {}
    files = sorted(path.glob("*.safetensors"))
    for file in files:
        try:
            with safe_open(str(file), framework="pt", device="cpu") as handle:
                for key in handle.keys():  # noqa: SIM118
                    sizes[key] = math.prod(handle.get_slice(key).get_shape())
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
            raise CheckpointError(
                f"not a readable weight file ({_first_line(exc)})", path=file
            ) from None
    if files:
        return sizes
    for file in sorted(path.glob("pytorch_model*.bin")):
        try:
            mapped = zipfile.is_zipfile(file)  # the legacy (non-zip) format cannot be mapped
            state = torch.load(file, map_location="cpu", weights_only=True, mmap=mapped)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged files
            raise CheckpointError(
                f"not a readable weight file ({_first_line(exc)})", path=file
            ) from None
        if isinstance(state, dict):
            sizes.update(
                {str(k): v.numel() for k, v in state.items() if isinstance(v, torch.Tensor)}
            )
    return sizes


def _check_model_type(model_type: str, path: Path | None) -> None:
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise CheckpointError(
            f"unsupported transformers model type {model_type!r}; "
            f"supported: {', '.join(SUPPORTED_MODEL_TYPES)}",
            path=path,
        )


def hf_config_dict(model: Any) -> dict[str, Any]:
    """JSON-able config dict of a transformers model (what :class:`AudioEncoderConfig` keeps)."""
    data: dict[str, Any] = model.config.to_dict()
    for key in ("transformers_version", "architectures", "_name_or_path", "dtype", "torch_dtype"):
        data.pop(key, None)
    return data


class HFSSLEncoder(AudioEncoder):
    """A transformers SSL model used as the reference uses it (section 2.1).

    In ``utterance`` mode each item is standardised over its own valid samples and the attention
    mask is passed, so padding never changes the outputs on valid frames (eval mode). Models whose
    conv feature extractor uses group norm over time (wav2vec2-base style) cannot ignore padding
    inside a batch, nor can data2vec-audio (stacked positional convolutions); they are run item by
    item in that mode.
    """

    def __init__(self, config: AudioEncoderConfig, *, load_pretrained: bool = True) -> None:
        super().__init__()
        if config.kind != "hf_ssl":
            raise ConfigError(f"HFSSLEncoder needs kind hf_ssl, got {config.kind}")
        self.config = config
        self.model = build_hf_model(config, load_pretrained=load_pretrained)
        self.output_dim = int(self.model.config.hidden_size)
        # Run item by item where a padded batch cannot give padding-free outputs: group norm over
        # time in the conv feature extractor (wav2vec2-base style), or data2vec-audio's stacked
        # positional convolutions (their padded frames are non-zero after the first conv).
        self.itemwise = (
            getattr(self.model.config, "feat_extract_norm", "layer") == "group"
            or self.model.config.model_type == "data2vec-audio"
        )

    def resolved_config(self) -> AudioEncoderConfig:
        """The config with ``hf_config`` filled from the built model (for checkpoints)."""
        import dataclasses

        return dataclasses.replace(self.config, hf_config=hf_config_dict(self.model))

    def _run(self, waveform: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        layer = self.config.layer
        out = self.model(
            waveform,
            attention_mask=mask,
            output_hidden_states=layer is not None,
            return_dict=True,
        )
        hidden: torch.Tensor = out.last_hidden_state if layer is None else out.hidden_states[layer]
        return hidden

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode (B, N) 16 kHz audio to (B, T, D) features; see :class:`AudioEncoder`."""
        _check_inputs(waveform, lengths)
        mode = self.config.norm
        frame_lengths = ssl_frame_lengths(lengths)
        if self.config.input_norm:
            waveform = standardise(waveform.unsqueeze(-1), lengths, mode).squeeze(-1)
        if mode == "batch":  # the reference: no attention mask, padding takes part
            hidden = self._run(waveform, None)
        elif self.itemwise:
            n_frames = int(ssl_frame_lengths(torch.tensor([waveform.shape[1]]))[0])
            parts = []
            for b in range(waveform.shape[0]):
                h = self._run(waveform[b : b + 1, : int(lengths[b])], None)
                pad = h.new_zeros(1, n_frames - h.shape[1], h.shape[2])
                parts.append(torch.cat([h, pad], dim=1))
            hidden = torch.cat(parts, dim=0)
        else:
            attention_mask = valid_mask(lengths, waveform.shape[1]).long()
            hidden = self._run(waveform, attention_mask)
        hidden = standardise(hidden, frame_lengths, mode)
        if mode != "batch":
            hidden = zero_padding(hidden, frame_lengths)
        assert hidden.shape[:2] == (
            waveform.shape[0],
            int(ssl_frame_lengths(torch.tensor([waveform.shape[1]]))[0]),
        ), f"features {tuple(hidden.shape)}"
        return hidden, frame_lengths


# --- log-mel conformer -------------------------------------------------------------------------

N_FFT = 400
HOP = WAV2VEC2_STRIDE_SAMPLES


def mel_filterbank(n_mels: int, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular HTK-mel filters, 0 Hz to Nyquist, area-normalised."""

    def hz_to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)

    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(0.0, hz_to_mel(np.array(sample_rate / 2)), n_mels + 2))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (fft_hz[:, None] - lower[None]) / (centre - lower)[None]
    falling = (upper[None] - fft_hz[:, None]) / (upper - centre)[None]
    weights = np.clip(np.minimum(rising, falling), 0.0, None)
    weights *= 2.0 / (upper - lower)[None]
    result: np.ndarray = weights.astype(np.float32)
    return result


class LogMelFrontend(nn.Module):
    """(B, N) waveform -> (B, T, n_mels) log-mel, T = n_ssl_frames(N) (n_fft 400, hop 320)."""

    def __init__(self, n_mels: int) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.register_buffer("filters", torch.from_numpy(mel_filterbank(n_mels)), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Log-mel of (B, N) audio (N >= 400) as (B, T, n_mels)."""
        window: torch.Tensor = self.window  # type: ignore[assignment]
        filters: torch.Tensor = self.filters  # type: ignore[assignment]
        spec = torch.stft(
            waveform, N_FFT, HOP, window=window, center=False, return_complex=True
        )  # (B, 201, T)
        power = spec.real.square() + spec.imag.square()
        return torch.log(power.transpose(1, 2) @ filters + 1e-6)


class PeriodicityFrontend(nn.Module):
    """(B, N) waveform -> (B, T, n_bins) periodicity salience on a log-lag (pitch) axis.

    YIN's cumulative-mean-normalised difference function d'(tau) (de Cheveigne and Kawahara 2002)
    on 1024-sample frames centred like the log-mel frames (T = n_ssl_frames(N)), read at ``n_bins``
    lags spaced evenly in pitch from ``fmax_hz`` down to ``fmin_hz``; the feature is
    ``clip(1 - d'(tau), 0, 1)``: near 1 at the period of a periodic voice (and its multiples),
    near 0 for noise and silence. It describes pitch and voicing independently of timbre, meant to
    carry from synthetic voices to real ones.
    """

    FRAME = 1024

    def __init__(self, n_bins: int, fmin_hz: float = 65.0, fmax_hz: float = 1000.0) -> None:
        super().__init__()
        self.max_lag = int(math.ceil(SAMPLE_RATE / fmin_hz)) + 1
        self.window = self.FRAME - self.max_lag
        lags = SAMPLE_RATE / np.geomspace(fmax_hz, fmin_hz, n_bins)
        self.register_buffer("lags", torch.from_numpy(lags.astype(np.float32)), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Periodicity of (B, N) audio (N >= 400, zero beyond each item's end): (B, T, n_bins)."""
        n_frames = (waveform.shape[1] - N_FFT) // HOP + 1
        left = self.FRAME // 2 - N_FFT // 2
        right = max(0, (n_frames - 1) * HOP + self.FRAME - left - waveform.shape[1])
        x = nn.functional.pad(waveform.float(), (left, right)).unfold(1, self.FRAME, HOP)
        x = x[:, :n_frames]  # (B, T, FRAME)
        n_fft = 2 * self.FRAME
        spec = torch.fft.rfft(x, n_fft)
        head = torch.fft.rfft(x[..., : self.window], n_fft)
        r = torch.fft.irfft(spec * head.conj(), n_fft)[..., : self.max_lag + 1]  # r(tau)
        power = torch.cumsum(nn.functional.pad(x.square(), (1, 0)), dim=-1)
        taus = torch.arange(self.max_lag + 1, device=x.device)
        e_tau = power[..., taus + self.window] - power[..., taus]  # energy of x[tau:tau+W]
        diff = (e_tau[..., :1] + e_tau - 2 * r).clamp_min(0)  # d(tau)
        cumulative = torch.cumsum(diff[..., 1:], dim=-1)
        energy = e_tau[..., :1]
        cmnd = diff[..., 1:] * taus[1:] / (cumulative + 1e-6 * energy + 1e-12)
        salience = (1 - cmnd).clamp(0, 1) * (energy > 1e-6 * self.window).to(x.dtype)
        # linear interpolation at fractional lags (index tau-1 in the tau >= 1 array)
        lags: torch.Tensor = self.lags  # type: ignore[assignment]
        lag = lags.to(x.device) - 1
        lo = lag.floor().long().clamp(0, salience.shape[-1] - 2)
        frac = (lag - lo).to(x.dtype)
        out = salience[..., lo] * (1 - frac) + salience[..., lo + 1] * frac
        return torch.as_tensor(out)


class _ConformerBlock(nn.Module):
    """FFN/2 -> self-attention -> conv module -> FFN/2 -> LayerNorm (pre-LN, masked)."""

    def __init__(self, dim: int, n_heads: int, ffn_dim: int, kernel: int, dropout: float) -> None:
        super().__init__()

        def ffn() -> nn.Sequential:
            return nn.Sequential(
                nn.LayerNorm(dim),
                nn.Linear(dim, ffn_dim),
                nn.SiLU(),
                nn.Dropout(dropout),
                nn.Linear(ffn_dim, dim),
                nn.Dropout(dropout),
            )

        self.ffn1 = ffn()
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, n_heads, dropout=dropout, batch_first=True)
        self.conv_norm = nn.LayerNorm(dim)
        self.pointwise_in = nn.Linear(dim, 2 * dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.conv_act_norm = nn.LayerNorm(dim)
        self.pointwise_out = nn.Linear(dim, dim)
        self.ffn2 = ffn()
        self.out_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) with a (B, T) valid mask -> (B, T, D); padded frames stay 0."""
        keep = mask.unsqueeze(-1).to(x.dtype)
        x = x + 0.5 * self.ffn1(x)
        h = self.attn_norm(x)
        h = self.attn(h, h, h, key_padding_mask=~mask, need_weights=False)[0]
        x = (x + self.dropout(h)) * keep
        h = nn.functional.glu(self.pointwise_in(self.conv_norm(x)), dim=-1) * keep
        h = self.depthwise(h.transpose(1, 2)).transpose(1, 2)
        h = self.pointwise_out(nn.functional.silu(self.conv_act_norm(h)))
        x = x + self.dropout(h)
        x = x + 0.5 * self.ffn2(x)
        return torch.as_tensor(self.out_norm(x) * keep)


class LogMelConformer(AudioEncoder):
    """Log-mel + per-frame LayerNorm + Linear + conformer blocks, trained from scratch.

    Every step is per frame except attention (key-padding masked) and the depthwise convolution
    (its padded inputs are zeroed), so padding never changes outputs on valid frames.
    """

    def __init__(self, config: AudioEncoderConfig) -> None:
        super().__init__()
        if config.kind != "logmel":
            raise ConfigError(f"LogMelConformer needs kind logmel, got {config.kind}")
        self.config = config
        self.output_dim = config.dim
        self.frontend = LogMelFrontend(config.n_mels) if config.n_mels else None
        self.input_norm = nn.LayerNorm(config.n_mels) if config.n_mels else None
        self.periodicity = (
            PeriodicityFrontend(config.periodicity_bins) if config.periodicity_bins else None
        )
        self.input_proj = nn.Linear(config.n_mels + config.periodicity_bins, config.dim)
        self.blocks = nn.ModuleList(
            _ConformerBlock(
                config.dim, config.n_heads, config.ffn_dim, config.conv_kernel, config.dropout
            )
            for _ in range(config.n_layers)
        )

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode (B, N) 16 kHz audio to (B, T, D) features; see :class:`AudioEncoder`."""
        _check_inputs(waveform, lengths)
        n_samples = waveform.shape[1]
        if n_samples < WAV2VEC2_RECEPTIVE_FIELD_SAMPLES:
            waveform = nn.functional.pad(
                waveform, (0, WAV2VEC2_RECEPTIVE_FIELD_SAMPLES - n_samples)
            )
        frame_lengths = ssl_frame_lengths(lengths)
        streams = []
        if self.frontend is not None and self.input_norm is not None:
            streams.append(self.input_norm(self.frontend(waveform)))
        if self.periodicity is not None:  # it looks past a frame's end: zero what is padding
            inside = valid_mask(lengths, waveform.shape[1]).to(waveform.dtype)
            streams.append(self.periodicity(waveform * inside))
        x = torch.cat(streams, dim=-1)
        if n_samples < WAV2VEC2_RECEPTIVE_FIELD_SAMPLES:
            x = x[:, :0]
        mask = valid_mask(frame_lengths, x.shape[1])
        x = self.input_proj(x) * mask.unsqueeze(-1).to(x.dtype)
        for block in self.blocks:
            x = block(x, mask)
        x = standardise(x, frame_lengths, self.config.norm)
        x = zero_padding(x, frame_lengths)
        assert x.shape == (
            waveform.shape[0],
            max(0, (n_samples - N_FFT) // HOP + 1),
            self.output_dim,
        )
        return x, frame_lengths


def build_audio_encoder(
    config: AudioEncoderConfig, *, load_pretrained: bool = True
) -> AudioEncoder:
    """The encoder of ``config`` (``load_pretrained``: read ``hf_path`` weights if set)."""
    if config.kind == "hf_ssl":
        return HFSSLEncoder(config, load_pretrained=load_pretrained)
    return LogMelConformer(config)


def seconds_to_frames(seconds: float) -> int:
    """Frames the encoders give for ``seconds`` of 16 kHz audio."""
    return max(0, math.floor((seconds * SAMPLE_RATE - N_FFT) / HOP) + 1)
