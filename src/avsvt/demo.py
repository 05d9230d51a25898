"""The main job on embedded data: what ``make demo`` runs.

Until the embedded corpus and the training recipes land, the demo runs the stages that exist on a
small synthetic corpus: corpus validation, frame labels, the note decoder fed with perfect
posteriors, and the evaluation, and says which stages are still missing.
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
from avsvt.testing import make_tiny_corpus

logger = logging.getLogger(__name__)

MISSING_STAGES = (
    "embedded singing corpus (issue 3)",
    "noise synthesis (issue 4)",
    "models (issue 5)",
    "training recipes and report (issue 6)",
)


def run_demo(out: Path) -> None:
    """Run every existing stage on a small synthetic corpus under ``out`` and print the results."""
    import numpy as np

    root = out / "corpus"
    if not (root / "annotations.json").exists():
        make_tiny_corpus(root, n_songs=6, duration_s=8.0, seed=0)
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
    print("not yet built, so not run: " + "; ".join(MISSING_STAGES))
