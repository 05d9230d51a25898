"""Note-level metrics through ``mir_eval.transcription`` with the reference tolerances.

COnPOff: onset within 50 ms, pitch within 50 cents, offset within max(50 ms, 20 % of the reference
duration). COnP: onset and pitch. COn: onset only. COff: offset only. Scores are computed per song
and averaged over songs (a song with no estimated notes scores 0, as in the reference); a pooled
variant scores all notes of all songs at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import mir_eval
import numpy as np

from avsvt.constants import (
    OFFSET_MIN_TOLERANCE_S,
    OFFSET_RATIO,
    ONSET_TOLERANCE_S,
    PITCH_TOLERANCE_CENTS,
)
from avsvt.notes import Note, midi_to_hz, notes_to_arrays

METRICS = ("COnPOff", "COnP", "COn", "COff")


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1, each a fraction in 0..1."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Tolerances:
    """Matching tolerances (defaults: mir_eval's, as the reference uses them)."""

    onset_s: float = ONSET_TOLERANCE_S
    pitch_cents: float = PITCH_TOLERANCE_CENTS
    offset_ratio: float = OFFSET_RATIO
    offset_min_s: float = OFFSET_MIN_TOLERANCE_S


@dataclass(frozen=True)
class NoteScores:
    """The four note metrics of one song (or pooled over songs)."""

    COnPOff: PRF  # noqa: N815 - the field's metric names
    COnP: PRF  # noqa: N815
    COn: PRF  # noqa: N815
    COff: PRF  # noqa: N815

    def to_dict(self) -> dict[str, dict[str, float]]:
        """Return ``{metric: {"precision", "recall", "f1"}}``."""
        return {name: asdict(getattr(self, name)) for name in METRICS}

    @classmethod
    def zero(cls) -> NoteScores:
        """All-zero scores (a song with no estimated notes)."""
        z = PRF(0.0, 0.0, 0.0)
        return cls(z, z, z, z)


def _hz(pitches_midi: np.ndarray) -> np.ndarray:
    return np.array([midi_to_hz(p) for p in pitches_midi], dtype=np.float64)


def score_notes(
    reference: Sequence[Note], estimate: Sequence[Note], tolerances: Tolerances | None = None
) -> NoteScores:
    """Score one song's estimated notes against its reference notes.

    Args:
        reference: Reference notes (fractional MIDI pitch allowed).
        estimate: Estimated notes.
        tolerances: Matching tolerances; the reference's by default.

    Returns:
        The four metrics. A song with no estimated notes scores 0 everywhere.
    """
    tol = tolerances or Tolerances()
    if not estimate or not reference:
        return NoteScores.zero()
    ref_int, ref_pitch = notes_to_arrays(reference)
    est_int, est_pitch = notes_to_arrays(estimate)
    ref_hz, est_hz = _hz(ref_pitch), _hz(est_pitch)
    common = {"onset_tolerance": tol.onset_s, "pitch_tolerance": tol.pitch_cents}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = mir_eval.transcription.precision_recall_f1_overlap(
            ref_int,
            ref_hz,
            est_int,
            est_hz,
            offset_ratio=tol.offset_ratio,
            offset_min_tolerance=tol.offset_min_s,
            **common,
        )
        no_offset = mir_eval.transcription.precision_recall_f1_overlap(
            ref_int, ref_hz, est_int, est_hz, offset_ratio=None, **common
        )
        onset = mir_eval.transcription.onset_precision_recall_f1(
            ref_int, est_int, onset_tolerance=tol.onset_s
        )
        offset = mir_eval.transcription.offset_precision_recall_f1(
            ref_int, est_int, offset_ratio=tol.offset_ratio, offset_min_tolerance=tol.offset_min_s
        )
    return NoteScores(
        COnPOff=PRF(*(float(v) for v in full[:3])),
        COnP=PRF(*(float(v) for v in no_offset[:3])),
        COn=PRF(*(float(v) for v in onset[:3])),
        COff=PRF(*(float(v) for v in offset[:3])),
    )


def mean_scores(scores: Sequence[NoteScores]) -> NoteScores:
    """Average per-song scores over songs (each song weight 1), as the reference reports them."""
    if not scores:
        return NoteScores.zero()

    def avg(metric: str, field: str) -> float:
        return float(np.mean([getattr(getattr(s, metric), field) for s in scores]))

    parts = {m: PRF(avg(m, "precision"), avg(m, "recall"), avg(m, "f1")) for m in METRICS}
    return NoteScores(**parts)


def pooled_scores(
    songs: Mapping[str, tuple[Sequence[Note], Sequence[Note]]],
    tolerances: Tolerances | None = None,
) -> NoteScores:
    """Score all songs' notes at once (pooled over notes rather than averaged over songs).

    Songs are laid end to end on one time line with a gap, so notes never match across songs.
    """
    pooled_ref: list[Note] = []
    pooled_est: list[Note] = []
    shift_s = 0.0
    for reference, estimate in songs.values():
        end_s = max([n.offset_s for n in (*reference, *estimate)], default=0.0)
        pooled_ref += [
            Note(n.onset_s + shift_s, n.offset_s + shift_s, n.pitch_midi) for n in reference
        ]
        pooled_est += [
            Note(n.onset_s + shift_s, n.offset_s + shift_s, n.pitch_midi) for n in estimate
        ]
        shift_s += end_s + 10.0
    return score_notes(pooled_ref, pooled_est, tolerances)
