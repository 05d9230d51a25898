"""What ``avsvt transcribe`` runs: a trained checkpoint, or an f0 note tracker (built in or fitted).

A fitted tracker is the JSON model file the recipe's ``f0notes`` step writes. Checkpoints load
through :func:`avsvt.models.checkpoint.load_model` (imported on use: the f0 tracker needs no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from avsvt.errors import CheckpointError
from avsvt.f0notes import F0NoteSettings

if TYPE_CHECKING:
    from avsvt.models.transcriber import Transcriber


@dataclass(frozen=True)
class F0NoteTracker:
    """The built-in transcription: notes from the voice's f0, audio only (:mod:`avsvt.f0notes`)."""

    settings: F0NoteSettings = field(default_factory=F0NoteSettings)

    @property
    def uses_video(self) -> bool:
        """Always False: the tracker listens only."""
        return False


Transcription: TypeAlias = "Transcriber | F0NoteTracker"
"""What :func:`avsvt.transcribe.api.transcribe_array` runs: a trained model or the f0 tracker."""


def load_predictor(model: str | Path | None) -> Transcription:
    """Load a checkpoint, an f0-notes model file (``.json``), or (None) the built-in tracker.

    Raises:
        CheckpointError: Missing file, or not a model avsvt can transcribe with.
    """
    if model is None:
        return F0NoteTracker()
    path = Path(model)
    if path.suffix.lower() == ".json":
        from avsvt.f0notes import read_f0_model

        return F0NoteTracker(read_f0_model(path)[0])
    if not path.exists():
        raise CheckpointError("model file not found", path=path)
    from avsvt.models.checkpoint import load_model

    return load_model(path)
