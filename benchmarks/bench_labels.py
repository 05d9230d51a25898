"""Label building and decoding speed on a 10-minute song (issue 2: "well under 0.1 s").

Run: .venv/bin/python benchmarks/bench_labels.py
"""

from __future__ import annotations

import numpy as np

from avsvt.constants import AUDIO_FPS
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.labels import n_label_frames, notes_to_labels
from avsvt.notes import Note
from harness import best_of


def main() -> None:
    rng = np.random.default_rng(0)
    onsets = np.cumsum(rng.uniform(0.15, 0.45, 2000))
    onsets = onsets[onsets < 595]
    notes = [Note(float(t), float(t + 0.12), float(rng.integers(40, 80))) for t in onsets]
    n_frames = n_label_frames(600 * 16_000, AUDIO_FPS)
    labels = notes_to_labels(notes, n_frames, AUDIO_FPS)
    posteriors = FramePosteriors.from_labels(labels)
    config = DecoderConfig(fps=AUDIO_FPS)
    t_label = best_of(lambda: notes_to_labels(notes, n_frames, AUDIO_FPS), 20)
    t_decode = best_of(lambda: decode_notes(posteriors, config), 20)
    print("| step | input | time (best of 20) |")
    print("|---|---|---|")
    song = f"10 min, {len(notes)} notes, {n_frames} frames"
    print(f"| notes_to_labels | {song} | {1e3 * t_label:.1f} ms |")
    print(f"| decode_notes | same posteriors | {1e3 * t_decode:.1f} ms |")


if __name__ == "__main__":
    main()
