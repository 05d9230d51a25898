"""What each lever of the default model's training data buys: short trainings side by side.

Each variant is the default-model recipe (``configs/default-model.yaml``'s settings) with one
``train.data`` lever changed (:class:`avsvt.pitchnet.data.DataConfig`), or one input feature
(``periodicity``: :class:`avsvt.pitchnet.features.SpectrogramConfig`), or the weight average
(``ema``: ``PitchTrainConfig.ema_decay``), and a shorter training
(``--steps``), from the same seed, so the variants differ only in that lever. Every model is
scored (COnPOff F1 %) on:

* **generated**: the recipe's validation songs (the neutral-timbre, uniformly breathy stems of
  ``stems/``, as every earlier table used, the same for every variant) in a fixed sweep of
  conditions, each song in each: clean; the many-styles band at
  10 / 5 / 0 / -5 dB; the corpus-style accompaniment at 10 / 0 dB; white noise at 0 / -5 dB;
  every other song through the recording chain;
* **vocadito_1** (mean of A1 / A2), a check never used to choose: clean, white noise 0 / -5 dB,
  and the GM band of ``benchmarks/gm_accomp.py`` at 5 / 0 dB when fluidsynth is installed.

Run: .venv/bin/python benchmarks/bench_pitch_ablation.py [--steps 500] [--variants base,timbre]
     [--out runs/ablation]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avsvt.augment import recording_chain
from avsvt.metrics import score_notes
from avsvt.noise.mixing import rms
from avsvt.pitchnet.data import TARGET_RMS, Stems, coloured_noise
from avsvt.pitchnet.track import PitchNetTracker, load_pitchnet
from avsvt.pitchnet.train import PitchTrainConfig, build_pool, sung_notes, train_default_model
from avsvt.transcribe.api import transcribe_array
from gm_accomp import gm_accompaniment, renderer_missing
from harness import noisy_conditions, vocadito_inputs

ROOT = Path(__file__).resolve().parents[1]


def _data(**changes: object) -> Callable[[PitchTrainConfig], PitchTrainConfig]:
    """A variant that changes the training data's levers (:class:`DataConfig`)."""
    return lambda c: dataclasses.replace(c, data=dataclasses.replace(c.data, **changes))


def _spectrogram(**changes: object) -> Callable[[PitchTrainConfig], PitchTrainConfig]:
    """A variant that changes the network's input features (:class:`SpectrogramConfig`)."""

    def change(c: PitchTrainConfig) -> PitchTrainConfig:
        spectrogram = dataclasses.replace(c.model.spectrogram, **changes)
        return dataclasses.replace(c, model=dataclasses.replace(c.model, spectrogram=spectrogram))

    return change


VARIANTS: dict[str, Callable[[PitchTrainConfig], PitchTrainConfig]] = {
    "base": lambda c: c,
    "timbre": _data(timbre=True),
    "uniform breath": _data(breath_power=1.0),
    "no chain": _data(chain_p=0.0),
    "no band": _data(band_p=0.0),
    "no noise": _data(noise_p=0.0),
    "periodicity": _spectrogram(periodicity=True),
    "ema": lambda c: dataclasses.replace(c, ema_decay=0.995),
    "late ema": lambda c: dataclasses.replace(c, ema_decay=0.99, ema_start=0.6),
}
SWEEP: tuple[tuple[str, float | None], ...] = (
    ("clean", None),
    ("band", 10),
    ("band", 5),
    ("band", 0),
    ("band", -5),
    ("accomp", 10),
    ("accomp", 0),
    ("white", 0),
    ("white", -5),
)


def sweep_mixture(stems: Stems, kind: str, snr_db: float | None, seed: list[int]) -> np.ndarray:
    """One validation song in one condition of :data:`SWEEP` (chain on odd ``seed[-2]``)."""
    rng = np.random.default_rng(seed)
    voice = stems.vocals.astype(np.float64)
    mix = voice.copy()
    gain = rms(voice) * 10 ** (-(snr_db or 0.0) / 20)
    if kind in ("band", "accomp"):
        accomp = getattr(stems, kind).astype(np.float64)
        mix += accomp * gain / max(rms(accomp), 1e-6)
    elif kind == "white":
        mix += coloured_noise(len(voice), "white", rng) * gain
    if seed[-2] % 2:
        mix = np.asarray(recording_chain(mix, rng), dtype=np.float64)
    mix *= TARGET_RMS / max(rms(mix), 1e-9)
    return np.clip(mix, -1.0, 1.0).astype(np.float32)


def generated_scores(tracker: PitchNetTracker, valid: list[Stems]) -> dict[str, float]:
    """Mean COnPOff % per sweep condition over the validation songs."""
    out = {}
    for c, (kind, snr_db) in enumerate(SWEEP):
        f1 = []
        for i, stems in enumerate(valid):
            notes = tracker.transcribe(sweep_mixture(stems, kind, snr_db, [7, i, c]))
            f1.append(score_notes(sung_notes(stems), notes).COnPOff.f1)
        out[kind if snr_db is None else f"{kind} {snr_db:g}"] = 100 * float(np.mean(f1))
    return out


def vocadito_scores(tracker: PitchNetTracker, shared: Path) -> dict[str, float]:
    """COnPOff % (mean of the annotators) on vocadito_1's conditions (module docstring)."""
    vocadito = vocadito_inputs(shared)
    ((name, clip),) = vocadito.items()
    band = gm_accompaniment(len(clip.audio) / 16_000, seed=0)
    music = {} if band is None else {"GM band": band}
    conditions = noisy_conditions(vocadito, music=music, music_snrs_db=(5, 0))
    out = {}
    for label, inputs in conditions.items():
        notes = transcribe_array(inputs[name].audio, tracker)
        refs = inputs[name].references.values()
        out[f"voc {label}"] = 100 * float(np.mean([score_notes(r, notes).COnPOff.f1 for r in refs]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if (missing := renderer_missing()) is not None:
        print(f"no GM band: {missing}")
    base = PitchTrainConfig()
    rows = {}
    for name in args.variants.split(","):
        config = dataclasses.replace(
            VARIANTS[name](base), steps=args.steps, threads=args.threads, workers=args.threads
        )
        stems = args.out / (
            "stems"
            + ("-timbre" if config.data.timbre else "")
            + (f"-breath{config.data.breath_power:g}" if config.data.breath_power != 1 else "")
        )
        run = args.out / name.replace(" ", "-")
        run.mkdir(parents=True, exist_ok=True)
        result = run / "scores.json"
        if not result.exists():
            path = run / "model.safetensors"
            if not path.exists():
                path = train_default_model(run, config, stems_dir=stems)
            tracker = load_pitchnet(path)
            neutral = build_pool(
                args.out / "stems",
                base.valid_seeds(),
                base.song_s,
                workers=1,
                progress=False,
                breath_power=1.0,
            )
            scores = generated_scores(tracker, neutral) | vocadito_scores(tracker, args.shared)
            result.write_text(json.dumps(scores, indent=2))
        rows[name] = json.loads(result.read_text())
    columns = list(next(iter(rows.values())))
    print(f"COnPOff F1 %, {args.steps} steps each\n")
    print("| variant | " + " | ".join(columns) + " | generated mean |")
    print("|---|" + "---|" * (len(columns) + 1))
    for name, scores in rows.items():
        mean = np.mean([v for k, v in scores.items() if not k.startswith("voc")])
        print(f"| {name} | " + " | ".join(f"{scores[c]:.1f}" for c in columns) + f" | {mean:.1f} |")


if __name__ == "__main__":
    main()
