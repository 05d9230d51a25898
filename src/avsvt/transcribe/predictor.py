"""Loading what ``avsvt transcribe`` runs: a checkpoint, or an f0 note tracker (built in or fitted).

A fitted tracker is the JSON model file the recipe's ``f0notes`` step writes.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from avsvt.errors import CheckpointError
from avsvt.transcribe.api import F0NoteTracker, Transcription


def load_predictor(model: str | Path | None) -> Transcription:
    """Load a checkpoint, an f0-notes model file (``.json``), or (None) the built-in tracker.

    Raises:
        CheckpointError: Missing file, or not a model avsvt can transcribe with.
    """
    if model is None:
        return F0NoteTracker()
    path = Path(model)
    if not path.exists():
        raise CheckpointError("model file not found", path=path)
    if path.suffix.lower() == ".json":
        from avsvt.f0notes import f0_settings_from_json

        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"cannot read model file ({exc})", path=path) from None
        return F0NoteTracker(f0_settings_from_json(text, source=str(path)))
    try:
        models = importlib.import_module("avsvt.models.predictor")
    except ImportError:
        raise CheckpointError(
            "this installation has no model support (avsvt.models)", path=path
        ) from None
    predictor: Transcription = models.load_predictor(path)
    return predictor
