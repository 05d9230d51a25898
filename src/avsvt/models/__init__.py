"""Models: configs, audio/video encoders, fusion, the head, :class:`Transcriber` and checkpoints.

Importing this package imports torch (transformers only when an hf_ssl encoder is built).
"""

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
