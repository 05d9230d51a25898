"""Loading what ``avsvt transcribe`` runs: a trained checkpoint, or the built-in f0 note tracker."""

from __future__ import annotations

import importlib
from pathlib import Path

from avsvt.errors import CheckpointError
from avsvt.transcribe.api import F0NoteTracker, Transcription


def load_predictor(model: str | Path | None) -> Transcription:
    """Load a transcription checkpoint, or the built-in f0 note tracker when ``model`` is None.

    Raises:
        CheckpointError: Missing file, or not a checkpoint avsvt can transcribe with.
    """
    if model is None:
        return F0NoteTracker()
    path = Path(model)
    if not path.exists():
        raise CheckpointError("model file not found", path=path)
    try:
        models = importlib.import_module("avsvt.models.predictor")
    except ImportError:
        raise CheckpointError(
            "this installation has no model support (avsvt.models)", path=path
        ) from None
    predictor: Transcription = models.load_predictor(path)
    return predictor
