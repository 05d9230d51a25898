"""avsvt: audio-visual singing voice transcription.

The public API: notes, labels, decoding, metrics and note files. Heavier parts (models, training,
transcription) live in subpackages and are imported on use.
"""

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
    "write_notes",
]
