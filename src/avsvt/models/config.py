"""Model configurations: frozen dataclasses that round-trip through ``asdict`` / ``from_dict``.

A :class:`ModelConfig` fully describes a :class:`~avsvt.models.transcriber.Transcriber`; it is what
a checkpoint stores (as ``dataclasses.asdict(config)``) and what rebuilds the model on load. Three
named presets exist (:func:`preset`):

* ``tiny``: random init, a few 10k parameters, for tests and smoke runs;
* ``cpu``: the CPU-friendly default (log-mel conformer audio encoder trained from scratch, a
  reduced-width AV-HuBERT-shaped video encoder), trainable on 2 cores;
* ``large``: the reference shapes (wav2vec2-large-lv60 + AV-HuBERT Large, RCA 1024/8/3072).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from avsvt.config import from_dict, merge
from avsvt.constants import UTTERANCE_S, VIDEO_MEAN, VIDEO_MIN_SIDE, VIDEO_STD, Modality
from avsvt.errors import ConfigError
from avsvt.utterances import UtteranceGrid

NormMode = Literal["utterance", "batch", "none"]
"""How features are standardised: per utterance over valid frames (default), over the whole padded
batch tensor (the reference, quirk Q5), or not at all."""

AudioEncoderKind = Literal["hf_ssl", "logmel"]
FusionKind = Literal["rca", "concat"]
FrameRateMode = Literal["as_is", "resample_25"]
"""AV-HuBERT was pretrained on 25 fps video; the data is 50 fps. ``as_is`` feeds 50 fps (the
reference); ``resample_25`` keeps every other frame, runs the encoder at 25 fps and repeats each
output frame twice to return to 50 fps."""

MODALITIES: tuple[str, ...] = ("audio", "video", "audio_visual")
PRESETS: tuple[str, ...] = ("tiny", "cpu", "large")


@dataclass(frozen=True)
class AudioEncoderConfig:
    """An audio encoder: 16 kHz waveform -> (T, dim) features at 49.8 fps.

    Attributes:
        kind: ``hf_ssl`` (a transformers SSL model) or ``logmel`` (log-mel conformer from scratch).
        norm: Output standardisation (non-affine, one mean/var per utterance or per batch).
        input_norm: hf_ssl: standardise the waveform first (the feature extractor's
            ``do_normalize``); same ``norm`` scope as the output.
        hf_path: hf_ssl: a local transformers model directory with pretrained weights.
        hf_config: hf_ssl: a transformers config as a dict (``model_type`` plus fields); builds a
            randomly initialised model. Filled from ``hf_path`` when a model is built from it.
        layer: hf_ssl: which hidden state to return; None = ``last_hidden_state`` (reference).
        n_mels: logmel: mel bands (n_fft 400, hop 320, no centring: T = n_ssl_frames(N));
            0 = no log-mel (then the periodicity stream alone, which needs ``periodicity_bins``).
        dim: logmel: model width (output dimension).
        n_layers: logmel: conformer blocks.
        n_heads: logmel: attention heads.
        ffn_dim: logmel: feed-forward width.
        conv_kernel: logmel: depthwise convolution kernel (frames, odd).
        periodicity_bins: logmel: also feed YIN periodicity salience at this many pitch-spaced
            lags (65-1000 Hz; 0 = off), a timbre-independent pitch and voicing stream.
        dropout: logmel: dropout probability (0 by default: on 2 CPU cores dropout costs about
            30 % of a training step of this small model).
    """

    kind: AudioEncoderKind = "logmel"
    norm: NormMode = "utterance"
    input_norm: bool = True
    hf_path: str | None = None
    hf_config: dict[str, Any] | None = None
    layer: int | None = None
    n_mels: int = 64
    dim: int = 96
    n_layers: int = 2
    n_heads: int = 4
    ffn_dim: int = 192
    conv_kernel: int = 15
    periodicity_bins: int = 0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _check_choice("audio_encoder.kind", self.kind, AudioEncoderKind)
        _check_choice("audio_encoder.norm", self.norm, NormMode)
        if self.kind == "hf_ssl" and self.hf_path is None and self.hf_config is None:
            raise ConfigError("audio_encoder: hf_ssl needs hf_path or hf_config")
        if self.kind == "logmel":
            if self.dim % self.n_heads:
                raise ConfigError(f"audio_encoder: dim {self.dim} not divisible by n_heads")
            if self.conv_kernel % 2 == 0:
                raise ConfigError("audio_encoder: conv_kernel must be odd")
            if self.n_mels < 0 or self.periodicity_bins < 0:
                raise ConfigError("audio_encoder: n_mels and periodicity_bins must be >= 0")
            if self.n_mels + self.periodicity_bins == 0:
                raise ConfigError("audio_encoder: needs n_mels or periodicity_bins above 0")


@dataclass(frozen=True)
class VideoEncoderConfig:
    """An AV-HuBERT-shaped video encoder: (T, H, W) mouth crops at 50 fps -> (T, dim) features.

    Defaults are AV-HuBERT Large (``large_vox_iter5.pt``).

    Attributes:
        checkpoint_path: Official fairseq checkpoint to load weights from (None: random init).
        stem_channels: Output channels of the 3D-conv stem (64).
        stem_kernel_t: Temporal kernel of the stem (5).
        widths: Channels of the four ResNet stages (64, 128, 256, 512).
        blocks: BasicBlocks per stage (2, 2, 2, 2 = ResNet-18).
        dim: Transformer width D (1024).
        n_layers: Transformer layers (24).
        n_heads: Attention heads (16).
        ffn_dim: Feed-forward width (4096).
        conv_pos: Convolutional positional embedding kernel (128).
        conv_pos_groups: Its groups (16).
        dropout: Residual dropout (0.1).
        attention_dropout: Dropout on attention probabilities (0.1).
        activation_dropout: Dropout after the FFN activation (0.0).
        layerdrop: Probability of skipping a layer in training (0.05).
        dropout_input: Dropout after the 2D -> D projection (0.1).
        feature_grad_mult: Gradient scale into the front end (0.1 in the checkpoint's cfg).
        crop_size: Square crop side (88): centre crop in eval, random crop (+ flip) in training.
        downsample: Average-pool factor applied to the crop (1 = none; for cheap CPU models).
        image_mean: Pixel mean after /255 (0.421).
        image_std: Pixel std after /255 (0.165).
        train_augment: Random crop and horizontal flip (p 0.5) in training mode.
        photometric_augment: Also, in training mode, each utterance's own random contrast
            (x0.6-1.5 about its mean), brightness (+-0.12), gamma (0.7-1.45) and sensor noise
            (s.d. 0-0.03), on the 0..1 scale, for lighting, camera and skin beyond the
            corpus' (off in every preset: on the demo it lifted GRID video-only onset F1
            0.67 -> 0.71 but not AV's, BENCHMARKS.md).
        appearance_norm: Remove each utterance's still appearance before the network: subtract
            its own mean image (per pixel, over its valid frames, after downsampling) and divide
            by the spread of what is left, in training and inference alike, instead of the fixed
            ``image_mean`` / ``image_std``. What stays is how the mouth moves; the face, skin,
            lighting and camera that do not change within an utterance go. On in the ``cpu``
            preset (over two training seeds of the demo: AV on the embedded test split +6 COn
            at -10 dB and +11 COnPOff clean; on the real GRID mouths video-only onset F1 +0.03
            and clean AV -0.06; BENCHMARKS.md, "Lips: the mouth's movement without the face");
            off by default and in ``large``, whose pretrained AV-HuBERT weights expect the
            reference's pixels.
        output_norm: Output standardisation (reference: whole tensor; see :data:`NormMode`).
        frame_rate_mode: See :data:`FrameRateMode`.
    """

    checkpoint_path: str | None = None
    stem_channels: int = 64
    stem_kernel_t: int = 5
    widths: tuple[int, ...] = (64, 128, 256, 512)
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    dim: int = 1024
    n_layers: int = 24
    n_heads: int = 16
    ffn_dim: int = 4096
    conv_pos: int = 128
    conv_pos_groups: int = 16
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float = 0.0
    layerdrop: float = 0.05
    dropout_input: float = 0.1
    feature_grad_mult: float = 1.0
    crop_size: int = VIDEO_MIN_SIDE
    downsample: int = 1
    image_mean: float = VIDEO_MEAN
    image_std: float = VIDEO_STD
    train_augment: bool = True
    photometric_augment: bool = False
    appearance_norm: bool = False
    output_norm: NormMode = "utterance"
    frame_rate_mode: FrameRateMode = "as_is"

    def __post_init__(self) -> None:
        _check_choice("video_encoder.output_norm", self.output_norm, NormMode)
        _check_choice("video_encoder.frame_rate_mode", self.frame_rate_mode, FrameRateMode)
        if len(self.widths) != 4 or len(self.blocks) != 4:
            raise ConfigError("video_encoder: widths and blocks need 4 entries (ResNet stages)")
        if self.dim % self.n_heads or self.dim % self.conv_pos_groups:
            raise ConfigError("video_encoder: dim must be divisible by n_heads and groups")
        if self.crop_size % self.downsample:
            raise ConfigError("video_encoder: crop_size must be a multiple of downsample")


@dataclass(frozen=True)
class FusionConfig:
    """Audio-visual fusion (reference section 6.5).

    Attributes:
        kind: ``rca`` (residual cross-attention, the reference) or ``concat`` (ablation).
        n_heads: rca: attention heads (8).
        ffn_dim: rca: feed-forward width (3072).
        alpha: rca: weight of self-attention vs cross-attention (0.5).
        dropout: rca: dropout (0.0).
        layer_norm_eps: rca: LayerNorm epsilon (1e-6).
    """

    kind: FusionKind = "rca"
    n_heads: int = 8
    ffn_dim: int = 3072
    alpha: float = 0.5
    dropout: float = 0.0
    layer_norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        _check_choice("fusion.kind", self.kind, FusionKind)


@dataclass(frozen=True)
class ModelConfig:
    """A whole transcriber.

    Attributes:
        modality: ``audio``, ``video`` or ``audio_visual``.
        d_model: Width of the fusion and the head input. Encoder outputs of another width are
            projected by a Linear layer (the reference has none: all widths are 1024).
        audio_encoder: Required for ``audio`` and ``audio_visual``.
        video_encoder: Required for ``video``; optional for ``audio_visual`` (without it the model
            only runs on precomputed features, the reference's stage 2).
        fusion: Required for ``audio_visual``.
        takes_video: ``audio_visual`` only: False for the reference's "A" system, trained with
            the video stream zeroed; such a model consumes audio only and ignores any video.
        utterance_s: The model's native utterance length in seconds: training cuts songs into
            such utterances, and inference (:func:`avsvt.models.apply.apply_model`) runs the
            model on the same cut, so frame times follow the grid it was trained on.
    """

    modality: Modality
    d_model: int
    audio_encoder: AudioEncoderConfig | None = None
    video_encoder: VideoEncoderConfig | None = None
    fusion: FusionConfig | None = None
    takes_video: bool = True
    utterance_s: int = UTTERANCE_S

    def __post_init__(self) -> None:
        _check_choice("modality", self.modality, Modality)
        if self.modality in ("audio", "audio_visual") and self.audio_encoder is None:
            raise ConfigError(f"modality {self.modality} needs an audio_encoder")
        if self.modality == "video" and self.video_encoder is None:
            raise ConfigError("modality video needs a video_encoder")
        if self.modality == "audio_visual" and self.fusion is None:
            raise ConfigError("modality audio_visual needs a fusion")
        if self.fusion is not None and self.fusion.kind == "rca":
            if self.d_model % self.fusion.n_heads:
                raise ConfigError("d_model must be divisible by fusion.n_heads")
        if not self.takes_video and self.modality != "audio_visual":
            raise ConfigError("takes_video: false applies to audio_visual models only")
        if self.utterance_s < 1:
            raise ConfigError(f"utterance_s must be at least 1, not {self.utterance_s}")

    @property
    def grid(self) -> UtteranceGrid:
        """The model's utterances and frame grids (:class:`avsvt.utterances.UtteranceGrid`)."""
        return UtteranceGrid(utterance_s=self.utterance_s)

    @property
    def uses_video(self) -> bool:
        """True when the model consumes mouth crops (video; audio_visual unless the "A" system)."""
        return self.modality == "video" or (self.modality == "audio_visual" and self.takes_video)

    @property
    def uses_audio(self) -> bool:
        """True when the model consumes audio."""
        return self.modality != "video"

    @property
    def frame_rate(self) -> float:
        """Output frames per second of the stitched grid: 49.8 for audio and AV, 50 for video."""
        grid = self.grid
        return grid.video_fps if self.modality == "video" else grid.audio_fps

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` of the config (JSON-compatible apart from tuples)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str = "model config", prefix: str = "model."
    ) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict` output (or parsed JSON/YAML).

        Args:
            data: The config's values.
            source: The file errors name (e.g. the checkpoint that stores the config).
            prefix: The key path errors give before a key (``model.``; ``""`` for none).

        Raises:
            ConfigError: Unknown keys, missing required keys or invalid values, naming
                ``source`` (also the checks of the config classes, which name only a field).
        """
        try:
            return from_dict(cls, data, source=source, prefix=prefix)
        except ConfigError as exc:
            if exc.path is not None:
                raise
            raise ConfigError(exc.message, path=source) from None


def _check_choice(name: str, value: object, literal: object) -> None:
    choices = get_args(literal)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")


# --- presets -----------------------------------------------------------------------------------

WAV2VEC2_LARGE_LV60: dict[str, Any] = {
    "model_type": "wav2vec2",
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "feat_extract_norm": "layer",
    "feat_extract_activation": "gelu",
    "do_stable_layer_norm": True,
    "conv_bias": True,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "hidden_dropout": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.1,
    "feat_proj_dropout": 0.1,
    "layerdrop": 0.1,
}
"""wav2vec2-large-lv60's architecture (HF hub config values), for random-init shape work."""


def _tiny_video() -> VideoEncoderConfig:
    return VideoEncoderConfig(
        stem_channels=4,
        stem_kernel_t=3,
        widths=(4, 4, 8, 8),
        blocks=(1, 1, 1, 1),
        dim=32,
        n_layers=1,
        n_heads=2,
        ffn_dim=64,
        conv_pos=4,
        conv_pos_groups=2,
        layerdrop=0.0,
        downsample=4,
    )


def preset(name: str, modality: str = "audio") -> ModelConfig:
    """A named configuration.

    Args:
        name: ``tiny``, ``cpu`` or ``large`` (see the module docstring).
        modality: ``audio``, ``video`` or ``audio_visual``.

    Raises:
        ConfigError: Unknown name or modality.
    """
    _check_choice("modality", modality, Modality)
    mod = typing.cast(Modality, modality)
    if name == "tiny":
        return ModelConfig(
            modality=mod,
            d_model=32,
            audio_encoder=AudioEncoderConfig(
                n_mels=16, dim=32, n_layers=1, n_heads=2, ffn_dim=64, conv_kernel=5, dropout=0.0
            ),
            video_encoder=_tiny_video(),
            fusion=FusionConfig(n_heads=2, ffn_dim=64),
        )
    if name == "cpu":
        # Measured on 2 cores (benchmarks/bench_models.py): audio ~4 ms of forward+backward per
        # second of audio; video ~20 ms per second (the 3D stem's backward dominates; 22x22 input).
        return ModelConfig(
            modality=mod,
            d_model=96,
            audio_encoder=AudioEncoderConfig(),
            video_encoder=VideoEncoderConfig(
                stem_channels=8,
                stem_kernel_t=5,
                widths=(8, 16, 32, 64),
                blocks=(1, 1, 1, 1),
                dim=96,
                n_layers=2,
                n_heads=4,
                ffn_dim=192,
                conv_pos=16,
                conv_pos_groups=4,
                layerdrop=0.0,
                downsample=4,
                appearance_norm=True,
            ),
            fusion=FusionConfig(n_heads=4, ffn_dim=192),
        )
    if name == "large":
        return ModelConfig(
            modality=mod,
            d_model=1024,
            audio_encoder=AudioEncoderConfig(kind="hf_ssl", hf_config=dict(WAV2VEC2_LARGE_LV60)),
            video_encoder=VideoEncoderConfig(feature_grad_mult=0.1),
            fusion=FusionConfig(),
        )
    raise ConfigError(f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}")


def configure(
    name: str,
    modality: str,
    changes: Mapping[str, Any] | None = None,
    *,
    source: str = "model config",
    prefix: str = "model.",
) -> ModelConfig:
    """A preset with some of its values changed (nested keys, as in a run config's ``model:``).

    ``configure("large", "audio", {"audio_encoder": {"hf_path": "/models/w2v2"}})`` is the large
    preset whose audio encoder loads local weights; a changed sub-config keeps its other values.

    Args:
        name: The preset.
        modality: ``audio``, ``video`` or ``audio_visual``.
        changes: Nested changes to the preset's values.
        source: What errors about ``changes`` name as the file (e.g. the run config).
        prefix: The key path errors give before a changed key (e.g. ``audio.model.``).

    Raises:
        ConfigError: Unknown preset, keys or values.
    """
    merged = merge(preset(name, modality).to_dict(), changes or {})
    return from_dict(ModelConfig, merged, source=source, prefix=prefix)
