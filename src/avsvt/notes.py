"""The note record and pure helpers on note lists."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, order=True)
class Note:
    """One sung note.

    Attributes:
        onset_s: Start time in seconds from the start of the recording.
        offset_s: End time in seconds (strictly after ``onset_s``).
        pitch_midi: Pitch as a (possibly fractional) MIDI number, 69.0 = A4 = 440 Hz.
    """

    onset_s: float
    offset_s: float
    pitch_midi: float

    @property
    def duration_s(self) -> float:
        """Note length in seconds."""
        return self.offset_s - self.onset_s

    @property
    def pitch_hz(self) -> float:
        """Pitch in Hz."""
        return midi_to_hz(self.pitch_midi)


A4_MIDI = 69.0
A4_HZ = 440.0
SEMITONES_PER_OCTAVE = 12.0


def midi_to_hz(pitch_midi: float) -> float:
    """Convert a MIDI number to Hz (A4 = 69 = 440 Hz)."""
    return float(A4_HZ * 2.0 ** ((pitch_midi - A4_MIDI) / SEMITONES_PER_OCTAVE))


def midi_to_hz_array(pitch_midi: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """:func:`midi_to_hz` over an array of fractional MIDI numbers."""
    midi = np.asarray(pitch_midi, dtype=np.float64)
    return np.asarray(A4_HZ * 2.0 ** ((midi - A4_MIDI) / SEMITONES_PER_OCTAVE), dtype=np.float64)


def hz_to_midi(pitch_hz: float) -> float:
    """Convert Hz to a fractional MIDI number (``pitch_hz`` must be positive)."""
    return A4_MIDI + SEMITONES_PER_OCTAVE * math.log2(pitch_hz / A4_HZ)


def hz_to_midi_array(
    pitch_hz: npt.ArrayLike, *, unvoiced: float = math.nan
) -> npt.NDArray[np.float64]:
    """:func:`hz_to_midi` over an f0 track; frames without a positive f0 get ``unvoiced``.

    A frame is voiced when its value is ``> 0``: 0 (the trackers' "no f0"), negative values and
    NaN all give ``unvoiced`` (NaN by default; the f0 note segmenter asks for 0).
    """
    hz = np.asarray(pitch_hz, dtype=np.float64)
    midi = np.full(hz.shape, unvoiced, dtype=np.float64)
    voiced = hz > 0
    midi[voiced] = A4_MIDI + SEMITONES_PER_OCTAVE * np.log2(hz[voiced] / A4_HZ)
    return midi


def note_problems(note: Note) -> list[str]:
    """Return what is wrong with one note (empty when it is valid)."""
    problems = []
    values = (note.onset_s, note.offset_s, note.pitch_midi)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        return [f"non-finite value in note {values}"]
    if note.onset_s < 0:
        problems.append(f"negative onset {note.onset_s:g} s")
    if note.offset_s <= note.onset_s:
        problems.append(f"offset {note.offset_s:g} s is not after onset {note.onset_s:g} s")
    if not 0 <= note.pitch_midi <= 127:
        problems.append(f"pitch {note.pitch_midi:g} is outside MIDI 0..127")
    return problems


def sort_notes(notes: Iterable[Note]) -> list[Note]:
    """Sort notes by onset, then offset, then pitch."""
    return sorted(notes)


def overlapping_pairs(notes: Sequence[Note]) -> list[tuple[Note, Note]]:
    """Return consecutive (in onset order) pairs whose time spans overlap."""
    ordered = sort_notes(notes)
    return [(a, b) for a, b in zip(ordered, ordered[1:], strict=False) if b.onset_s < a.offset_s]


def make_monophonic(notes: Iterable[Note]) -> list[Note]:
    """Sort notes and cut each one at the next note's onset, so that no two overlap.

    The reference label builder silently loses the second note's onset when notes overlap; we keep
    every onset and shorten the earlier note instead. A note that would become empty (same onset as
    the next) is dropped.
    """
    ordered = sort_notes(notes)
    result: list[Note] = []
    for i, note in enumerate(ordered):
        offset_s = note.offset_s
        if i + 1 < len(ordered):
            offset_s = min(offset_s, ordered[i + 1].onset_s)
        if offset_s > note.onset_s:
            result.append(Note(note.onset_s, offset_s, note.pitch_midi))
    return result


def notes_to_arrays(
    notes: Sequence[Note],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return ``(intervals (N, 2) in s, pitches (N,) in MIDI)`` arrays."""
    intervals = np.array([[n.onset_s, n.offset_s] for n in notes], dtype=np.float64).reshape(-1, 2)
    pitches = np.array([n.pitch_midi for n in notes], dtype=np.float64)
    return intervals, pitches


def notes_from_rows(rows: Iterable[Sequence[float]]) -> list[Note]:
    """Build notes from ``[onset_s, offset_s, pitch_midi]`` rows (the N20EM JSON layout)."""
    return [Note(float(r[0]), float(r[1]), float(r[2])) for r in rows]


def notes_to_rows(notes: Iterable[Note]) -> list[list[float]]:
    """Return notes as ``[onset_s, offset_s, pitch_midi]`` rows (the N20EM JSON layout)."""
    return [[n.onset_s, n.offset_s, n.pitch_midi] for n in notes]
