"""Per-song label files next to the corpus, as the reference's preparation writes them.

For each song: ``data/<song>/note_anno.json`` (the song's note list),
``audio_anno/49.8fps/audio_frame_anno.npy`` and ``video_anno/50fps/video_frame_anno.npy``
((T, 4) int64 labels, see :mod:`avsvt.labels`). These two label paths are the only ones we use
(the reference's CSVs point at a third, ``frame_anno.npy``, that nothing writes: quirk Q1).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsvt.constants import AUDIO_FPS, SAMPLE_RATE, VIDEO_FPS
from avsvt.data.atomic import write_bytes_atomic
from avsvt.data.audio import audio_info
from avsvt.data.n20em import Song
from avsvt.data.video import video_shape
from avsvt.errors import DataError
from avsvt.labels import LabelArray, n_label_frames, notes_to_labels
from avsvt.notefiles import write_json_notes

NOTE_ANNO = "note_anno.json"
AUDIO_LABELS = Path("audio_anno") / "49.8fps" / "audio_frame_anno.npy"
VIDEO_LABELS = Path("video_anno") / "50fps" / "video_frame_anno.npy"


@dataclass(frozen=True)
class PreparedCounts:
    """How many songs were labelled and how many were already done."""

    written: int
    skipped: int


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Save a numpy array to ``path`` atomically (no pickled objects)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    write_bytes_atomic(path, buffer.getvalue())


def audio_labels(song: Song) -> LabelArray:
    """49.8 fps labels over the song's vocals: ``round(duration_s * 49.8)`` frames."""
    info = audio_info(song.vocals_path)
    if info.frames == 0:
        raise DataError("audio file has no samples", path=song.vocals_path)
    n_samples = round(info.frames * SAMPLE_RATE / info.samplerate)
    return notes_to_labels(song.notes, n_label_frames(n_samples, AUDIO_FPS), AUDIO_FPS)


def video_labels(song: Song) -> LabelArray:
    """50 fps labels over the song's video: one row per video frame."""
    n_frames = video_shape(song.video_path)[0]
    return notes_to_labels(song.notes, n_frames, VIDEO_FPS)


def prepare_song_labels(song: Song, *, overwrite: bool = False) -> bool:
    """Write one song's label files; returns False when they all exist and ``overwrite`` is off."""
    targets = [song.folder / NOTE_ANNO, song.folder / AUDIO_LABELS]
    has_video = song.video_path.exists()
    if has_video:
        targets.append(song.folder / VIDEO_LABELS)
    if not overwrite and all(t.exists() for t in targets):
        return False
    write_json_notes(song.folder / NOTE_ANNO, list(song.notes))
    save_npy_atomic(song.folder / AUDIO_LABELS, audio_labels(song))
    if has_video:
        save_npy_atomic(song.folder / VIDEO_LABELS, video_labels(song))
    return True


def prepare_labels(songs: list[Song], *, overwrite: bool = False) -> PreparedCounts:
    """Write label files for every song, skipping songs already done."""
    written = sum(prepare_song_labels(song, overwrite=overwrite) for song in songs)
    return PreparedCounts(written=written, skipped=len(songs) - written)
