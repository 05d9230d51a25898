"""Output files of ``avsvt transcribe``: ``<stem>.mid``, ``.csv``, ``.json`` and ``.png``.

Names follow the input's stem; an existing output is never replaced unless ``overwrite`` is set,
and the check happens for all of a file's outputs before any work is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.data.atomic import write_json_atomic
from avsvt.errors import OutputExistsError
from avsvt.notefiles import write_csv_notes, write_midi_notes
from avsvt.notes import notes_to_rows
from avsvt.transcribe.api import TranscriptionResult

FORMATS = ("mid", "csv", "json")


def output_paths(
    source: str | Path, out_dir: str | Path, formats: Sequence[str], *, plot: bool = False
) -> dict[str, Path]:
    """``{format: path}`` for one input (``png`` added when ``plot``)."""
    stem = Path(source).stem
    paths = {fmt: Path(out_dir) / f"{stem}.{fmt}" for fmt in formats}
    if plot:
        paths["png"] = Path(out_dir) / f"{stem}.png"
    return paths


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
) -> None:
    """Write the notes in every requested format (and the piano roll when a ``png`` is asked)."""
    if "mid" in paths:
        write_midi_notes(paths["mid"], result.notes, tempo_bpm=tempo_bpm)
    if "csv" in paths:
        write_csv_notes(paths["csv"], result.notes)
    if "json" in paths:
        write_json_atomic(
            paths["json"],
            {
                "notes": notes_to_rows(result.notes),
                "duration_s": result.duration_s,
                "used_video": result.used_video,
                "video_gaps_s": [list(gap) for gap in result.video_gaps_s],
                "seconds": round(result.seconds, 4),
                "messages": result.messages,
            },
        )
    if "png" in paths:
        from avsvt.plots import plot_piano_roll

        plot_piano_roll({"transcription": result.notes}, paths["png"], audio=audio, title=title)
