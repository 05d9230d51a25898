"""Notes from the voice's f0: the improved audio decoding (issue 10).

A sung note is a stretch of steady pitch. The f0 track (:func:`avsvt.f0.yin`) is median-filtered;
each run of voiced frames is cut where the pitch leaves the running note's median by more than
``split_semitones`` for ``hold_frames`` frames in a row (a vibrato swing or a one-frame glitch does
not cut; a new note does), at the frame where the departure began. Fragments shorter than
``min_note_s`` are glides or glitches: joined to the neighbour in the same run when there is one,
dropped otherwise. A note's pitch is the median f0 of its frames after ``pitch_skip_s`` (the scoop
into the note), in fractional MIDI: singers are rarely on the equal-tempered grid.

The settings are fitted by the recipe (``avsvt run``'s ``f0notes`` step, :func:`fit_f0_notes`: a
grid search over :data:`F0NOTE_GRID` on the validation split's clean vocals), never on the real
recordings we report; the defaults are what it fits on the embedded corpus (``configs/demo.yaml``).
A fitted tracker is stored as a small JSON model file (:func:`f0_model_json`, read back with
:func:`read_f0_model`, every setting checked against :data:`F0NOTE_RANGES`), which
``avsvt transcribe --model`` accepts like a checkpoint.
"""

from __future__ import annotations

import itertools
import json
import math
from bisect import bisect_left, insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.ndimage import median_filter

from avsvt.errors import CheckpointError, ConfigError
from avsvt.f0 import F0Track, yin
from avsvt.metrics import NoteScores, mean_scores, score_notes
from avsvt.notes import Note, hz_to_midi_array

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

    Every value must lie in its range of :data:`F0NOTE_RANGES` (``median_frames`` odd), so a
    model file cannot ask for a filter longer than any note, a threshold that is NaN, or a length
    that overflows when turned into frames.

    Raises:
        ConfigError: A value of the wrong type, not finite, or outside its range (the message
            starts with the field's name).
    """

    median_frames: int = 5
    split_semitones: float = 0.7
    hold_frames: int = 8
    reference_frames: int = 1000
    min_note_s: float = 0.08
    pitch_skip_s: float = 0.0
    onset_shift_s: float = 0.0
    max_aperiodicity: float = 0.2

    def __post_init__(self) -> None:
        for name, (low, high, unit) in F0NOTE_RANGES.items():
            value = getattr(self, name)
            integral = isinstance(low, int)
            if isinstance(value, bool) or not isinstance(value, int if integral else int | float):
                kind = "an integer" if integral else "a number"
                raise ConfigError(f"{name}: expected {kind}, got {value!r}")
            if not math.isfinite(value):
                raise ConfigError(f"{name}: {value!r} is not a finite number")
            if not low <= value <= high:
                raise ConfigError(f"{name}: {value!r} is out of range ({low} to {high} {unit})")
        if self.median_frames % 2 == 0:
            raise ConfigError(
                f"median_frames: {self.median_frames} is even (the median filter's length is odd; "
                "1 = off)"
            )


F0NOTE_RANGES: dict[str, tuple[float, float, str]] = {
    "median_frames": (1, 101, "frames, odd; 1 = off"),
    "split_semitones": (0.05, 24.0, "semitones"),
    "hold_frames": (1, 100, "frames"),
    "reference_frames": (1, 100_000, "frames"),
    "min_note_s": (0.0, 10.0, "s"),
    "pitch_skip_s": (0.0, 1.0, "s"),
    "onset_shift_s": (-1.0, 1.0, "s"),
    "max_aperiodicity": (0.01, 1.0, "YIN aperiodicity"),
}
"""``{field: (lowest, highest, unit)}`` of :class:`F0NoteSettings` (inclusive; f0 frames are 10 ms).

Integer bounds mark the integer fields. The ranges hold every value the recipe can fit
(:data:`F0NOTE_GRID`) with room around them; beyond them a setting is meaningless (a median filter
or a hold longer than a second erases sung notes, a minimum note length beyond 10 s drops them all,
a split below 5 cents cuts on YIN's own jitter) or its cost grows without use."""


def track_f0(audio: npt.NDArray[np.floating], settings: F0NoteSettings) -> F0Track:
    """YIN f0 of 16 kHz audio with the settings' voicing threshold."""
    return yin(audio, max_aperiodicity=settings.max_aperiodicity)


class RunCutter:
    """The split rule over one voiced run, fed as the run grows (what :func:`f0_notes` cuts by).

    A cut at run frame ``i`` (the departure's first frame) is decided once frames ``i`` to
    ``i + hold_frames - 1`` are known, and never changes after: the running note's median
    depends on earlier frames only, and a cut starts the next note's median afresh. So
    :attr:`cuts` grows monotonically, whatever the sizes of the pieces given to :meth:`extend`,
    and equals the cuts of the whole run at once. Memory stays within ``reference_frames +
    hold_frames`` values plus the last piece given.
    """

    def __init__(self, settings: F0NoteSettings) -> None:
        self.settings = settings
        self.cuts: list[int] = []
        """Decided cut points (run frame indices, first frame excluded), ascending."""
        self.length = 0
        """Frames given so far."""
        self.decided = 1
        """Frames ``1 .. decided - 1`` are decided (a cut or not); later ones are pending."""
        self._values: list[float] = []  # run frames self._first, self._first + 1, ...
        self._first = 0
        self._start = 0  # the current note's first frame
        self._window: list[float] = []  # its last reference_frames values, sorted

    def extend(self, values: Sequence[float]) -> list[int]:
        """Add the run's next frames (fractional MIDI); returns the cuts they decide."""
        if not len(values):
            return []
        held, first = self._values, self._first
        held.extend(values)
        if not self.length:
            self._window = [held[0]]
        self.length += len(values)
        hold = max(1, self.settings.hold_frames)
        split, span = self.settings.split_semitones, self.settings.reference_frames
        window, start, i = self._window, self._start, self.decided
        found: list[int] = []
        while i + hold <= self.length:
            k = len(window)
            reference = window[k // 2] if k % 2 else 0.5 * (window[k // 2 - 1] + window[k // 2])
            ahead = held[i - first : i - first + hold]
            if all(abs(v - reference) > split for v in ahead):
                found.append(i)
                start = i
                window = [held[i - first]]
                i += 1
                continue
            insort(window, held[i - first])
            if i - start + 1 > span:
                del window[bisect_left(window, held[i - span - first])]
            i += 1
        self._window, self._start, self.decided = window, start, i
        keep = i - span - first  # frames before i - span are never read again
        if keep > 0:
            del held[:keep]
            self._first += keep
        self.cuts.extend(found)
        return found


def _cut_run(midi: FloatArray, settings: F0NoteSettings) -> list[int]:
    """Cut points (relative frame indices, excluding 0 and len) of one voiced run."""
    cutter = RunCutter(settings)
    cutter.extend(midi.tolist())
    return cutter.cuts


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
    midi = hz_to_midi_array(hz, unvoiced=0.0)
    min_frames = min_note_frames(settings, track.fps)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    notes: list[Note] = []
    for run_start, run_end in zip(changes[::2], changes[1::2], strict=True):
        run = midi[run_start:run_end]
        if len(run) < min_frames:
            continue
        cuts = _cut_run(run, settings)
        notes += stretch_notes(run, int(run_start), cuts, settings, track.fps, starts_run=True)
    return notes


def min_note_frames(settings: F0NoteSettings, fps: float) -> int:
    """``min_note_s`` in frames (at least 1): shorter runs are dropped, shorter fragments joined."""
    return max(1, int(round(settings.min_note_s / (1.0 / fps))))


def joined_edges(edges: Sequence[int], min_frames: int) -> list[int]:
    """What :func:`f0_notes` keeps of a run's edges: fragments under ``min_frames`` joined.

    Shortest first, each to its shorter neighbour (the left one on a tie); ``edges`` holds the
    run's first frame, its cuts and its end, ascending.
    """
    return _merge_short(list(edges), min_frames)


def stretch_notes(
    midi: FloatArray,
    first_frame: int,
    cuts: Sequence[int],
    settings: F0NoteSettings,
    fps: float,
    *,
    starts_run: bool,
) -> list[Note]:
    """The notes of a stretch of one voiced run, given the split rule's cuts in it.

    Short fragments are joined (:func:`_merge_short`), each note's pitch is the median of its
    frames after ``pitch_skip_s``, and the first note gets ``onset_shift_s`` when the stretch
    starts its run. A whole run is one stretch (:func:`f0_notes`); live transcription
    (:mod:`avsvt.live`) cuts a run into stretches at edges that no later frame can move.

    Args:
        midi: (frames,) the stretch's filtered f0 in fractional MIDI, all voiced.
        first_frame: Frame index of its first frame in the track.
        cuts: Cut points in it (stretch frame indices, ascending, excluding 0 and len).
        settings: Segmentation settings.
        fps: Frames per second of the track.
        starts_run: Whether the stretch starts a voiced run.
    """
    frame_s = 1.0 / fps
    min_frames = min_note_frames(settings, fps)
    skip = int(round(settings.pitch_skip_s / frame_s))
    edges = _merge_short([0, *cuts, len(midi)], min_frames)
    notes: list[Note] = []
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        body = midi[lo + skip : hi] if hi - lo > 2 * skip else midi[lo:hi]
        onset_s = float(first_frame + lo) * frame_s
        if k == 0 and starts_run:
            onset_s = max(0.0, onset_s + settings.onset_shift_s)
        offset_s = float(first_frame + hi) * frame_s
        notes.append(Note(onset_s, offset_s, float(np.median(body))))
    return notes


def transcribe_f0(
    audio: npt.NDArray[np.floating], settings: F0NoteSettings | None = None
) -> list[Note]:
    """Notes of 16 kHz mono solo-voice audio from its f0 alone."""
    settings = settings or F0NoteSettings()
    return f0_notes(track_f0(audio, settings), settings)


# Ranges from musical priors: sung notes as short as a sixteenth at 150 bpm (100 ms) must survive,
# so fragments up to 100 ms may be dropped and a new pitch must hold for at most 80 ms.
F0NOTE_GRID: dict[str, tuple[float, ...]] = {
    "max_aperiodicity": (0.15, 0.2, 0.25, 0.35),
    "split_semitones": (0.5, 0.7, 1.0),
    "hold_frames": (1, 3, 5, 8),
    "reference_frames": (10, 1000),
    "min_note_s": (0.05, 0.08, 0.1),
    "pitch_skip_s": (0.0, 0.05),
    "onset_shift_s": (-0.03, -0.015, 0.0),
}
"""The settings :func:`fit_f0_notes` searches (the others keep their defaults)."""


@dataclass(frozen=True)
class F0Fit:
    """The outcome of :func:`fit_f0_notes`."""

    settings: F0NoteSettings
    scores: NoteScores
    n_candidates: int


def fit_f0_notes(
    audio: Sequence[Any],
    references: Sequence[Sequence[Note]],
    grid: Mapping[str, Sequence[float]] = F0NOTE_GRID,
    *,
    tracker: Callable[[Any, F0NoteSettings], F0Track] = track_f0,
) -> F0Fit:
    """Fit the tracker's settings: the grid point with the best song-averaged COnPOff F1.

    Ties go to the higher COnP F1, then to the earlier grid point (grid order is the product of
    the value lists, in the order given), so the fit is deterministic.

    Args:
        audio: 16 kHz solo-voice recordings (the validation split's vocals).
        references: Their notes.
        grid: ``{F0NoteSettings field: candidate values}``.
        tracker: ``(item of audio, settings) -> f0 track``; it may depend on the settings'
            ``max_aperiodicity`` only (YIN by default; the pitch network's outputs give theirs,
            :mod:`avsvt.pitchnet`).
    """
    names = list(grid)
    tracks: dict[float, list[F0Track]] = {}
    best: tuple[float, float] | None = None
    chosen: tuple[F0NoteSettings, NoteScores] | None = None
    count = 0
    for values in itertools.product(*grid.values()):
        settings = F0NoteSettings(**dict(zip(names, values, strict=True)))  # type: ignore[arg-type]
        if settings.max_aperiodicity not in tracks:
            tracks[settings.max_aperiodicity] = [tracker(a, settings) for a in audio]
        scores = mean_scores(
            [
                score_notes(list(ref), f0_notes(track, settings))
                for ref, track in zip(references, tracks[settings.max_aperiodicity], strict=True)
            ]
        )
        count += 1
        key = (scores.COnPOff.f1, scores.COnP.f1)
        if best is None or key > best:
            best, chosen = key, (settings, scores)
    if chosen is None:
        raise ValueError("empty grid")
    return F0Fit(*chosen, n_candidates=count)


F0_MODEL_KIND = "avsvt-f0notes"
F0_MODEL_VERSION = 1


def f0_model_json(settings: F0NoteSettings, info: Mapping[str, Any]) -> str:
    """The JSON model file of a fitted tracker: its settings and how they were obtained."""
    body = {
        "kind": F0_MODEL_KIND,
        "version": F0_MODEL_VERSION,
        "settings": asdict(settings),
        **info,
    }
    return json.dumps(body, indent=2) + "\n"


def f0_model_from_json(text: str, *, source: str) -> tuple[F0NoteSettings, dict[str, Any]]:
    """Read a tracker model file (see :func:`f0_model_json`): its settings and its whole body.

    The body's other entries (``fitted_on``, ``candidates``, ``valid_f1``, ``test_f1``) are what
    the recipe recorded; they are returned as read, for display only.

    Raises:
        CheckpointError: Not JSON (or nested too deeply to parse), not an f0-notes model, another
            version, or settings of the wrong names, types or ranges (:data:`F0NOTE_RANGES`).
    """
    from avsvt.config import from_dict

    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"not a model file (invalid JSON: {exc.msg})", path=source) from None
    except RecursionError:
        raise CheckpointError(
            "not a model file (JSON nested too deeply to read)", path=source
        ) from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise CheckpointError(f"not a model file (invalid JSON: {exc})", path=source) from None
    if not isinstance(body, dict) or body.get("kind") != F0_MODEL_KIND:
        raise CheckpointError(f"not an {F0_MODEL_KIND} model file", path=source)
    version = body.get("version")
    if type(version) is not int or version != F0_MODEL_VERSION:
        shown = "no version" if version is None else f"version {_short(version)}"
        raise CheckpointError(
            f"{F0_MODEL_KIND} model file of {shown}: this avsvt reads version {F0_MODEL_VERSION}",
            path=source,
        )
    settings = body.get("settings")
    if not isinstance(settings, dict):
        raise CheckpointError("model file has no 'settings' object", path=source)
    try:
        return from_dict(F0NoteSettings, settings, source=source, prefix="settings."), body
    except ConfigError as exc:  # range checks (__post_init__) name the bare field
        message = exc.message if exc.message.startswith("settings.") else f"settings.{exc.message}"
        raise CheckpointError(message, path=source) from None


F0_MODEL_MAX_BYTES = 1 << 20
"""The most of an f0-notes model file that is read (the recipe writes a few hundred bytes)."""


def read_f0_model(path: str | Path) -> tuple[F0NoteSettings, dict[str, Any]]:
    """Read an f0-notes model file: its settings and its whole body (for ``model inspect``).

    Only a regular file is opened, and at most :data:`F0_MODEL_MAX_BYTES` of it are read, so a
    device, a pipe or a huge file is refused before anything is allocated.

    Raises:
        CheckpointError: Not a regular file, too large, not UTF-8, or not a valid model file
            (:func:`f0_model_from_json`).
    """
    from avsvt.data.files import not_a_file

    path = Path(path)
    problem = not_a_file(path, missing="model file not found")
    if problem:
        raise CheckpointError(problem, path=path)
    try:
        with path.open("rb") as handle:
            data = handle.read(F0_MODEL_MAX_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(
            f"cannot read model file ({exc.strerror or exc})", path=path
        ) from None
    if len(data) > F0_MODEL_MAX_BYTES:
        raise CheckpointError(
            f"too large for an f0-notes model file (over {F0_MODEL_MAX_BYTES // 1024} KiB; "
            "the recipe writes a few hundred bytes)",
            path=path,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(
            f"not a model file (not UTF-8 text: {exc.reason})", path=path
        ) from None
    return f0_model_from_json(text, source=str(path))


def f0_settings_from_json(text: str, *, source: str) -> F0NoteSettings:
    """The settings of a tracker model file (:func:`f0_model_from_json`)."""
    return f0_model_from_json(text, source=source)[0]


def _short(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (values read from a file go into one line)."""
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
