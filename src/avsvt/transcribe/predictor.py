"""Loading the model behind ``avsvt transcribe`` as a ``FramePredictor``."""

from __future__ import annotations

import importlib
from pathlib import Path

from avsvt.errors import CheckpointError
from avsvt.transcribe.api import FramePredictor

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "default_model.safetensors"
"""The built-in model, trained by the project's recipe on the embedded corpus."""


def load_predictor(model: str | Path | None) -> FramePredictor:
    """Load a transcription checkpoint (the built-in model when ``model`` is None).

    Raises:
        CheckpointError: Missing file, or not a checkpoint avsvt can transcribe with.
    """
    path = Path(model) if model is not None else DEFAULT_MODEL
    if not path.exists():
        if model is None:
            raise CheckpointError(
                "no built-in model is installed yet: pass --model CHECKPOINT", path=path
            )
        raise CheckpointError("model file not found", path=path)
    try:
        models = importlib.import_module("avsvt.models.predictor")
    except ImportError:
        raise CheckpointError(
            "this installation has no model support (avsvt.models)", path=path
        ) from None
    predictor: FramePredictor = models.load_predictor(path)
    return predictor
