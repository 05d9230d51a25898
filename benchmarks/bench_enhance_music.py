"""The built-in f0 tracker with and without ``--enhance`` on vocadito_1 under music.

Two accompaniments at 10 / 5 / 0 / -5 dB (the reference's mixing rule, as ``benchmarks/run.py``
mixes its vocadito-noisy conditions): the embedded corpus' accompaniment of the demo run's first
test song (tiled), and the GM band of ``benchmarks/gm_accomp.py`` (seed 0), which no model trains
on. Prints COnPOff F1 % against vocadito_1's annotators A1 / A2 and their mean, one markdown row
each. vocadito_1 is a check, never a tuning set.

Run: .venv/bin/python benchmarks/bench_enhance_music.py [--run runs/demo] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.metrics import score_notes
from avsvt.transcribe.api import transcribe_array
from avsvt.transcribe.predictor import F0NoteTracker
from gm_accomp import gm_accompaniment, renderer_missing
from harness import vocadito_inputs, with_noise

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    vocadito = vocadito_inputs(args.shared)
    ((name, clip),) = vocadito.items()
    test = [s for s in load_songs(args.run / "corpus") if s.split == "test"]
    music = {f"embedded accomp ({test[0].song_id})": read_audio(test[0].accomp_path)}
    band = gm_accompaniment(len(clip.audio) / 16_000, seed=0)
    if band is None:
        print(f"no GM band: {renderer_missing()}")
    else:
        music["GM band (seed 0)"] = band
    print("| music | SNR (dB) | system | COnPOff A1 / A2 | mean |\n|---|---|---|---|---|")
    for label, noise in music.items():
        for snr_db in (10, 5, 0, -5):
            mixed = with_noise(vocadito, noise, snr_db)[name]
            for enhance in (False, True):
                notes = transcribe_array(mixed.audio, F0NoteTracker(), enhance=enhance)
                f1 = [100 * score_notes(r, notes).COnPOff.f1 for r in mixed.references.values()]
                system = "--enhance + built-in" if enhance else "built-in"
                pair = " / ".join(f"{v:.1f}" for v in f1)
                print(f"| {label} | {snr_db} | {system} | {pair} | {np.mean(f1):.1f} |")


if __name__ == "__main__":
    main()
