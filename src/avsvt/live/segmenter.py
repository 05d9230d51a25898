"""The f0 note segmentation (:func:`avsvt.f0notes.f0_notes`) applied as the f0 frames arrive.

Each step of the offline segmentation is decided after a bounded wait, and the notes it gives
are the offline ones, bit for bit:

* the median filter over ``median_frames`` looks ``(median_frames - 1) / 2`` frames ahead (the
  frames before the first and after the last count as unvoiced, as offline);
* the split rule (:class:`avsvt.f0notes.RunCutter`) decides a cut ``hold_frames`` frames after
  the departure began, and never revises it (it restarts at each cut, so a voiced run is
  independent of the runs before it);
* short fragments (under ``min_note_s``) are joined to their shorter neighbour, shortest first
  (:func:`avsvt.f0notes.joined_edges`), which can reach back over a whole voiced run. A cut is
  *fixed*, never removed, once the fragment after it is known to last ``min_note_s`` (it is
  then never joined itself, and only grows) and the cut survives the joins with that fragment
  as short as it can still end: a fragment before it joins the one after it only when that one
  is the shorter neighbour, which it stops being as it grows. The joins on either side of a
  fixed cut are independent, so the run is finished (merged, pitched, emitted) up to each fixed
  cut as soon as it is known, usually ``min_note_s + hold_frames`` after the cut; the rest of
  the run waits for the next fixed cut or the run's end.

Note-ons (pitch: the median so far; the note-off carries the final one):

* by default a note-on is emitted when the note's onset can no longer change: a run's first note
  once the run has lasted ``min_note_s`` (shorter runs are dropped), a note after a fixed cut
  when the cut is fixed, any other note when its stretch is finished;
* ``early``: provisional note-ons, sooner: a run's first note after ``early_frames`` voiced
  frames, a note after a cut once the fragment after the cut has lasted ``early_frames`` (cuts
  that end a fragment under ``min_note_s``, a scoop into a note, are not announced). When the
  stretch is finished, a provisional note-on whose onset no note keeps is withdrawn by a
  ``note_cancel``, and a note without one gets its note-on then. The notes are the same.

Bounded memory: the frames held are the median filter's context and the unfinished stretch. A
stretch without a fixed cut for longer than ``max_note_s`` (one note held that long, or that
long a chain of fragments each shorter than ``min_note_s``) is finished there, at its last cut
within ``max_note_s`` (or, with none, after ``max_note_s``): the one place where live notes may
differ from the offline ones (a note held longer comes out as several of ``max_note_s``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.ndimage import median_filter

from avsvt.f0notes import (
    F0NoteSettings,
    RunCutter,
    joined_edges,
    min_note_frames,
    stretch_notes,
)
from avsvt.live.events import NoteEvent
from avsvt.notes import Note, hz_to_midi_array

FloatArray = npt.NDArray[np.float64]

MAX_NOTE_S = 30.0
"""Default of :class:`LiveSegmenter`'s ``max_note_s``."""
EARLY_FRAMES = 5
"""Default of :class:`LiveSegmenter`'s ``early_frames``."""


class LiveSegmenter:
    """f0 frames in (any number at a time), note events out (module docstring).

    Args:
        settings: The segmentation settings (those of the offline transcription to match).
        fps: Frames per second of the f0 track.
        max_note_s: The longest stretch held unfinished (module docstring).
        early: Provisional note-ons (module docstring): a run's first note after
            ``early_frames`` voiced frames, any other at the frame its cut is decided; a
            ``note_cancel`` withdraws one that the finished notes do not keep.
        early_frames: Voiced frames before a run's provisional note-on.
    """

    def __init__(
        self,
        settings: F0NoteSettings,
        fps: float,
        *,
        max_note_s: float = MAX_NOTE_S,
        early: bool = False,
        early_frames: int = EARLY_FRAMES,
    ) -> None:
        if not (math.isfinite(max_note_s) and max_note_s > 0):
            raise ValueError(f"max_note_s must be a positive number, got {max_note_s!r}")
        if early_frames < 1:
            raise ValueError(f"early_frames must be at least 1, got {early_frames!r}")
        self.settings = settings
        self.early = early
        self._early_frames = early_frames
        self.fps = fps
        self._frame_s = 1.0 / fps
        self._half = (settings.median_frames - 1) // 2 if settings.median_frames > 1 else 0
        self._min_frames = min_note_frames(settings, fps)
        self._max_frames = max(self._min_frames, int(round(max_note_s * fps)))
        # the median filter's input: raw f0 of frames _raw_first..; zeros stand before frame 0
        self._raw: FloatArray = np.zeros(self._half)
        self._raw_first = -self._half
        self._next = 0  # the next frame to filter
        # the voiced run in progress (None between runs)
        self._run_start: int | None = None
        self._cutter: RunCutter | None = None
        self._first = 0  # run index of the unfinished stretch's first frame
        self._starts_run = True  # whether that stretch starts the run
        self._values: list[float] = []  # its frames (filtered f0, fractional MIDI)
        self._cuts: list[int] = []  # the decided cuts in it (run indices)
        self._on: dict[int, NoteEvent] = {}  # note-ons out for onsets at these run indices
        self._closed = False

    @property
    def frames_held(self) -> int:
        """Frames held: the median filter's input and the unfinished stretch (bounded)."""
        return len(self._raw) + len(self._values)

    @property
    def frames_done(self) -> int:
        """Frames that went through the median filter."""
        return self._next

    def push(self, f0_hz: npt.ArrayLike, *, time_s: float) -> list[NoteEvent]:
        """Add the track's next frames (Hz, 0 where unvoiced); returns the events they decide.

        Args:
            f0_hz: (frames,) f0 of the frames following the last ones given.
            time_s: Stream position to stamp the events with.
        """
        if self._closed:
            raise ValueError("the segmenter is closed")
        raw = np.asarray(f0_hz, dtype=np.float64)
        if not len(raw):
            return []
        self._raw = np.concatenate([self._raw, raw])
        return self._filter(time_s)

    def close(self, *, time_s: float) -> list[NoteEvent]:
        """End of the track: the remaining events (every note is finished)."""
        if self._closed:
            return []
        self._raw = np.concatenate([self._raw, np.zeros(self._half)])  # unvoiced after the end
        events = self._filter(time_s)
        if self._run_start is not None:
            events += self._end_run(time_s)
        self._closed = True
        return events

    # --- the median filter --------------------------------------------------------------------

    def _filter(self, time_s: float) -> list[NoteEvent]:
        """Filter every frame whose neighbourhood is known; pass them on."""
        half = self._half
        last = self._raw_first + len(self._raw) - 1 - half  # the last frame with its context
        if last < self._next:
            return []
        if half:
            filtered = median_filter(
                self._raw, size=self.settings.median_frames, mode="constant", cval=0.0
            )
            lo = self._next - self._raw_first
            hz = filtered[lo : lo + last - self._next + 1]
        else:
            hz = self._raw[self._next - self._raw_first :]
        first = self._next
        self._next = last + 1
        keep_from = self._next - half - self._raw_first
        self._raw = self._raw[keep_from:].copy()
        self._raw_first += keep_from
        return self._frames(hz, first, time_s)

    # --- runs and stretches -------------------------------------------------------------------

    def _frames(self, hz: FloatArray, first: int, time_s: float) -> list[NoteEvent]:
        """Filtered frames ``first ..`` (Hz): runs grown, ended and started."""
        voiced = hz > 0
        midi = hz_to_midi_array(hz, unvoiced=0.0)
        events: list[NoteEvent] = []
        position = 0
        while position < len(hz):
            if self._run_start is None:
                starts = np.flatnonzero(voiced[position:])
                if not len(starts):
                    break
                position += int(starts[0])
                self._run_start = first + position
                self._cutter = RunCutter(self.settings)
                self._first, self._starts_run = 0, True
                self._values, self._cuts, self._on = [], [], {}
            ends = np.flatnonzero(~voiced[position:])
            end = position + int(ends[0]) if len(ends) else len(hz)
            events += self._grow(midi[position:end], time_s)
            if end < len(hz):
                events += self._end_run(time_s)
            position = end
        return events

    def _grow(self, midi: FloatArray, time_s: float) -> list[NoteEvent]:
        """More frames of the run in progress."""
        assert self._cutter is not None and self._run_start is not None
        values = midi.tolist()
        self._values += values
        self._cuts += self._cutter.extend(values)
        events: list[NoteEvent] = []
        wait = self._early_frames if self.early else self._min_frames  # final: not dropped
        if self._starts_run and self._first not in self._on and self._cutter.length >= wait:
            events.append(self._note_on(self._first, time_s))
        if self.early:
            events += self._early_cuts(time_s)
        fixed = self._last_fixed_edge()
        if fixed is not None:
            events += self._finish(fixed, time_s)
        while self._cutter.length - self._first > self._max_frames:  # the cap (docstring)
            limit = self._first + self._max_frames
            within = [c for c in self._cuts if c <= limit]
            edge = within[-1] if within else min(self._cutter.decided, limit)
            if edge <= self._first:
                break
            events += self._finish(edge, time_s)
        return events

    def _early_cuts(self, time_s: float) -> list[NoteEvent]:
        """Early mode's note-ons of cuts (module docstring)."""
        assert self._cutter is not None
        ready = self._cutter.decided - self._early_frames
        edges = [self._first, *self._cuts]
        return [
            self._note_on(cut, time_s)
            for before, cut in zip(edges, edges[1:], strict=False)
            if cut <= ready and cut - before >= self._min_frames and cut not in self._on
        ]

    def _last_fixed_edge(self) -> int | None:
        """The last decided cut that no later frame can remove (module docstring)."""
        assert self._cutter is not None
        edges = [self._first, *self._cuts]
        m = self._min_frames
        for i in range(len(edges) - 1, 0, -1):
            # the fragment after the cut: complete, or cut-free up to the last decided frame
            after = (edges[i + 1] if i + 1 < len(edges) else self._cutter.decided) - edges[i]
            if after < m:
                continue
            if edges[i] - edges[i - 1] >= m:  # long on both sides: never removed
                return edges[i]
            # a short fragment before it joins the longer-growing one after it only if it did
            # so with that one as short as it can end: joined the other way now, then forever
            if edges[i] in joined_edges([*edges[: i + 1], edges[i] + after], m):
                return edges[i]
        return None

    def _stretch(self, edge: int) -> tuple[list[Note], list[int]]:
        """The notes of the stretch up to run index ``edge``, and the run indices they start at."""
        assert self._run_start is not None
        upto = edge - self._first
        inner = [c - self._first for c in self._cuts if c < edge]
        notes = stretch_notes(
            np.asarray(self._values[:upto]),
            self._run_start + self._first,
            inner,
            self.settings,
            self.fps,
            starts_run=self._starts_run,
        )
        starts = joined_edges([0, *inner, upto], self._min_frames)[:-1]  # as stretch_notes joins
        return notes, [self._first + k for k in starts]

    def _finish(self, edge: int, time_s: float) -> list[NoteEvent]:
        """Finish the stretch up to run index ``edge``; the next one starts there."""
        events = self._emit(*self._stretch(edge), edge=edge, time_s=time_s)
        self._values = self._values[edge - self._first :]
        self._cuts = [c for c in self._cuts if c > edge]
        self._first, self._starts_run = edge, False
        if edge not in self._on:
            events.append(self._note_on(edge, time_s))  # an edge that no later frame moves
        return events

    def _end_run(self, time_s: float) -> list[NoteEvent]:
        """The run in progress ended: its last stretch is finished (or a too short run dropped)."""
        assert self._cutter is not None and self._run_start is not None
        end = self._cutter.length
        notes: list[Note]
        starts: list[int]
        if self._starts_run and end < self._min_frames:
            notes, starts = [], []  # too short for a note: dropped
        else:
            notes, starts = self._stretch(end)
        events = self._emit(notes, starts, edge=end, time_s=time_s)
        self._run_start, self._cutter = None, None
        self._values, self._cuts = [], []
        return events

    # --- events -------------------------------------------------------------------------------

    def _emit(
        self, notes: list[Note], starts: list[int], *, edge: int, time_s: float
    ) -> list[NoteEvent]:
        """Events of the finished notes (starting at run indices ``starts``) before ``edge``.

        Provisional note-ons of onsets the notes do not keep are cancelled first; then each
        note's note-on (unless one is out for its onset) and its note-off.
        """
        finished = {k: e for k, e in self._on.items() if k < edge}
        self._on = {k: e for k, e in self._on.items() if k >= edge}
        events = [
            NoteEvent("note_cancel", e.onset_s, e.pitch_midi, time_s)
            for k, e in finished.items()
            if k not in starts
        ]
        for note, start in zip(notes, starts, strict=True):
            if start not in finished:
                events.append(NoteEvent("note_on", note.onset_s, note.pitch_midi, time_s))
            events.append(
                NoteEvent("note_off", note.onset_s, note.pitch_midi, time_s, note.offset_s)
            )
        return events

    def _note_on(self, start: int, time_s: float) -> NoteEvent:
        """The note-on of a note starting at run index ``start`` of the stretch, pitch so far."""
        assert self._run_start is not None
        onset_s = float(self._run_start + start) * self._frame_s  # as stretch_notes computes it
        if start == self._first and self._starts_run:
            onset_s = max(0.0, onset_s + self.settings.onset_shift_s)
        later = [c for c in self._cuts if c > start]
        stop = later[0] - self._first if later else len(self._values)
        head = self._values[start - self._first : stop]
        skip = int(round(self.settings.pitch_skip_s / self._frame_s))
        body = head[skip:] if len(head) > 2 * skip else head
        event = NoteEvent("note_on", onset_s, float(np.median(body)), time_s)
        self._on[start] = event
        return event
