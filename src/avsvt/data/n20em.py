"""The N20EMv2 corpus layout, read and validated exactly as the reference lays it out.

::

    ROOT/annotations.json              {song_id: {"split": "train"|"valid"|"test",
                                                  "midi": [[onset_s, offset_s, pitch], ...], ...}}
    ROOT/data/<song>/vocals.wav        16 kHz mono
    ROOT/data/<song>/accomp.wav        16 kHz mono, same number of samples as vocals.wav
    ROOT/data/<song>/video_50fps.npy   (T, H, W) uint8 mouth ROIs at 50 fps, H, W >= 88
    ROOT/data/<song>/noise_data/       optional: <type>/SNR_<snr>dB.wav, written by `avsvt noise`

Song ids are folder names: ids with path separators or ``..``, or over 255 bytes, are refused.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avsvt.constants import SAMPLE_RATE, SPLITS, VIDEO_FPS
from avsvt.data.atomic import write_json_atomic
from avsvt.data.audio import scan_audio
from avsvt.data.files import require_file
from avsvt.data.video import video_shape
from avsvt.errors import DataError
from avsvt.notes import Note, note_problems, notes_to_rows, overlapping_pairs

ANNOTATIONS = "annotations.json"
VOCALS = "vocals.wav"
ACCOMP = "accomp.wav"
VIDEO = "video_50fps.npy"
NOISE_DIR = "noise_data"
MAX_VIDEO_AUDIO_MISMATCH_S = 1.0
"""Largest |T/50 - audio duration| accepted; AV alignment truncates or pads up to this."""
MAX_NOTE_TIME_S = 86_400.0
"""Note times beyond a day are no times in a recording (and overflow frame arithmetic)."""
NOTE_PAST_END_TOLERANCE_S = 1 / VIDEO_FPS
"""A note may end up to one frame after the audio without a warning."""
MAX_SONG_ID_BYTES = 255
"""A song id is a folder name: at most NAME_MAX bytes (UTF-8) on Linux file systems."""


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


def _short(song_id: str) -> str:
    if len(song_id) <= 40:
        return repr(song_id)
    return f"{song_id[:37]!r}... ({len(song_id)} characters)"


def song_id_problem(song_id: object) -> str | None:
    """Return why a song id is unsafe as a folder name, or None when it is fine."""
    if not isinstance(song_id, str) or not song_id.strip():
        return "song id must be a non-empty string"
    try:
        n_bytes = len(song_id.encode("utf-8"))
    except UnicodeEncodeError:
        return f"song id {_short(song_id)} is not valid Unicode (a lone surrogate)"
    if n_bytes > MAX_SONG_ID_BYTES:
        return (
            f"song id {_short(song_id)} is too long for a folder name ({n_bytes} bytes, "
            f"at most {MAX_SONG_ID_BYTES})"
        )
    if "/" in song_id or "\\" in song_id or ".." in song_id or song_id in {".", "~"}:
        return f"song id {_short(song_id)} contains a path separator or '..'"
    if song_id.startswith(".") or "\x00" in song_id:
        return f"song id {_short(song_id)} is not a plain folder name"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _entry_problems(song_id: str, entry: object) -> tuple[list[str], list[str], list[Note]]:
    """Return (errors, warnings, notes) about one annotations.json entry."""
    if not isinstance(entry, dict):
        message = f"entry must be an object with 'split' and 'midi', got {type(entry).__name__}"
        return [message], [], []
    errors: list[str] = []
    split = entry.get("split")
    if split is None:
        errors.append("missing 'split'")
    elif split not in SPLITS:
        errors.append(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    rows = entry.get("midi")
    if not isinstance(rows, list):
        errors.append("missing or non-list 'midi' note list")
        return errors, [], []
    notes = []
    for i, row in enumerate(rows):
        if not (
            isinstance(row, list | tuple)
            and len(row) == 3
            and _is_number(row[0])
            and _is_number(row[1])
            and _is_number(row[2])
        ):
            errors.append(f"note {i}: expected [onset_s, offset_s, pitch] numbers, got {row!r}")
            continue
        note = Note(float(row[0]), float(row[1]), float(row[2]))
        problems = note_problems(note)
        far = [
            f"{name} {value:g} s"
            for name, value in (("onset", note.onset_s), ("offset", note.offset_s))
            if not problems and value > MAX_NOTE_TIME_S
        ]
        if far:
            problems.append(
                f"{' and '.join(far)} past {MAX_NOTE_TIME_S / 3600:g} h: not a time in a recording"
            )
        errors += [f"note {i}: {p}" for p in problems]
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
    return errors, warnings, notes


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) < len(pairs):  # linear: 100 000 songs parse in a second
        seen: set[str] = set()
        duplicates: set[str] = set()
        for key, _ in pairs:
            (duplicates if key in seen else seen).add(key)
        raise ValueError(f"duplicate key(s) {sorted(duplicates)[:3]}")
    return data


def read_annotations(root: str | Path) -> dict[str, Any]:
    """Read ``annotations.json`` as a dict (structure only; see :func:`load_songs`).

    Raises:
        DataError: Missing file, invalid JSON, or not an object of song entries.
    """
    path = require_file(Path(root) / ANNOTATIONS, missing="annotations.json not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise DataError(f"invalid JSON ({exc})", path=path) from exc
    except OSError as exc:
        raise DataError(f"cannot read ({exc.strerror or exc})", path=path) from exc
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
    data_dir = root / "data"
    for song_id, entry in data.items():
        problem = song_id_problem(song_id)
        errors, _, notes = ([problem], [], []) if problem else _entry_problems(song_id, entry)
        if errors:
            shown = _short(song_id) if isinstance(song_id, str) else repr(song_id)
            raise DataError(f"song {shown}: {errors[0]}", path=root / ANNOTATIONS)
        if entry["split"] in splits:
            songs.append(Song(song_id, entry["split"], tuple(notes), data_dir / song_id))
    return songs


def iter_split(songs: list[Song], split: str) -> Iterator[Song]:
    """Yield the songs of one split."""
    return (s for s in songs if s.split == split)


def _file_problems(
    song_id: str, folder: Path, *, need_video: bool
) -> tuple[list[Problem], float | None]:
    """Problems of one song's files, and the vocals' duration in seconds (None if unreadable)."""
    problems: list[Problem] = []
    durations: dict[str, float] = {}
    for name in (VOCALS, ACCOMP):
        path = folder / name
        try:
            scan = scan_audio(path)
        except DataError as exc:
            problems.append(Problem(song_id, path, exc.message))
            continue
        problems += [Problem(song_id, path, m) for m in scan.errors]
        problems += [Problem(song_id, path, m, is_error=False) for m in scan.warnings]
        info = scan.info
        if scan.errors:
            continue
        durations[name] = info.frames / info.samplerate
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
    vocals_s = durations.get(VOCALS)
    if vocals_s is not None and ACCOMP in durations:
        accomp_s = durations[ACCOMP]
        if not math.isclose(vocals_s, accomp_s, abs_tol=0.5 / SAMPLE_RATE):
            problems.append(
                Problem(
                    song_id,
                    folder / ACCOMP,
                    f"length {accomp_s:.4f} s differs from vocals.wav ({vocals_s:.4f} s)",
                )
            )
    video_path = folder / VIDEO
    if not need_video and not os.path.lexists(video_path):
        return problems, vocals_s
    try:
        shape = video_shape(video_path)
    except DataError as exc:
        problems.append(Problem(song_id, video_path, exc.message))
        return problems, vocals_s
    if vocals_s is not None:
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
    return problems, vocals_s


def _past_end_warnings(notes: list[Note], audio_s: float) -> list[str]:
    """Warnings about notes that end (or even start) after the audio they annotate."""

    def show(note: Note) -> str:
        return f"{note.onset_s:g}-{note.offset_s:g} s (pitch {note.pitch_midi:g})"

    late = [n for n in notes if n.onset_s >= audio_s]
    long = [n for n in notes if n.onset_s < audio_s < n.offset_s - NOTE_PAST_END_TOLERANCE_S]
    warnings = []
    if long:
        furthest = max(long, key=lambda n: n.offset_s)
        warnings.append(
            f"{len(long)} note(s) end after the audio (vocals.wav: {audio_s:.2f} s), the "
            f"furthest {show(furthest)}: labels cut them at its end"
        )
    if late:
        warnings.append(
            f"{len(late)} note(s) start after the audio ends (vocals.wav: {audio_s:.2f} s), "
            f"e.g. {show(late[0])}: no label holds them, so no model can learn them"
        )
    return warnings


def _folder_problem(folder: Path) -> str | None:
    """Why a song folder cannot be used, or None."""
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return "song folder not found"
    except (OSError, ValueError) as exc:
        return f"cannot access the song folder ({getattr(exc, 'strerror', None) or exc})"
    if not stat.S_ISDIR(mode):
        return "song folder is a file, not a directory"
    return None


def validate_root(root: str | Path, *, need_video: bool = True) -> list[Problem]:
    """Check an N20EMv2 root completely and return every problem found.

    Every audio file is decoded once (in blocks) to find NaN or infinite samples, undecodable
    data, cut-off WAVs and float samples far beyond full scale.

    Args:
        root: The N20EMv2 root.
        need_video: Report missing ``video_50fps.npy`` as an error (audio-only users can say no).

    Returns:
        All problems (errors and warnings), in annotations order.
    """
    root = Path(root)
    ann_path = root / ANNOTATIONS
    if not root.is_dir():
        return [Problem(None, root, "not found" if not root.exists() else "not a directory")]
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
        errors, warnings, notes = _entry_problems(song_id, entry)
        problems += [Problem(song_id, ann_path, m) for m in errors]
        problems += [Problem(song_id, ann_path, m, is_error=False) for m in warnings]
        folder = root / "data" / song_id
        folder_problem = _folder_problem(folder)
        if folder_problem:
            problems.append(Problem(song_id, folder, folder_problem))
            continue
        file_problems, vocals_s = _file_problems(song_id, folder, need_video=need_video)
        problems += file_problems
        if not errors and vocals_s is not None:
            problems += [
                Problem(song_id, ann_path, m, is_error=False)
                for m in _past_end_warnings(notes, vocals_s)
            ]
    return problems


def write_annotations(root: str | Path, songs: dict[str, tuple[str, list[Note]]]) -> Path:
    """Write ``annotations.json`` for ``{song_id: (split, notes)}`` atomically; returns its path."""
    data = {
        sid: {"split": split, "midi": notes_to_rows(notes)} for sid, (split, notes) in songs.items()
    }
    path = Path(root) / ANNOTATIONS
    write_json_atomic(path, data, indent=1)
    return path
