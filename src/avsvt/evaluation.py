"""Scoring note files and folders of note files (the library side of ``avsvt evaluate``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avsvt.errors import DataError
from avsvt.metrics import METRICS, NoteScores, Tolerances, mean_scores, pooled_scores, score_notes
from avsvt.notefiles import NOTE_SUFFIXES, NoteFormat, read_notes
from avsvt.notes import Note

logger = logging.getLogger(__name__)

# When a folder holds several files with one stem, the most precise one is used.
_SUFFIX_PREFERENCE = (".csv", ".json", ".mid", ".midi")


@dataclass(frozen=True)
class Evaluation:
    """Per-song scores, their song average and the pooled scores."""

    songs: dict[str, NoteScores]
    mean: NoteScores
    pooled: NoteScores
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"songs": {stem: scores}, "mean": scores, "pooled": scores}``, fractions in 0..1."""
        return {
            "songs": {stem: s.to_dict() for stem, s in self.songs.items()},
            "mean": self.mean.to_dict(),
            "pooled": self.pooled.to_dict(),
        }


def note_files_by_stem(folder: Path) -> dict[str, Path]:
    """Map each stem in ``folder`` to its note file (csv over json over MIDI when several exist)."""
    found: dict[str, Path] = {}
    for suffix in reversed(_SUFFIX_PREFERENCE):
        for path in sorted(folder.glob(f"*{suffix}")):
            if path.suffix.lower() in NOTE_SUFFIXES and not path.name.startswith("."):
                found[path.stem] = path
    return dict(sorted(found.items()))


def evaluate_notes(
    pairs: dict[str, tuple[list[Note], list[Note]]], tolerances: Tolerances | None = None
) -> Evaluation:
    """Score ``{song: (reference, estimate)}``: per song, song-averaged and pooled."""
    songs = {stem: score_notes(ref, est, tolerances) for stem, (ref, est) in pairs.items()}
    return Evaluation(songs, mean_scores(list(songs.values())), pooled_scores(pairs, tolerances))


def evaluate_paths(
    reference: str | Path,
    estimate: str | Path,
    *,
    ref_format: NoteFormat = "auto",
    est_format: NoteFormat = "auto",
    tolerances: Tolerances | None = None,
) -> Evaluation:
    """Score two note files, or two folders of note files paired by file stem.

    A reference without an estimate scores 0 (like a song with no estimated notes) and is listed in
    ``missing``; estimates without a reference are ignored with a warning.

    Raises:
        DataError: Missing paths, a file paired with a folder, no common stems, or a bad file.
    """
    ref_path, est_path = Path(reference), Path(estimate)
    for path in (ref_path, est_path):
        if not path.exists():
            raise DataError("not found", path=path)
    if ref_path.is_file() and est_path.is_file():
        pair = (read_notes(ref_path, fmt=ref_format), read_notes(est_path, fmt=est_format))
        return evaluate_notes({ref_path.stem: pair}, tolerances)
    if ref_path.is_file() != est_path.is_file():
        raise DataError("--ref and --est must both be files or both be folders", path=est_path)
    refs, ests = note_files_by_stem(ref_path), note_files_by_stem(est_path)
    if not refs:
        raise DataError("no note files (.csv, .json, .mid) in folder", path=ref_path)
    common = [stem for stem in refs if stem in ests]
    if not common:
        raise DataError(f"no estimate file shares a stem with {ref_path}", path=est_path)
    missing = [stem for stem in refs if stem not in ests]
    for stem in missing:
        logger.warning("%s: no estimate for reference %s: scored 0", est_path, refs[stem].name)
    extra = [stem for stem in ests if stem not in refs]
    if extra:
        logger.warning(
            "%s: %d estimate(s) without reference ignored: %s", est_path, len(extra), extra[:5]
        )
    pairs = {
        stem: (
            read_notes(refs[stem], fmt=ref_format),
            read_notes(ests[stem], fmt=est_format) if stem in ests else [],
        )
        for stem in refs
    }
    result = evaluate_notes(pairs, tolerances)
    return Evaluation(result.songs, result.mean, result.pooled, missing)


def format_table(evaluation: Evaluation) -> str:
    """Plain-text table: one row per song plus the song average and pooled rows (F1 in %)."""
    header = f"{'song':<28}" + "".join(f"{m:>10}" for m in METRICS)
    lines = [header, "-" * len(header)]

    def row(name: str, scores: NoteScores) -> str:
        return f"{name[:28]:<28}" + "".join(
            f"{100 * getattr(scores, m).f1:>10.2f}" for m in METRICS
        )

    lines += [row(stem, s) for stem, s in evaluation.songs.items()]
    lines.append("-" * len(header))
    lines.append(row(f"mean ({len(evaluation.songs)} songs)", evaluation.mean))
    lines.append(row("pooled", evaluation.pooled))
    return "\n".join(lines) + "\n(F1 %, song-averaged unless pooled)"
