"""Models: configs, audio/video encoders, fusion, the head, :class:`Transcriber` and checkpoints.

The public names below are imported on first use: ``avsvt.models.config`` (and so loading a run
config) needs no torch; ``Transcriber``, the checkpoint functions and the encoders import torch
(transformers only when an hf_ssl encoder is built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from avsvt.models.checkpoint import load_checkpoint, load_model, save_checkpoint, save_model
    from avsvt.models.config import (
        AudioEncoderConfig,
        FusionConfig,
        ModelConfig,
        VideoEncoderConfig,
        configure,
        preset,
    )
    from avsvt.models.transcriber import EncoderFeatures, Transcriber, TranscriberOutput

__all__ = [
    "AudioEncoderConfig",
    "EncoderFeatures",
    "FusionConfig",
    "ModelConfig",
    "Transcriber",
    "TranscriberOutput",
    "VideoEncoderConfig",
    "configure",
    "load_checkpoint",
    "load_model",
    "preset",
    "save_checkpoint",
    "save_model",
]

_CHECKPOINT = ("load_checkpoint", "load_model", "save_checkpoint", "save_model")
_CONFIG = (
    "AudioEncoderConfig",
    "FusionConfig",
    "ModelConfig",
    "VideoEncoderConfig",
    "configure",
    "preset",
)
_TRANSCRIBER = ("EncoderFeatures", "Transcriber", "TranscriberOutput")


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (then it is a plain attribute)."""
    if name in _CHECKPOINT:
        import avsvt.models.checkpoint

        value = getattr(avsvt.models.checkpoint, name)
    elif name in _CONFIG:
        import avsvt.models.config

        value = getattr(avsvt.models.config, name)
    elif name in _TRANSCRIBER:
        import avsvt.models.transcriber

        value = getattr(avsvt.models.transcriber, name)
    else:
        raise AttributeError(f"module 'avsvt.models' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
