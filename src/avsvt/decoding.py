"""Frame posteriors to notes: the reference ``frame2note`` peak-picking decoder, vectorised.

For each frame ``i`` (time ``i / fps``):

1. an *onset peak* (``p_onset >= onset_threshold`` and the maximum of the +-``peak_half_width``
   window) closes any open note at ``i`` and opens a new one;
2. otherwise ``p_offset >= offset_threshold`` closes the open note at ``i``;
3. frames of an open note vote for ``12 * octave + pitch_class`` unless either class is silence.

A note is emitted only if it received a vote; its pitch is the most frequent vote ``+ 36``. A note
still open at the end closes at the last frame.

Fixed on purpose (reference-system.md Q10), each a documented, deterministic choice:

* the peak window includes the song's last frame (the reference's clamped slice never does);
* on a plateau of equal window maxima only the first frame is a peak (the reference opens a note
  on every frame of the plateau, each closing the one before after a single frame). "Plateau"
  means adjacent frames that all pass the peak test: a frame whose equal left neighbour fails it
  (that neighbour sees a higher frame in its window) still opens a note, as in the reference, so
  ``[0, 1, .9, .9, 0, 0]`` with half-width 1 and threshold 0.4 gives peaks ``[1, 3]`` (an earlier
  version compared each frame with its left neighbour only and dropped frame 3);
* a tie between equally frequent pitches goes to the lower pitch (the reference's choice depends
  on Python set order);
* a note never has zero length: one opened on the last frame ends one frame later (the reference
  would emit an interval mir_eval rejects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from avsvt.constants import (
    LOWEST_MIDI,
    N_PITCH_CLASSES,
    OFFSET_THRESHOLD,
    ONSET_PEAK_HALF_WIDTH_FRAMES,
    ONSET_THRESHOLD,
    SILENT_OCTAVE,
    SILENT_PITCH_CLASS,
)
from avsvt.labels import LabelArray
from avsvt.layout import (
    LABEL_OCTAVE,
    LABEL_OFFSET,
    LABEL_ONSET,
    LABEL_PITCH_CLASS,
    N_OUTPUTS,
    OCTAVE,
    OFFSET,
    ONSET,
    PITCH_CLASS,
)
from avsvt.notes import Note

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DecoderConfig:
    """Decoder settings; the defaults are the reference's.

    Attributes:
        fps: Frame rate of the posteriors (49.8 audio/AV, 50 video).
        onset_threshold: Minimum onset probability of a peak.
        offset_threshold: Minimum offset-or-silence probability that ends a note.
        peak_half_width_frames: An onset peak is the maximum over +-this many frames.
    """

    fps: float
    onset_threshold: float = ONSET_THRESHOLD
    offset_threshold: float = OFFSET_THRESHOLD
    peak_half_width_frames: int = ONSET_PEAK_HALF_WIDTH_FRAMES


@dataclass(frozen=True)
class FramePosteriors:
    """Per-frame model outputs for one song.

    Attributes:
        onset_prob: (T,) onset probabilities.
        offset_prob: (T,) offset-or-silence probabilities.
        octave: (T,) arg-max octave class, 0..3 or 4 for silence.
        pitch_class: (T,) arg-max pitch class, 0..11 or 12 for silence.
    """

    onset_prob: FloatArray
    offset_prob: FloatArray
    octave: IntArray
    pitch_class: IntArray

    def __post_init__(self) -> None:
        n = len(self.onset_prob)
        lengths = {len(self.offset_prob), len(self.octave), len(self.pitch_class)}
        if lengths != {n}:
            raise ValueError(f"posterior arrays differ in length: {n} vs {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.onset_prob)

    @classmethod
    def from_logits(cls, logits: npt.NDArray[np.floating]) -> FramePosteriors:
        """Posteriors from one song's (T, 20) model outputs.

        Sigmoid of the onset and offset logits, arg-max of the octave and pitch-class logits
        (layout in :mod:`avsvt.layout`).
        """
        logits = np.asarray(logits, dtype=np.float64)
        assert logits.ndim == 2 and logits.shape[1] == N_OUTPUTS, (
            f"expected (T, {N_OUTPUTS}), got {logits.shape}"
        )
        return cls(
            onset_prob=1.0 / (1.0 + np.exp(-logits[:, ONSET])),
            offset_prob=1.0 / (1.0 + np.exp(-logits[:, OFFSET])),
            octave=np.argmax(logits[:, OCTAVE], axis=1).astype(np.int64),
            pitch_class=np.argmax(logits[:, PITCH_CLASS], axis=1).astype(np.int64),
        )

    @classmethod
    def from_labels(cls, labels: LabelArray) -> FramePosteriors:
        """Perfect posteriors from frame labels (an oracle model), for tests and checks."""
        return cls(
            onset_prob=labels[:, LABEL_ONSET].astype(np.float64),
            offset_prob=labels[:, LABEL_OFFSET].astype(np.float64),
            octave=labels[:, LABEL_OCTAVE].astype(np.int64),
            pitch_class=labels[:, LABEL_PITCH_CLASS].astype(np.int64),
        )


def onset_peaks(onset_prob: FloatArray, threshold: float, half_width: int) -> IntArray:
    """Frames that are onset peaks (module docstring).

    A frame is a *candidate* when it is ``>= threshold`` and the maximum of the
    ``+-half_width`` window (the reference's test, window including the last frame). A candidate
    is a peak unless the frame before it is an equal candidate: of a run of equal, adjacent
    window maxima only the first frame is a peak. A frame whose equal left neighbour is *not* a
    window maximum (``[0, 1, .9, .9, 0, 0]``, half-width 1: frame 2 sees the 1, frame 3 does not)
    is a peak, as in the reference.
    """
    n = len(onset_prob)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    prob = onset_prob.astype(np.float64)
    padded = np.pad(prob, half_width, constant_values=-np.inf)
    window_max = sliding_window_view(padded, 2 * half_width + 1).max(axis=1)
    candidate = (prob >= threshold) & (prob >= window_max)
    continues_run = np.zeros(n, dtype=bool)
    continues_run[1:] = candidate[:-1] & (prob[1:] == prob[:-1])
    return np.flatnonzero(candidate & ~continues_run).astype(np.int64)


def decode_notes(posteriors: FramePosteriors, config: DecoderConfig) -> list[Note]:
    """Decode notes from frame posteriors with the reference algorithm (module docstring).

    Args:
        posteriors: One song's frame posteriors.
        config: Thresholds and frame rate.

    Returns:
        Notes sorted by onset, with integer MIDI pitches and strictly positive durations.
    """
    n_frames = len(posteriors)
    peaks = onset_peaks(
        posteriors.onset_prob, config.onset_threshold, config.peak_half_width_frames
    )
    if len(peaks) == 0:
        return []
    offset_frames = np.flatnonzero(posteriors.offset_prob >= config.offset_threshold)
    # A note opened at peak k ends at the next peak or the first offset frame after it.
    next_peak = np.append(peaks[1:], n_frames)
    after = np.searchsorted(offset_frames, peaks, side="right")
    padded_offsets = np.append(offset_frames, n_frames)  # "no offset after it" -> song end
    first_offset = padded_offsets[after]
    ends = np.minimum(next_peak, first_offset)  # exclusive end of the voting range
    votes = N_PITCH_CLASSES * posteriors.octave + posteriors.pitch_class
    voiced = (posteriors.octave != SILENT_OCTAVE) & (posteriors.pitch_class != SILENT_PITCH_CLASS)
    notes = []
    for start, end in zip(peaks.tolist(), ends.tolist(), strict=True):
        note_votes = votes[start:end][voiced[start:end]]
        if len(note_votes) == 0:
            continue
        pitch = int(np.argmax(np.bincount(note_votes))) + LOWEST_MIDI  # lowest pitch wins ties
        end_frame = end if end < n_frames else n_frames - 1  # open at the end: last frame
        if end_frame <= start:
            end_frame = start + 1
        notes.append(Note(start / config.fps, end_frame / config.fps, float(pitch)))
    return notes


def refine_pitch_with_f0(
    notes: list[Note],
    f0_midi: FloatArray,
    f0_fps: float,
    *,
    min_voiced_fraction: float = 0.3,
    edge_s: float = 0.02,
) -> list[Note]:
    """Replace each note's integer class pitch by the voice's median f0 (fractional MIDI).

    The f0 is read over the note's interior (``edge_s`` trimmed at both ends, where scoops and
    releases live); octave errors of the f0 tracker are folded to the octave nearest the class
    pitch. Notes with too few voiced f0 frames keep their class pitch. This is the improved decoding
    option (issue 10); the reference decoder uses the integer class pitch.

    Args:
        notes: Decoded notes (integer pitch from the classes).
        f0_midi: (T_f0,) f0 track in fractional MIDI, NaN where unvoiced.
        f0_fps: Frame rate of the f0 track (frame ``i`` at ``i / f0_fps``).
        min_voiced_fraction: Minimum fraction of voiced interior frames to trust the f0.
        edge_s: Seconds left out at each end of the note.

    Returns:
        The notes with refined pitches (same times).
    """
    refined = []
    for note in notes:
        lo = int(np.ceil((note.onset_s + edge_s) * f0_fps))
        hi = int(np.floor((note.offset_s - edge_s) * f0_fps))
        if hi <= lo:
            lo, hi = int(note.onset_s * f0_fps), int(np.ceil(note.offset_s * f0_fps))
        frames = f0_midi[max(lo, 0) : max(hi, 0)]
        voiced = frames[np.isfinite(frames)]
        if len(frames) == 0 or len(voiced) < min_voiced_fraction * len(frames):
            refined.append(note)
            continue
        pitch = float(np.median(voiced))
        pitch += 12 * round((note.pitch_midi - pitch) / 12)  # fold f0 octave errors
        refined.append(Note(note.onset_s, note.offset_s, pitch))
    return refined
