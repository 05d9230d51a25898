"""avsvt: audio-visual singing voice transcription.

The public API: notes, labels, decoding, metrics and note files, and ``transcribe_file`` (a
recording, optionally with lip video, to notes). Heavier parts (models, training, transcription)
live in subpackages and are imported on use.
"""

from typing import Any

from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.errors import AvsvtError, CheckpointError, ConfigError, DataError
from avsvt.labels import notes_to_labels
from avsvt.metrics import NoteScores, score_notes
from avsvt.notefiles import read_notes, write_notes
from avsvt.notes import Note

__version__ = "0.1.0"

__all__ = [
    "AvsvtError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DecoderConfig",
    "FramePosteriors",
    "Note",
    "NoteScores",
    "__version__",
    "decode_notes",
    "notes_to_labels",
    "read_notes",
    "score_notes",
    "transcribe_file",
    "write_notes",
]


def __getattr__(name: str) -> Any:
    if name == "transcribe_file":  # imported on first use: it pulls in scipy and the f0 tracker
        from avsvt.transcribe.api import transcribe_file

        return transcribe_file
    raise AttributeError(f"module 'avsvt' has no attribute {name!r}")
