"""The N20EMv2 corpus layout, read and validated exactly as the reference lays it out.

::

    ROOT/annotations.json              {song_id: {"split": "train"|"valid"|"test",
                                                  "midi": [[onset_s, offset_s, pitch], ...], ...}}
    ROOT/data/<song>/vocals.wav        16 kHz mono
    ROOT/data/<song>/accomp.wav        16 kHz mono, same number of samples as vocals.wav
    ROOT/data/<song>/video_50fps.npy   (T, H, W) uint8 mouth ROIs at 50 fps, H, W >= 88
    ROOT/data/<song>/noise_data/       optional: <type>/SNR_<snr>dB.wav, written by `avsvt noise`

Song ids are folder names: ids with path separators or ``..`` are refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avsvt.constants import SAMPLE_RATE, SPLITS, VIDEO_FPS
from avsvt.data.atomic import write_json_atomic
from avsvt.data.audio import audio_info
from avsvt.data.video import video_shape
from avsvt.errors import DataError
from avsvt.notes import Note, note_problems, notes_from_rows, notes_to_rows, overlapping_pairs

ANNOTATIONS = "annotations.json"
VOCALS = "vocals.wav"
ACCOMP = "accomp.wav"
VIDEO = "video_50fps.npy"
NOISE_DIR = "noise_data"
MAX_VIDEO_AUDIO_MISMATCH_S = 1.0
"""Largest |T/50 - audio duration| accepted; AV alignment truncates or pads up to this."""


@dataclass(frozen=True)
class Song:
    """One song of an N20EMv2 root."""

    song_id: str
    split: str
    notes: tuple[Note, ...]
    folder: Path

    @property
    def vocals_path(self) -> Path:
        """``data/<song>/vocals.wav``."""
        return self.folder / VOCALS

    @property
    def accomp_path(self) -> Path:
        """``data/<song>/accomp.wav``."""
        return self.folder / ACCOMP

    @property
    def video_path(self) -> Path:
        """``data/<song>/video_50fps.npy``."""
        return self.folder / VIDEO

    @property
    def noise_dir(self) -> Path:
        """``data/<song>/noise_data``."""
        return self.folder / NOISE_DIR

    def noisy_path(self, noise_type: str, snr_db: int) -> Path:
        """``noise_data/<type>/SNR_<snr>dB.wav``."""
        return self.noise_dir / noise_type / f"SNR_{snr_db}dB.wav"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a corpus: where, and what."""

    song_id: str | None
    path: Path
    message: str
    is_error: bool = True

    def __str__(self) -> str:
        level = "error" if self.is_error else "warning"
        song = f"[{self.song_id}] " if self.song_id else ""
        return f"{level}: {song}{self.path}: {self.message}"


def song_id_problem(song_id: object) -> str | None:
    """Return why a song id is unsafe as a folder name, or None when it is fine."""
    if not isinstance(song_id, str) or not song_id.strip():
        return "song id must be a non-empty string"
    if "/" in song_id or "\\" in song_id or ".." in song_id or song_id in {".", "~"}:
        return f"song id {song_id!r} contains a path separator or '..'"
    if song_id.startswith(".") or "\x00" in song_id:
        return f"song id {song_id!r} is not a plain folder name"
    return None


def _entry_problems(song_id: str, entry: object) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) about one annotations.json entry."""
    if not isinstance(entry, dict):
        return [f"entry must be an object with 'split' and 'midi', got {type(entry).__name__}"], []
    errors: list[str] = []
    split = entry.get("split")
    if split is None:
        errors.append("missing 'split'")
    elif split not in SPLITS:
        errors.append(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    rows = entry.get("midi")
    if not isinstance(rows, list):
        errors.append("missing or non-list 'midi' note list")
        return errors, []
    notes = []
    for i, row in enumerate(rows):
        if (
            not isinstance(row, list | tuple)
            or len(row) != 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row)
        ):
            errors.append(f"note {i}: expected [onset_s, offset_s, pitch] numbers, got {row!r}")
            continue
        note = Note(float(row[0]), float(row[1]), float(row[2]))
        errors += [f"note {i}: {p}" for p in note_problems(note)]
        notes.append(note)
    warnings = []
    if not errors:
        overlaps = overlapping_pairs(notes)
        if overlaps:
            a, b = overlaps[0]
            warnings.append(
                f"{len(overlaps)} overlapping note pair(s), e.g. {a} and {b}; "
                "labels cut each note at the next onset"
            )
    return errors, warnings


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate key(s) {duplicates[:3]}")
    return dict(pairs)


def read_annotations(root: str | Path) -> dict[str, Any]:
    """Read ``annotations.json`` as a dict (structure only; see :func:`load_songs`).

    Raises:
        DataError: Missing file, invalid JSON, or not an object of song entries.
    """
    path = Path(root) / ANNOTATIONS
    if not path.is_file():
        raise DataError("annotations.json not found", path=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise DataError(f"invalid JSON ({exc})", path=path) from exc
    if not isinstance(data, dict):
        raise DataError("must be a JSON object keyed by song id", path=path)
    return data


def load_songs(root: str | Path, *, splits: tuple[str, ...] = SPLITS) -> list[Song]:
    """Read the songs of an N20EMv2 root in annotations.json order, checking the annotations.

    Args:
        root: The N20EMv2 root.
        splits: Keep only songs of these splits.

    Raises:
        DataError: Annotations are invalid (the first problem is named); run ``avsvt validate``
            for the complete list.
    """
    root = Path(root)
    data = read_annotations(root)
    if not data:
        raise DataError("corpus has no songs", path=root / ANNOTATIONS)
    songs = []
    for song_id, entry in data.items():
        problem = song_id_problem(song_id)
        errors = [problem] if problem else _entry_problems(song_id, entry)[0]
        if errors:
            raise DataError(f"song {song_id!r}: {errors[0]}", path=root / ANNOTATIONS)
        if entry["split"] in splits:
            notes = tuple(notes_from_rows(entry["midi"]))
            songs.append(Song(song_id, entry["split"], notes, root / "data" / song_id))
    return songs


def iter_split(songs: list[Song], split: str) -> Iterator[Song]:
    """Yield the songs of one split."""
    return (s for s in songs if s.split == split)


def _file_problems(song_id: str, folder: Path, *, need_video: bool) -> list[Problem]:
    problems: list[Problem] = []
    infos = {}
    for name in (VOCALS, ACCOMP):
        path = folder / name
        try:
            info = audio_info(path)
        except DataError as exc:
            problems.append(Problem(song_id, path, exc.message))
            continue
        infos[name] = info
        if info.frames == 0:
            problems.append(Problem(song_id, path, "audio file has no samples"))
        if info.samplerate != SAMPLE_RATE or info.channels != 1:
            problems.append(
                Problem(
                    song_id,
                    path,
                    f"{info.samplerate} Hz, {info.channels} channel(s): will be resampled/"
                    f"downmixed to {SAMPLE_RATE} Hz mono on load (the reference refuses it)",
                    is_error=False,
                )
            )
    if len(infos) == 2:
        vocals, accomp = infos[VOCALS], infos[ACCOMP]
        vocals_s, accomp_s = vocals.frames / vocals.samplerate, accomp.frames / accomp.samplerate
        if not math.isclose(vocals_s, accomp_s, abs_tol=0.5 / SAMPLE_RATE):
            problems.append(
                Problem(
                    song_id,
                    folder / ACCOMP,
                    f"length {accomp_s:.4f} s differs from vocals.wav ({vocals_s:.4f} s)",
                )
            )
    video_path = folder / VIDEO
    if not need_video and not video_path.exists():
        return problems
    try:
        shape = video_shape(video_path)
    except DataError as exc:
        problems.append(Problem(song_id, video_path, exc.message))
        return problems
    if VOCALS in infos:
        vocals_s = infos[VOCALS].frames / infos[VOCALS].samplerate
        video_s = shape[0] / VIDEO_FPS
        if abs(video_s - vocals_s) > MAX_VIDEO_AUDIO_MISMATCH_S:
            problems.append(
                Problem(
                    song_id,
                    video_path,
                    f"{shape[0]} frames = {video_s:.2f} s at 50 fps, but vocals.wav is "
                    f"{vocals_s:.2f} s "
                    f"(more than {MAX_VIDEO_AUDIO_MISMATCH_S:g} s apart)",
                )
            )
    return problems


def validate_root(root: str | Path, *, need_video: bool = True) -> list[Problem]:
    """Check an N20EMv2 root completely and return every problem found.

    Args:
        root: The N20EMv2 root.
        need_video: Report missing ``video_50fps.npy`` as an error (audio-only users can say no).

    Returns:
        All problems (errors and warnings), in annotations order.
    """
    root = Path(root)
    ann_path = root / ANNOTATIONS
    if not root.is_dir():
        return [Problem(None, root, "not a directory")]
    try:
        data = read_annotations(root)
    except DataError as exc:
        return [Problem(None, ann_path, exc.message)]
    if not data:
        return [Problem(None, ann_path, "corpus has no songs")]
    problems: list[Problem] = []
    for song_id, entry in data.items():
        id_problem = song_id_problem(song_id)
        if id_problem:
            problems.append(Problem(None, ann_path, id_problem))
            continue
        errors, warnings = _entry_problems(song_id, entry)
        problems += [Problem(song_id, ann_path, m) for m in errors]
        problems += [Problem(song_id, ann_path, m, is_error=False) for m in warnings]
        folder = root / "data" / song_id
        if not folder.is_dir():
            problems.append(Problem(song_id, folder, "song folder not found"))
            continue
        problems += _file_problems(song_id, folder, need_video=need_video)
    return problems


def write_annotations(root: str | Path, songs: dict[str, tuple[str, list[Note]]]) -> Path:
    """Write ``annotations.json`` for ``{song_id: (split, notes)}`` atomically; returns its path."""
    data = {
        sid: {"split": split, "midi": notes_to_rows(notes)} for sid, (split, notes) in songs.items()
    }
    path = Path(root) / ANNOTATIONS
    write_json_atomic(path, data, indent=1)
    return path
