"""Note lists to frame labels: the reference's ``note2frame``, vectorised, edge bugs fixed.

A label row is ``[onset, offset_or_silence, octave_class, pitch_class]`` (reference section 1.3):

* ``onset`` is 1 on exactly one frame per note, the frame nearest the onset (an exact tie between
  two frames goes to the earlier one, as in the reference);
* ``offset_or_silence`` is 1 on every frame outside a note and on the note's offset frame;
* ``octave_class = clamp((pitch - 36) // 12, 0, 3)``, 4 on silence;
* ``pitch_class = pitch mod 12``, 12 on silence.

Frame ``i`` stands for time ``i / fps`` (frame-start convention).

Fixed on purpose (the reference behaviour is described in reference-system.md section 7, Q9):

* a note shorter than one frame gets an onset frame and, on the next frame, its offset frame; in the
  reference it never reaches its offset and every later frame of the song stays voiced;
* overlapping notes are made monophonic first (each note is cut at the next onset), so no onset is
  lost; the reference drops the second note's onset;
* when several onsets fall on the same frame (they are then less than a frame apart), one frame
  can start only one note: the longest note wins the frame and keeps its own offset; the others
  are dropped (logged); a duration tie goes to the earlier note. After the monophonic cut every
  note but the last of such a group is shorter than a frame, so in practice the note that goes on
  sounding wins: a 5-ms stub just before a 1-s note no longer hides the 1-s note. The reference
  has no rule for this case: it opens the stub, which being shorter than a frame never closes, so
  the 1-s note is lost and the stub's pitch runs to the end of the song. Keeping the earlier note
  (an earlier version of this module) lost the 1-s note too; keeping the longer one labels the
  most singing correctly, and it is the note the decoder, which can open only one note per frame,
  can hope to match (a 5-ms reference note is never matched on offset anyway);
* fractional pitches are rounded to the nearest MIDI number before the class split; the reference
  truncates the fractional pitch class.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from avsvt.constants import (
    LOWEST_MIDI,
    N_OCTAVES,
    N_PITCH_CLASSES,
    SAMPLE_RATE,
    SILENT_OCTAVE,
    SILENT_PITCH_CLASS,
)
from avsvt.layout import LABEL_OCTAVE, LABEL_OFFSET, LABEL_ONSET, LABEL_PITCH_CLASS, N_LABEL_COLUMNS
from avsvt.notes import Note, make_monophonic

logger = logging.getLogger(__name__)

LabelArray = npt.NDArray[np.int64]
"""Frame labels, shape (T, 4): onset, offset-or-silence, octave class, pitch class."""

# Rounding before ceil keeps float noise (0.1 * 50 = 5.000000000000001) from moving a frame.
_TIME_DECIMALS = 9


def n_label_frames(n_samples: int, fps: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Number of label frames for a recording, ``round(duration_s * fps)`` as in the reference."""
    return round(n_samples / sample_rate * fps)


def nearest_frame(times_s: npt.ArrayLike, fps: float) -> npt.NDArray[np.int64]:
    """Index of the frame nearest each time; an exact half-frame tie goes to the earlier frame."""
    scaled = np.round(np.asarray(times_s, dtype=np.float64) * fps - 0.5, _TIME_DECIMALS)
    return np.ceil(scaled).astype(np.int64)


def pitch_to_classes(
    pitch_midi: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Split MIDI pitches into (octave class 0..3, pitch class 0..11), reference clamping."""
    pitch = np.rint(np.asarray(pitch_midi, dtype=np.float64)).astype(np.int64)
    octave = np.clip((pitch - LOWEST_MIDI) // N_PITCH_CLASSES, 0, N_OCTAVES - 1)
    return octave, pitch % N_PITCH_CLASSES


def note_frame_spans(
    notes: Sequence[Note], fps: float
) -> tuple[list[Note], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return the representable notes and their (onset frame, offset frame) indices.

    Offsets are at least one frame after onsets; onset frames are strictly increasing. Of notes
    sharing an onset frame the longest is kept, the earliest on a tie (module docstring).
    """
    mono = make_monophonic(notes)
    if not mono:
        empty = np.zeros(0, dtype=np.int64)
        return [], empty, empty
    onsets = nearest_frame([n.onset_s for n in mono], fps)
    offsets = np.maximum(nearest_frame([n.offset_s for n in mono], fps), onsets + 1)
    durations = np.array([n.duration_s for n in mono], dtype=np.float64)
    # order by onset frame, then longest first, then earliest: the first of each frame wins
    order = np.lexsort((np.arange(len(mono)), -durations, onsets))
    wins = np.ones(len(mono), dtype=bool)
    wins[1:] = onsets[order[1:]] != onsets[order[:-1]]
    keep = np.zeros(len(mono), dtype=bool)
    keep[order[wins]] = True
    if not keep.all():
        dropped = [mono[i] for i in np.flatnonzero(~keep)]
        logger.warning(
            "%d note(s) share an onset frame with a longer note and are dropped: %s",
            len(dropped),
            dropped[:3],
        )
    kept = [n for n, k in zip(mono, keep, strict=True) if k]
    return kept, onsets[keep], offsets[keep]


def notes_to_labels(notes: Sequence[Note], n_frames: int, fps: float) -> LabelArray:
    """Build frame labels for a song.

    Args:
        notes: The song's notes in any order (overlaps are resolved, see the module docstring).
        n_frames: Number of frames ``T`` to label.
        fps: Frame rate (49.8 for audio, 50 for video, or any other).

    Returns:
        Integer array of shape ``(n_frames, 4)``.
    """
    labels = np.empty((n_frames, N_LABEL_COLUMNS), dtype=np.int64)
    labels[:, LABEL_ONSET] = 0
    labels[:, LABEL_OFFSET] = 1
    labels[:, LABEL_OCTAVE] = SILENT_OCTAVE
    labels[:, LABEL_PITCH_CLASS] = SILENT_PITCH_CLASS
    kept, onsets, offsets = note_frame_spans(notes, fps)
    if not kept or n_frames == 0:
        return labels
    octave, pitch_class = pitch_to_classes([n.pitch_midi for n in kept])
    frames = np.arange(n_frames)
    note_index = (
        np.searchsorted(onsets, frames, side="right") - 1
    )  # last note starting at or before
    safe = np.maximum(note_index, 0)
    inside = (note_index >= 0) & (frames <= offsets[safe])  # onset..offset frame, inclusive
    is_onset = inside & (frames == onsets[safe])
    is_offset = inside & (frames == offsets[safe])
    labels[inside, LABEL_OCTAVE] = octave[safe[inside]]
    labels[inside, LABEL_PITCH_CLASS] = pitch_class[safe[inside]]
    labels[:, LABEL_ONSET] = is_onset
    labels[:, LABEL_OFFSET] = ~inside | is_offset
    return labels
