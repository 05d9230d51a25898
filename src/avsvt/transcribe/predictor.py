"""What ``avsvt transcribe`` runs: a trained checkpoint, or an f0 note tracker (built in or fitted).

A fitted tracker is the JSON model file the recipe's ``f0notes`` step writes. Checkpoints load
through :func:`avsvt.models.checkpoint.load_model` (imported on use: the f0 tracker needs no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

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


F0_MODEL_MAX_BYTES = 1 << 20
"""The most of an f0-notes model file that is read (the recipe writes a few hundred bytes)."""


def read_f0_model(path: str | Path) -> tuple[F0NoteSettings, dict[str, Any]]:
    """Read an f0-notes model file: its settings and its whole body (for ``model inspect``).

    Only a regular file is opened, and at most :data:`F0_MODEL_MAX_BYTES` of it are read, so a
    device, a pipe or a huge file is refused before anything is allocated.

    Raises:
        CheckpointError: Not a regular file, too large, not UTF-8, or not a valid model file
            (:func:`avsvt.f0notes.f0_model_from_json`).
    """
    from avsvt.data.files import not_a_file
    from avsvt.f0notes import f0_model_from_json

    path = Path(path)
    problem = not_a_file(path, missing="model file not found")
    if problem:
        raise CheckpointError(problem, path=path)
    try:
        with path.open("rb") as handle:
            data = handle.read(F0_MODEL_MAX_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(
            f"cannot read model file ({exc.strerror or exc})", path=path
        ) from None
    if len(data) > F0_MODEL_MAX_BYTES:
        raise CheckpointError(
            f"too large for an f0-notes model file (over {F0_MODEL_MAX_BYTES // 1024} KiB; "
            "the recipe writes a few hundred bytes)",
            path=path,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(
            f"not a model file (not UTF-8 text: {exc.reason})", path=path
        ) from None
    return f0_model_from_json(text, source=str(path))


def load_predictor(model: str | Path | None) -> Transcription:
    """Load a checkpoint, an f0-notes model file (``.json``), or (None) the built-in tracker.

    Raises:
        CheckpointError: Missing file, or not a model avsvt can transcribe with.
    """
    if model is None:
        return F0NoteTracker()
    path = Path(model)
    if path.suffix.lower() == ".json":
        return F0NoteTracker(read_f0_model(path)[0])
    if not path.exists():
        raise CheckpointError("model file not found", path=path)
    from avsvt.models.checkpoint import load_model

    return load_model(path)
