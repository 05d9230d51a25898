"""The main job on embedded data: what ``make demo`` runs.

Until the training recipes land, the demo runs the stages that exist: it generates the embedded
synthetic audio-visual singing corpus, validates it, writes frame labels, checks labels -> decoder
-> metrics with perfect posteriors, draws a preview of one song, and says which stages are still
missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from avsvt.constants import AUDIO_FPS
from avsvt.data.n20em import load_songs, validate_root
from avsvt.data.prepare import AUDIO_LABELS, prepare_labels
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.errors import DataError
from avsvt.evaluation import evaluate_notes, format_table
from avsvt.synth.corpus import synth_corpus
from avsvt.synth.preview import write_preview

logger = logging.getLogger(__name__)

MISSING_STAGES = (
    "noise synthesis (issue 4)",
    "models (issue 5)",
    "training recipes and report (issue 6)",
)


def run_demo(out: Path) -> None:
    """Run every existing stage on a small synthetic corpus under ``out`` and print the results."""
    import numpy as np

    root = out / "corpus"
    synth_corpus(root, seed=0, preset="default")  # skips songs already written
    problems = [p for p in validate_root(root) if p.is_error]
    if problems:
        raise DataError(f"demo corpus is invalid: {problems[0]}", path=root)
    songs = load_songs(root)
    counts = prepare_labels(songs)
    print(
        f"corpus: {root} ({len(songs)} songs); "
        f"labels {counts.written} written, {counts.skipped} reused"
    )
    pairs = {}
    for song in songs:
        labels = np.load(song.folder / AUDIO_LABELS)
        estimate = decode_notes(FramePosteriors.from_labels(labels), DecoderConfig(fps=AUDIO_FPS))
        pairs[song.song_id] = (list(song.notes), estimate)
    print("oracle check: labels -> perfect posteriors -> decoder -> metrics")
    print(format_table(evaluate_notes(pairs)))
    preview = write_preview(root, songs[0].song_id, out / f"preview_{songs[0].song_id}.png")
    print(f"preview of one song (spectrogram + notes, mouth opening, lip frames): {preview}")
    print("not yet built, so not run: " + "; ".join(MISSING_STAGES))
