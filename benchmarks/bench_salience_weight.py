"""How much of the default model's voicing should come from its salience head, and who chose.

For each salience weight of :data:`WEIGHTS` (the voicing blend of
:func:`avsvt.pitchnet.model.decode_f0`), the note segmentation is fitted as the recipe fits it
(:func:`avsvt.pitchnet.train.fit_decoding`), but on a wider set: the recipe's validation mixtures
(songs drawn like the training ones) and the same songs sung by singers drawn wider than the
network ever heard (:func:`wide_data`), so the fit rewards what transfers. The model so decoded
is scored (COnPOff F1 %) on:

* **fit**: all those validation mixtures (a fit would keep the weight that scores best here);
* **drawn like training** / **wider singers**: each half of them;
* **embedded valid**: the embedded corpus' validation split (another synthesiser's singers),
  clean, with its accompaniment at 10 / 5 / 0 / -5 dB and white noise at 0 / -5 dB (mean);
* **vocadito_1** (mean of A1 / A2): the issue-16 cells, a check never used to choose.

Run: .venv/bin/python benchmarks/bench_salience_weight.py [--model PATH] [--run runs/demo]
     [--stems runs/bench-cache/valid-stems]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from avsvt.config import load_config
from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.f0notes import F0NoteSettings, f0_notes
from avsvt.metrics import score_notes
from avsvt.noise.synthesis import NoiseMixer
from avsvt.notes import Note
from avsvt.pitchnet.data import DataConfig
from avsvt.pitchnet.features import SpectrogramConfig
from avsvt.pitchnet.model import decode_f0
from avsvt.pitchnet.recipe import DefaultModelRun
from avsvt.pitchnet.track import PitchNetTracker
from avsvt.pitchnet.train import config_pool, fit_decoding, validation_mixtures
from avsvt.transcribe.predictor import DEFAULT_MODEL, load_predictor
from gm_accomp import gm_accompaniment
from harness import corpus_inputs, noisy_conditions, vocadito_inputs

ROOT = Path(__file__).resolve().parents[1]
Outputs = tuple[np.ndarray, np.ndarray]
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def wide_data(data: DataConfig) -> DataConfig:
    """Singers drawn wider than the training ones: timbre and fading note ends."""
    return dataclasses.replace(data, timbre=True, tails=True)


def decoded_f1(
    outputs: Outputs,
    reference: list[Note],
    spec: SpectrogramConfig,
    settings: F0NoteSettings,
    weight: float,
) -> float:
    """COnPOff F1 % of one recording's network outputs decoded with ``settings`` and ``weight``."""
    threshold = 1 - settings.max_aperiodicity
    track = decode_f0(*outputs, spec, threshold=threshold, salience_weight=weight)
    return 100 * score_notes(reference, f0_notes(track, settings)).COnPOff.f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--stems", type=Path, default=ROOT / "runs" / "bench-cache" / "valid-stems")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    config = load_config(DefaultModelRun, ROOT / "configs" / "default-model.yaml", ()).train
    tracker = load_predictor(args.model or DEFAULT_MODEL)  # the network alone
    assert isinstance(tracker, PitchNetTracker), "a pitch-network model"
    spec = tracker.model.config.spectrogram

    def outputs(items: list[tuple[np.ndarray, list[Note]]]) -> list[tuple[Outputs, list[Note]]]:
        return [(tracker.probabilities(audio), notes) for audio, notes in items]

    halves: dict[str, list[tuple[Outputs, list[Note]]]] = {}
    for label, folder, data in (
        ("drawn like training", args.stems, config.data),
        ("wider singers", args.stems / "wide", wide_data(config.data)),
    ):
        kind = dataclasses.replace(config, data=data)
        pool = config_pool(folder, kind.valid_seeds(), kind, progress=True)
        halves[label] = outputs(validation_mixtures(pool, kind))
    songs = [s for s in load_songs(args.run / "corpus") if s.split == "valid"]
    mixer = NoiseMixer(types=("accomp", "white"))
    embedded: list[tuple[Outputs, list[Note]]] = []
    for kind, snr_db in [
        (None, None),
        *[("accomp", s) for s in (10, 5, 0, -5)],
        ("white", 0),
        ("white", -5),
    ]:
        for x in corpus_inputs(songs, noise_type=kind, snr_db=snr_db, mixer=mixer).values():
            embedded.append((tracker.probabilities(x.audio), next(iter(x.references.values()))))
    vocadito = vocadito_inputs(args.shared)
    ((name, clip),) = vocadito.items()
    test = [s for s in load_songs(args.run / "corpus") if s.split == "test"]
    music = {"accomp": read_audio(test[0].accomp_path)}
    band = gm_accompaniment(len(clip.audio) / 16_000, seed=0)
    if band is not None:
        music["GM band"] = band
    conditions = noisy_conditions(vocadito, music=music)
    real = {
        c: (tracker.probabilities(x[name].audio), x[name].references) for c, x in conditions.items()
    }

    fit_items = halves["drawn like training"] + halves["wider singers"]
    header = ["salience weight", "fit", *halves, "embedded valid", *(f"vocadito {c}" for c in real)]
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for weight in WEIGHTS:
        fit = fit_decoding([o for o, _ in fit_items], [n for _, n in fit_items], spec, (weight,))

        def f1(o: Outputs, reference: list[Note]) -> float:
            return decoded_f1(o, reference, spec, fit.settings, weight)  # noqa: B023 - used at once

        cells = [f"{weight:g}", f"{100 * fit.scores['COnPOff']:.1f}"]
        cells += [f"{np.mean([f1(o, n) for o, n in items]):.1f}" for items in halves.values()]
        cells.append(f"{np.mean([f1(o, n) for o, n in embedded]):.1f}")
        for o, references in real.values():
            cells.append(f"{np.mean([f1(o, r) for r in references.values()]):.1f}")
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
