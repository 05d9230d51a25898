"""Notes from the voice's f0: the improved audio decoding (issue 10).

A sung note is a stretch of steady pitch. The f0 track (:func:`avsvt.f0.yin`) is median-filtered;
each run of voiced frames is cut where the pitch leaves the running note's median by more than
``split_semitones`` for ``hold_frames`` frames in a row (a vibrato swing or a one-frame glitch does
not cut; a new note does), at the frame where the departure began. Fragments shorter than
``min_note_s`` are glides or glitches: joined to the neighbour in the same run when there is one,
dropped otherwise. A note's pitch is the median f0 of its frames after ``pitch_skip_s`` (the scoop
into the note), in fractional MIDI: singers are rarely on the equal-tempered grid.

The settings are chosen on the embedded corpus's validation split (``benchmarks/tune_f0_notes.py``),
never on the real recordings we report.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import median_filter

from avsvt.f0 import F0Track, yin
from avsvt.notes import Note

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class F0NoteSettings:
    """How f0 becomes notes (defaults: chosen on the embedded validation split).

    Attributes:
        median_frames: Median filter over the f0 track (frames, odd; 1 = off).
        split_semitones: A departure from the note's median pitch larger than this may start a
            new note.
        hold_frames: ...when it lasts this many frames in a row.
        reference_frames: The note's median pitch is taken over at most its last this many frames
            (a slow drift stays one note).
        min_note_s: Shorter fragments are joined to a neighbour or dropped.
        pitch_skip_s: Seconds at a note's start left out of its pitch (the scoop).
        onset_shift_s: Added to the onset of notes that start a voiced run (YIN confirms voicing
            a little after it begins).
        max_aperiodicity: YIN voicing threshold (see :func:`avsvt.f0.yin`).
    """

    median_frames: int = 5
    split_semitones: float = 0.7
    hold_frames: int = 8
    reference_frames: int = 1000
    min_note_s: float = 0.08
    pitch_skip_s: float = 0.0
    onset_shift_s: float = 0.0
    max_aperiodicity: float = 0.2


def track_f0(audio: npt.NDArray[np.floating], settings: F0NoteSettings) -> F0Track:
    """YIN f0 of 16 kHz audio with the settings' voicing threshold."""
    return yin(audio, max_aperiodicity=settings.max_aperiodicity)


def _cut_run(midi: FloatArray, settings: F0NoteSettings) -> list[int]:
    """Cut points (relative frame indices, excluding 0 and len) of one voiced run."""
    cuts: list[int] = []
    values = midi.tolist()
    hold = max(1, settings.hold_frames)
    window = [values[0]]  # the current note's last reference_frames values, sorted
    start = 0
    for i in range(1, len(values)):
        k = len(window)
        reference = window[k // 2] if k % 2 else 0.5 * (window[k // 2 - 1] + window[k // 2])
        ahead = values[i : i + hold]
        if len(ahead) == hold and all(abs(v - reference) > settings.split_semitones for v in ahead):
            cuts.append(i)
            start = i
            window = [values[i]]
            continue
        insort(window, values[i])
        if i - start + 1 > settings.reference_frames:
            del window[bisect_left(window, values[i - settings.reference_frames])]
    return cuts


def _merge_short(edges: list[int], min_frames: int) -> list[int]:
    """Drop inner cut points that leave a fragment shorter than ``min_frames`` (shortest first)."""
    edges = list(edges)
    while len(edges) > 2:
        lengths = np.diff(edges)
        k = int(np.argmin(lengths))
        if lengths[k] >= min_frames:
            break
        # join fragment k to its shorter neighbour: remove the edge between them
        if k == 0:
            del edges[1]
        elif k == len(lengths) - 1:
            del edges[-2]
        else:
            del edges[k if lengths[k - 1] <= lengths[k + 1] else k + 1]
    return edges


def f0_notes(track: F0Track, settings: F0NoteSettings | None = None) -> list[Note]:
    """Segment an f0 track into notes (module docstring).

    Args:
        track: The voice's f0.
        settings: Segmentation settings.

    Returns:
        Notes sorted by onset, fractional MIDI pitch, strictly positive durations.
    """
    settings = settings or F0NoteSettings()
    hz = track.f0_hz
    if settings.median_frames > 1:
        hz = median_filter(hz, size=settings.median_frames, mode="constant", cval=0.0)
    voiced = hz > 0
    midi = np.zeros_like(hz)
    midi[voiced] = 69 + 12 * np.log2(hz[voiced] / 440.0)
    frame_s = 1.0 / track.fps
    min_frames = max(1, int(round(settings.min_note_s / frame_s)))
    skip = int(round(settings.pitch_skip_s / frame_s))
    changes = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    notes: list[Note] = []
    for run_start, run_end in zip(changes[::2], changes[1::2], strict=True):
        run = midi[run_start:run_end]
        if len(run) < min_frames:
            continue
        edges = _merge_short([0, *_cut_run(run, settings), len(run)], min_frames)
        for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            body = run[lo + skip : hi] if hi - lo > 2 * skip else run[lo:hi]
            onset_s = float(run_start + lo) * frame_s
            if k == 0:
                onset_s = max(0.0, onset_s + settings.onset_shift_s)
            offset_s = float(run_start + hi) * frame_s
            notes.append(Note(onset_s, offset_s, float(np.median(body))))
    return notes


def transcribe_f0(
    audio: npt.NDArray[np.floating], settings: F0NoteSettings | None = None
) -> list[Note]:
    """Notes of 16 kHz mono solo-voice audio from its f0 alone."""
    settings = settings or F0NoteSettings()
    return f0_notes(track_f0(audio, settings), settings)
