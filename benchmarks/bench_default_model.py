"""The learned default model against the built-in f0 tracker on vocadito_1 in noise and music.

Conditions (the reference's mixing rule, as ``benchmarks/run.py`` mixes its vocadito-noisy
conditions): clean; white noise at 0 / -5 dB; the embedded corpus' accompaniment of the demo run's
first test song and the GM band of ``benchmarks/gm_accomp.py`` (seed 0, which no model trains on)
at 10 / 5 / 0 / -5 dB. Prints COnPOff F1 % (mean of annotators A1 / A2) per system and condition,
and each system's real-time factor on the clean clip, then what the default measured in each
condition (the background's level under the voice) and which of its two systems gave the notes.
vocadito_1 is a check, never a tuning set.
With ``--embedded``, a second table: the default model on the embedded test split, clean and with
its accompaniment at 10..-10 dB (song-averaged COnPOff and COn F1 %, as the harness mixes them).

Run: .venv/bin/python benchmarks/bench_default_model.py [--model PATH] [--run RUN] [--embedded]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from avsvt.data.audio import read_audio
from avsvt.data.n20em import Song, load_songs
from avsvt.metrics import score_notes
from avsvt.noise.synthesis import NoiseMixer
from avsvt.pitchnet.route import Route, SoloRouted
from avsvt.transcribe.api import transcribe_array
from avsvt.transcribe.predictor import (
    DEFAULT_MODEL,
    F0NoteTracker,
    Transcription,
    load_predictor,
)
from gm_accomp import gm_accompaniment, renderer_missing
from harness import corpus_inputs, noisy_conditions, vocadito_inputs

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--embedded", action="store_true", help="also the embedded test split")
    args = parser.parse_args()
    vocadito = vocadito_inputs(args.shared)
    ((name, clip),) = vocadito.items()
    test = [s for s in load_songs(args.run / "corpus") if s.split == "test"]
    music = {"accomp": read_audio(test[0].accomp_path)}
    band = gm_accompaniment(len(clip.audio) / 16_000, seed=0)
    if band is None:
        print(f"no GM band: {renderer_missing()}")
    else:
        music["GM band"] = band
    conditions = noisy_conditions(vocadito, music=music)
    systems = {"f0 tracker": F0NoteTracker(), "default model": load_predictor(args.model)}
    if args.model is None:
        systems["default's network alone"] = load_predictor(DEFAULT_MODEL)
    print("| system | " + " | ".join(conditions) + " | x real time |")
    print("|---|" + "---|" * (len(conditions) + 1))
    routes: dict[str, Route] = {}  # what the default measured, and which system it chose
    for system, predictor in systems.items():
        cells = []
        speed = 0.0
        for condition, inputs in conditions.items():
            audio = inputs[name].audio
            start = time.perf_counter()
            if isinstance(predictor, SoloRouted):
                notes, routes[condition] = predictor.transcribe_routed(audio)
            else:
                notes = transcribe_array(audio, predictor)
            if condition == "clean":
                speed = len(audio) / 16_000 / (time.perf_counter() - start)
            f1 = [100 * score_notes(r, notes).COnPOff.f1 for r in inputs[name].references.values()]
            cells.append(f"{np.mean(f1):.1f}")
        print(f"| {system} | " + " | ".join(cells) + f" | {speed:.0f} |")
    if routes:
        print("\n| vocadito_1 | background under the voice | the default's notes from |")
        print("|---|---|---|")
        for condition, route in routes.items():
            system = "f0 tracker" if route.system == "f0" else "pitch network"
            print(f"| {condition} | {-route.background_db:.1f} dB | {system} |")
    if args.embedded:
        embedded_table(test, systems["default model"])


def embedded_table(test: list[Song], predictor: Transcription) -> None:
    """The model on the embedded test split, clean and with accompaniment (module docstring)."""
    mixer = NoiseMixer(types=("accomp",))
    snrs: list[float | None] = [None, 10, 5, 0, -5, -10]
    rows: dict[str, list[str]] = {"COnPOff": [], "COn": []}
    for snr_db in snrs:
        inputs = corpus_inputs(
            test, noise_type=None if snr_db is None else "accomp", snr_db=snr_db, mixer=mixer
        )
        scores = [
            score_notes(ref, transcribe_array(x.audio, predictor))
            for x in inputs.values()
            for ref in x.references.values()
        ]
        for metric, cells in rows.items():
            cells.append(f"{100 * np.mean([getattr(s, metric).f1 for s in scores]):.1f}")
    print()
    print(
        "| embedded test split | "
        + " | ".join("clean" if s is None else f"{s} dB" for s in snrs)
        + " |"
    )
    print("|---|" + "---|" * len(snrs))
    for metric, cells in rows.items():
        print(f"| default model {metric} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
