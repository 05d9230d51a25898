"""Output files of ``avsvt transcribe``: ``<stem>.mid``, ``.csv``, ``.json`` and ``.png``.

Names follow the input's stem; an existing output is never replaced unless ``overwrite`` is set,
and the check happens for all of a file's outputs before any work is done.

Beside the outputs, a hidden record ``.<stem>.avsvt.json`` says what avsvt wrote there: the request
(input, video and model files, options) and the sha256 of every output. Each output is claimed in
the record before it is renamed into place, and the record is marked complete after the last one.
So a rerun of the same request after a kill or a full disk knows which files are avsvt's: it skips
an input whose outputs are complete and unchanged, and redoes the others, replacing only files
whose content the record vouches for; any other existing file is the user's and is kept unless
``overwrite`` is set.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from avsvt.data.atomic import atomic_path, write_json_atomic
from avsvt.errors import AvsvtError, OutputExistsError
from avsvt.notefiles import write_csv_notes, write_midi_notes
from avsvt.notes import notes_to_rows
from avsvt.transcribe.api import TranscriptionResult

FORMATS = ("mid", "csv", "json")
RECORD_KIND = "avsvt-transcription"
RECORD_VERSION = 1


def output_paths(
    source: str | Path, out_dir: str | Path, formats: Sequence[str], *, plot: bool = False
) -> dict[str, Path]:
    """``{format: path}`` for one input (``png`` added when ``plot``)."""
    stem = Path(source).stem
    paths = {fmt: Path(out_dir) / f"{stem}.{fmt}" for fmt in formats}
    if plot:
        paths["png"] = Path(out_dir) / f"{stem}.png"
    return paths


def record_path(paths: dict[str, Path]) -> Path:
    """The hidden completion record of one input's outputs (``.<stem>.avsvt.json`` beside them)."""
    first = next(iter(paths.values()))
    return first.with_name(f".{first.stem}.avsvt.json")


def absolute_path(path: str | Path) -> Path:
    """``path`` with its links resolved, or only made absolute when they cannot be.

    Never raises for a path that cannot be resolved (a symbolic link loop, a parent that is a
    file, an unreadable folder).
    """
    path = Path(path)
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a link loop (Python 3.11)
        return Path(os.path.abspath(path))


def file_identity(path: str | Path | None) -> dict[str, Any] | None:
    """What identifies an input of a transcription: its absolute path, size and mtime.

    Size and mtime are left out for a path that cannot be examined (missing, a link loop...).
    """
    if path is None:
        return None
    path = Path(path)
    identity: dict[str, Any] = {"path": str(absolute_path(path))}
    try:
        info = path.stat()
    except (OSError, ValueError):
        return identity
    identity.update(size=info.st_size, mtime_ns=info.st_mtime_ns)
    return identity


def sha256_file(path: Path) -> str | None:
    """The sha256 of a regular file's content (None for anything else: missing, a folder...)."""
    digest = hashlib.sha256()
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


@dataclass
class OutputRecord:
    """What avsvt wrote for one input.

    ``outputs`` maps a file name to the sha256 digests of the contents avsvt put there (or was
    about to rename into place when it stopped).
    """

    path: Path
    request: dict[str, Any]
    outputs: dict[str, list[str]] = field(default_factory=dict)
    complete: bool = False

    def vouches_for(self, path: Path) -> bool:
        """Whether ``path`` holds what avsvt wrote there."""
        digest = sha256_file(path)
        return digest is not None and digest in self.outputs.get(path.name, ())

    def save(self) -> None:
        """Write the record (atomically)."""
        write_json_atomic(
            self.path,
            {
                "kind": RECORD_KIND,
                "version": RECORD_VERSION,
                "request": self.request,
                "outputs": self.outputs,
                "complete": self.complete,
            },
        )

    def claim(self, target: Path, staged: Path) -> None:
        """Record ``staged``'s content for ``target`` before it is renamed into place."""
        digest = sha256_file(staged)
        if digest is None:  # pragma: no cover - a file we just wrote
            raise AvsvtError("cannot read back what was written", path=target)
        keep = [d for d in self.outputs.get(target.name, ()) if d == sha256_file(target)]
        self.outputs[target.name] = [*keep, digest]
        self.save()

    def finish(self, paths: dict[str, Path]) -> None:
        """Mark the record complete (after every output is in place)."""
        self.outputs = {p.name: [d] for p in paths.values() if (d := sha256_file(p)) is not None}
        self.complete = True
        self.save()


def read_record(path: Path) -> OutputRecord | None:
    """The record at ``path``; None when there is none.

    Raises:
        OutputExistsError: Something that is not an avsvt record is there.
    """
    if not path.exists() and not path.is_symlink():
        return None
    try:
        if path.is_symlink() or not path.is_file():
            raise ValueError
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["kind"] != RECORD_KIND or data["version"] != RECORD_VERSION:
            raise ValueError
        request, outputs, complete = data["request"], data["outputs"], data["complete"]
        if not (isinstance(request, dict) and isinstance(outputs, dict)):
            raise ValueError
        if not all(
            isinstance(v, list) and all(isinstance(d, str) for d in v) for v in outputs.values()
        ):
            raise ValueError
    except (OSError, ValueError, TypeError, KeyError, UnicodeDecodeError, RecursionError):
        raise OutputExistsError(
            "exists and is not an avsvt transcription record (use --overwrite to replace it)",
            path=path,
        ) from None
    return OutputRecord(path, request, {str(k): v for k, v in outputs.items()}, complete is True)


@dataclass(frozen=True)
class OutputPlan:
    """What a transcription does with one input's outputs.

    ``done``: skip it; otherwise write them, keeping ``record`` up to date.
    """

    done: bool
    record: OutputRecord


def plan_outputs(paths: dict[str, Path], request: dict[str, Any], *, overwrite: bool) -> OutputPlan:
    """Decide, before any work, whether one input is done, may be (re)done, or must be refused.

    Done: avsvt's record of the same request is complete, every output still holds what it
    wrote, and ``overwrite`` is off (with it, finished work is redone, as the skip message
    says). Otherwise the outputs are (re)written; without ``overwrite`` an existing file is
    replaced only when the record of the same request vouches for it (a kill or a full disk
    stopped that transcription).

    Raises:
        OutputExistsError: Naming the first existing file that avsvt cannot prove it wrote.
    """
    where = record_path(paths)
    try:
        old = read_record(where)
    except OutputExistsError:
        if not overwrite:
            raise
        old = None
    same = old if old is not None and old.request == request else None
    if (
        same is not None
        and same.complete
        and not overwrite
        and all(same.vouches_for(p) for p in paths.values())
    ):
        return OutputPlan(True, same)
    if not overwrite:
        for path in paths.values():
            if (path.exists() or path.is_symlink()) and not (same and same.vouches_for(path)):
                raise OutputExistsError("exists (use --overwrite to replace it)", path=path)
    outputs = {}
    if same is not None:
        outputs = {
            p.name: [d] for p in paths.values() if same.vouches_for(p) and (d := sha256_file(p))
        }
    return OutputPlan(False, OutputRecord(where, request, outputs))


def check_overwrite(paths: dict[str, Path], *, overwrite: bool) -> None:
    """Raise before any work when an output exists and ``overwrite`` is off.

    Raises:
        OutputExistsError: Naming the first existing file.
    """
    if overwrite:
        return
    for path in paths.values():
        if path.exists():
            raise OutputExistsError("exists (use --overwrite to replace it)", path=path)


def write_outputs(
    result: TranscriptionResult,
    paths: dict[str, Path],
    *,
    audio: npt.NDArray[np.float32] | None = None,
    tempo_bpm: float = 120.0,
    title: str = "",
    record: OutputRecord | None = None,
) -> None:
    """Write the notes in every requested format (and the piano roll when a ``png`` is asked).

    Each file is written atomically; with ``record``, each is claimed in it before it is renamed
    into place, and the record is marked complete after the last one.
    """
    for fmt, target in paths.items():
        with atomic_path(target) as staged:
            _render(fmt, staged, result, audio=audio, tempo_bpm=tempo_bpm, title=title)
            if record is not None:
                record.claim(target, staged)
    if record is not None:
        record.finish(paths)


def _render(
    fmt: str,
    path: Path,
    result: TranscriptionResult,
    *,
    audio: npt.NDArray[np.float32] | None,
    tempo_bpm: float,
    title: str,
) -> None:
    write: dict[str, Callable[[], None]] = {
        "mid": lambda: write_midi_notes(path, result.notes, tempo_bpm=tempo_bpm),
        "csv": lambda: write_csv_notes(path, result.notes),
        "json": lambda: write_json_atomic(
            path,
            {
                "notes": notes_to_rows(result.notes),
                "duration_s": result.duration_s,
                "used_video": result.used_video,
                "video_gaps_s": [list(gap) for gap in result.video_gaps_s],
                "video_cuts_s": result.video_cuts_s,
                "seconds": round(result.seconds, 4),
                "messages": result.messages,
            },
        ),
        "png": lambda: _plot(path, result, audio=audio, title=title),
    }
    write[fmt]()


def _plot(
    path: Path,
    result: TranscriptionResult,
    *,
    audio: npt.NDArray[np.float32] | None,
    title: str,
) -> None:
    from avsvt.plots import plot_piano_roll

    plot_piano_roll(
        {"transcription": result.notes},
        path,
        audio=audio,
        title=title,
        video_cuts_s=result.video_cuts_s,
        video_gaps_s=result.video_gaps_s,
    )
