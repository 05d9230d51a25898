"""Note files: MIDI, CSV (``onset_s,offset_s,pitch_midi``) and the N20EM JSON note list.

Reading is forgiving about where notes come from and strict about what they are: every reader
returns valid notes sorted by onset or raises :class:`~avsvt.errors.DataError` naming the file.

CSV flavours read:

* with a header naming ``onset_s``, ``offset_s`` and ``pitch_midi`` (ours), or ``onset_s``,
  ``pitch_hz`` and ``duration_s`` (vocadito-style);
* without a header, three columns: ``onset, offset, midi`` when some value of the third column is
  above 20 (a MIDI pitch), else ``onset, pitch_hz, duration`` (vocadito/MIR-ST500 style, a duration
  is never above 20 s in practice). ``fmt="csv-onset-offset-midi"`` or ``"csv-onset-hz-duration"``
  forces a flavour.

MIDI: fractional pitches are written as the nearest MIDI note plus a pitch bend (range +-2
semitones) at its onset, and read back including the bend, so fractional pitch survives.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from avsvt.data.atomic import atomic_path, write_json_atomic, write_text_atomic
from avsvt.errors import DataError
from avsvt.notes import Note, hz_to_midi, note_problems, notes_to_rows, sort_notes

NoteFormat = Literal["auto", "mid", "csv", "json", "csv-onset-offset-midi", "csv-onset-hz-duration"]
NOTE_SUFFIXES = (".mid", ".midi", ".csv", ".json")
CSV_HEADER = ("onset_s", "offset_s", "pitch_midi")
PITCH_BEND_RANGE_SEMITONES = 2.0
_BEND_MAX = 8191


def _checked(notes: list[Note], path: Path) -> list[Note]:
    for i, note in enumerate(notes):
        problems = note_problems(note)
        if problems:
            raise DataError(f"note {i}: {problems[0]}", path=path)
    return sort_notes(notes)


def _float(value: str, path: Path, line: int) -> float:
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"line {line}: {value!r} is not a number", path=path) from None
    if not math.isfinite(number):
        raise DataError(f"line {line}: non-finite value {value!r}", path=path)
    return number


def _hz_to_midi_checked(hz: float, path: Path, line: int) -> float:
    if hz <= 0:
        raise DataError(f"line {line}: pitch {hz:g} Hz is not positive", path=path)
    return hz_to_midi(hz)


def read_csv_notes(path: str | Path, *, flavour: NoteFormat = "auto") -> list[Note]:
    """Read notes from a CSV file (see the module docstring for the flavours)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read CSV ({exc})", path=path) from exc
    rows = [
        (i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text))) if any(c.strip() for c in r)
    ]
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0][1]]
    if any(c and not _is_number(c) for c in header):
        rows = rows[1:]
        if set(CSV_HEADER) <= set(header):
            flavour = "csv-onset-offset-midi"
            columns = [header.index(c) for c in CSV_HEADER]
        elif {"onset_s", "pitch_hz", "duration_s"} <= set(header):
            flavour = "csv-onset-hz-duration"
            columns = [header.index(c) for c in ("onset_s", "pitch_hz", "duration_s")]
        else:
            raise DataError(
                f"unknown CSV header {header}; expected {','.join(CSV_HEADER)}", path=path
            )
    else:
        columns = [0, 1, 2]
    table = []
    for line, row in rows:
        if len(row) <= max(columns):
            raise DataError(f"line {line}: expected 3 columns, got {len(row)}", path=path)
        table.append((line, [_float(row[c], path, line) for c in columns]))
    if flavour in ("auto", "csv"):
        has_midi = any(values[2] > 20 for _, values in table)
        flavour = "csv-onset-offset-midi" if has_midi else "csv-onset-hz-duration"
    if flavour == "csv-onset-offset-midi":
        notes = [Note(v[0], v[1], v[2]) for _, v in table]
    else:
        notes = [Note(v[0], v[0] + v[2], _hz_to_midi_checked(v[1], path, ln)) for ln, v in table]
    return _checked(notes, path)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_csv_notes(path: str | Path, notes: Sequence[Note]) -> None:
    """Write notes as CSV with the header ``onset_s,offset_s,pitch_midi`` (float pitch)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for n in notes:
        writer.writerow([f"{n.onset_s:.6f}", f"{n.offset_s:.6f}", f"{n.pitch_midi:.4f}"])
    write_text_atomic(path, buffer.getvalue())


def read_json_notes(path: str | Path) -> list[Note]:
    """Read an N20EM note list ``[[onset_s, offset_s, pitch], ...]`` (or ``{"midi": [...]}``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DataError(f"cannot read JSON note list ({exc})", path=path) from exc
    if isinstance(data, dict):
        data = data.get("midi", data.get("notes"))
    if not isinstance(data, list):
        raise DataError("expected a list of [onset_s, offset_s, pitch] rows", path=path)
    notes = []
    for i, row in enumerate(data):
        if (
            not isinstance(row, list)
            or len(row) != 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row)
        ):
            raise DataError(
                f"row {i}: expected [onset_s, offset_s, pitch] numbers, got {row!r}", path=path
            )
        notes.append(Note(float(row[0]), float(row[1]), float(row[2])))
    return _checked(notes, path)


def write_json_notes(path: str | Path, notes: Sequence[Note]) -> None:
    """Write notes as an N20EM JSON note list."""
    write_json_atomic(path, notes_to_rows(notes), indent=None)


def read_midi_notes(path: str | Path) -> list[Note]:
    """Read the notes of every non-drum track of a MIDI file, pitch bends included."""
    import pretty_midi

    path = Path(path)
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # noqa: BLE001 - pretty_midi/mido raise many unrelated types
        raise DataError(
            f"not a readable MIDI file ({type(exc).__name__}: {exc})", path=path
        ) from None
    notes = []
    for instrument in midi.instruments:
        if instrument.is_drum:
            continue
        bend_times = np.array([b.time for b in instrument.pitch_bends])
        bend_values = np.array([b.pitch for b in instrument.pitch_bends])
        for note in instrument.notes:
            bend = 0.0
            if len(bend_times):
                idx = np.searchsorted(bend_times, note.start + 1e-6, side="right") - 1
                if idx >= 0:
                    bend = bend_values[idx] / (_BEND_MAX + 1) * PITCH_BEND_RANGE_SEMITONES
            notes.append(Note(float(note.start), float(note.end), float(note.pitch) + bend))
    return _checked(notes, path)


def write_midi_notes(
    path: str | Path, notes: Sequence[Note], *, tempo_bpm: float = 120.0, program: int = 52
) -> None:
    """Write notes as a one-track MIDI file (default program 52, Choir Aahs).

    Args:
        path: Target ``.mid`` file.
        notes: Notes to write; fractional pitches become a pitch bend at the note's onset.
        tempo_bpm: Tempo stored in the file (times stay in seconds whatever the tempo).
        program: General MIDI program number.
    """
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    instrument = pretty_midi.Instrument(program=program, name="voice")
    bent = False
    for n in sort_notes(notes):
        key = int(np.clip(round(n.pitch_midi), 0, 127))
        cents = n.pitch_midi - key
        if abs(cents) > 1e-3 or bent:
            value = int(
                np.clip(
                    round(cents / PITCH_BEND_RANGE_SEMITONES * (_BEND_MAX + 1)),
                    -_BEND_MAX - 1,
                    _BEND_MAX,
                )
            )
            instrument.pitch_bends.append(pretty_midi.PitchBend(value, n.onset_s))
            bent = value != 0
        instrument.notes.append(pretty_midi.Note(100, key, n.onset_s, n.offset_s))
    midi.instruments.append(instrument)
    with atomic_path(path) as tmp:
        midi.write(str(tmp))


def read_notes(path: str | Path, *, fmt: NoteFormat = "auto") -> list[Note]:
    """Read a note file of any supported format (chosen by ``fmt`` or the suffix).

    Raises:
        DataError: Missing, unknown or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    suffix = path.suffix.lower()
    if fmt == "mid" or (fmt == "auto" and suffix in (".mid", ".midi")):
        return read_midi_notes(path)
    if fmt == "json" or (fmt == "auto" and suffix == ".json"):
        return read_json_notes(path)
    if fmt.startswith("csv") or (fmt == "auto" and suffix == ".csv"):
        return read_csv_notes(path, flavour=fmt)
    raise DataError(f"unknown note file type {suffix!r} (use .mid, .csv or .json)", path=path)


def write_notes(path: str | Path, notes: Sequence[Note]) -> None:
    """Write notes in the format given by the suffix (.mid/.midi, .csv, .json)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".mid", ".midi"):
        write_midi_notes(path, notes)
    elif suffix == ".csv":
        write_csv_notes(path, notes)
    elif suffix == ".json":
        write_json_notes(path, notes)
    else:
        raise DataError(f"unknown note file type {suffix!r} (use .mid, .csv or .json)", path=path)
