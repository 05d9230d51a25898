"""Pitch-network variants across training seeds, and averaged networks (an ensemble).

One training run of the default model's recipe carries seed noise: on the check clip two seeds
differ by up to 15 COnPOff points. This compares model files trained with other seeds or data
options, and the average of several networks' probabilities (decoded with a segmentation fitted,
as the recipe fits it, on the validation mixtures of the first member's recipe seed), on:

* **generated validation** songs no compared model trained on: the validation stems of each run
  given with ``--valid`` (whole songs, mixed as the recipe's validation is, and the clean vocals),
  and those of each ``--valid-seed`` (``configs/default-model.yaml``'s recipe with that seed,
  rendered under ``--fit-dir``: songs no model's decoding was fitted on either);
* the **embedded test split** with its accompaniment at 10 .. -10 dB, and clean;
* **vocadito_1** (a check, never used to choose): clean, white noise 0 / -5 dB, the embedded
  accompaniment and the GM band at 10 / 5 / 0 / -5 dB (as ``bench_default_model.py``).

COnPOff F1 % (vocadito_1: mean of A1 / A2). Each system is the network alone (no route).

Run: .venv/bin/python benchmarks/bench_seeds.py --model NAME=PATH[+PATH...] ...
     [--valid RUN_DIR ...] [--valid-seed SEED ...] [--run runs/demo]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from avsvt.config import from_dict, load_config
from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.f0notes import F0NoteSettings
from avsvt.metrics import score_notes
from avsvt.noise.synthesis import NoiseMixer
from avsvt.notes import Note
from avsvt.pitchnet.model import PitchNetEnsemble
from avsvt.pitchnet.recipe import DefaultModelRun
from avsvt.pitchnet.track import PitchNetTracker, load_pitchnet
from avsvt.pitchnet.train import (
    PitchTrainConfig,
    config_pool,
    fit_decoding,
    sung_notes,
    validation_mixtures,
)
from gm_accomp import gm_accompaniment
from harness import corpus_inputs, noisy_conditions, vocadito_inputs

ROOT = Path(__file__).resolve().parents[1]


def recipe_config(tracker: PitchNetTracker) -> PitchTrainConfig:
    """The recipe config a model file records (its seed and data options)."""
    return from_dict(PitchTrainConfig, tracker.info["recipe"])


def load_system(spec: str, fit_dir: Path) -> tuple[str, PitchNetTracker]:
    """``NAME=PATH`` or ``NAME=PATH+PATH...`` (an average, fitted on the first's validation)."""
    name, paths = spec.split("=", 1)
    members = [load_pitchnet(p) for p in paths.split("+")]
    if len(members) == 1:
        return name, members[0]
    config = recipe_config(members[0])
    data = config.data  # the stems' kind: one folder holds stems of one kind (build_pool)
    kind = f"seed{config.seed}-timbre{data.timbre:d}-breath{data.breath_power:g}"
    kind += f"-tails{data.tails:d}"
    valid = config_pool(fit_dir / kind, config.valid_seeds(), config, progress=False)
    mixtures = validation_mixtures(valid, config)
    averaged = PitchNetTracker(PitchNetEnsemble.of([m.model for m in members]), F0NoteSettings())
    outputs = [averaged.probabilities(audio) for audio, _ in mixtures]
    fit = fit_decoding(outputs, [n for _, n in mixtures], averaged.model.config.spectrogram)
    print(f"{name}: fitted on seed {config.seed} validation, COnPOff {fit.scores['COnPOff']:.4f}")
    return name, dataclasses.replace(averaged, settings=fit.settings)


Scored = list[tuple[np.ndarray, list[list[Note]]]]
"""Inputs of one column: each audio with its reference note lists (one per annotator)."""


def generated_sets(run_dirs: list[Path], seeds: list[int], fit_dir: Path) -> dict[str, Scored]:
    """Validation mixtures and clean vocals of each run's, and each seed's, validation stems."""
    runs = []
    for run in run_dirs:
        config = recipe_config(load_pitchnet(run / "model" / "model.safetensors"))
        runs.append((run.name, run / "stems", config))
    shipped = load_config(DefaultModelRun, ROOT / "configs" / "default-model.yaml")
    for seed in seeds:
        config = dataclasses.replace(shipped.train, seed=seed, workers=2)
        runs.append((f"seed {seed} valid", fit_dir / f"valid-seed{seed}", config))
    sets = {}
    for name, folder, config in runs:
        valid = config_pool(folder, config.valid_seeds(), config, progress=False)
        sets[f"{name} mixes"] = [(a, [n]) for a, n in validation_mixtures(valid, config)]
        sets[f"{name} clean"] = [(s.vocals, [sung_notes(s)]) for s in valid]
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--valid", action="append", type=Path, default=[])
    parser.add_argument("--valid-seed", action="append", type=int, default=[])
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--fit-dir", type=Path, default=ROOT / "runs" / "bench-seeds")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    torch.set_num_threads(2)
    systems = dict(load_system(s, args.fit_dir) for s in args.model)
    sets = generated_sets(args.valid, args.valid_seed, args.fit_dir)
    test = [s for s in load_songs(args.run / "corpus") if s.split == "test"]
    mixer = NoiseMixer(types=("accomp",))
    for snr in (None, 10, 5, 0, -5, -10):
        inputs = corpus_inputs(
            test, noise_type=None if snr is None else "accomp", snr_db=snr, mixer=mixer
        )
        key = "emb clean" if snr is None else f"emb {snr}"
        sets[key] = [(x.audio, list(x.references.values())) for x in inputs.values()]
    vocadito = vocadito_inputs(args.shared)
    ((clip_name, clip),) = vocadito.items()
    music = {"accomp": read_audio(test[0].accomp_path)}
    band = gm_accompaniment(len(clip.audio) / 16_000, seed=0)
    if band is not None:
        music["GM"] = band
    for condition, inputs in noisy_conditions(vocadito, music=music).items():
        x = inputs[clip_name]
        sets[f"voc {condition}"] = [(x.audio, list(x.references.values()))]
    print("| system | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for name, system in systems.items():
        cells = []
        for items in sets.values():
            f1 = []
            for audio, refs in items:
                notes = system.transcribe(audio)
                f1.append(np.mean([score_notes(r, notes).COnPOff.f1 for r in refs]))
            cells.append(f"{100 * np.mean(f1):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
