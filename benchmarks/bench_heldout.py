"""Runs compared on a held-out generated corpus: more songs than the demo's test split, paired.

The demo's test split has 7 songs (about 100 notes), so one note moves its F1 by about a point
and two runs' scores differ by several points by chance. This renders a corpus no run trained on
(``--seed``, default 1; ``--songs``, default 48; every song, all splits, is scored), once per lip
style given with ``--lips`` (default ``faces``), caches it under ``--cache``, and scores each run's
systems on it:

* **video only**: the run's stage-1 video model on the mouth crops;
* **A** and **AV**: the run's stage-2 systems of ``--condition`` (default ``accomp`` at
  ``--snr`` -10 dB) on each noise of ``--noise`` (default accomp and white) at that SNR, from
  features that the run's own stage-1 encoders extract (cached per run, redone when its models
  change; noise seed ``--noise-seed``, default 1).

Printed per corpus: song-averaged F1 % (COn, COnP, COnPOff), and for every run after the first
the mean per-song difference to the first run with its standard error (paired over the songs).

Run: .venv/bin/python benchmarks/bench_heldout.py --run runs/demo --run runs/OTHER
     [--lips faces --lips faces-weak] [--seed 1] [--songs 48] [--condition accomp] [--snr -10]
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avsvt.constants import LIP_STYLES
from avsvt.data.n20em import Song, load_songs
from avsvt.evaluation import Evaluation, evaluate_notes
from avsvt.models import load_model
from avsvt.notes import Note
from avsvt.recipes.config import FeaturesConfig, NoiseConfig
from avsvt.recipes.features import extract_features
from avsvt.recipes.systems import stage1_trainable
from avsvt.synth.corpus import synth_corpus
from avsvt.train.datasets import VideoUtterances
from avsvt.train.evaluate import decode_songs
from harness import feature_system_notes

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("COn", "COnP", "COnPOff")


@dataclass(frozen=True)
class RunModels:
    """One run's stage-1 encoders and the stage-2 systems of the compared condition."""

    name: str
    audio: Path
    video: Path
    systems: dict[str, Path]

    @classmethod
    def of(cls, run: Path, condition: str) -> RunModels:
        """A finished run's best checkpoints."""
        systems = {
            system: run / "stage2" / system / condition / "best.safetensors"
            for system in ("A", "AV")
        }
        return cls(
            run.name,
            run / "stage1" / "audio" / "best.safetensors",
            run / "stage1" / "video" / "best.safetensors",
            {k: v for k, v in systems.items() if v.exists()},
        )

    def key(self) -> str:
        """A short hash of the stage-1 checkpoints: their features' cache folder name."""
        digest = hashlib.sha256()
        for path in (self.audio, self.video):
            digest.update(path.read_bytes())
        return f"{self.name}-{digest.hexdigest()[:10]}"


def evaluate(songs: list[Song], estimates: dict[str, list[Note]]) -> Evaluation:
    """Every song's reference notes against its estimate."""
    return evaluate_notes({s.song_id: (list(s.notes), estimates[s.song_id]) for s in songs})


def video_only(model_path: Path, songs: list[Song]) -> Evaluation:
    """The stage-1 video model's notes on the songs' crops."""
    model = load_model(model_path)
    estimates, _ = decode_songs(
        stage1_trainable(model), VideoUtterances(songs, grid=model.config.grid)
    )
    return evaluate(songs, estimates)


def stage2(model_path: Path, songs: list[Song], features: Path, stream: str) -> Evaluation:
    """A stage-2 system's notes from the cached features of one noisy condition."""
    return evaluate(songs, feature_system_notes(model_path, songs, features, stream))


def per_song(evaluation: Evaluation, metric: str) -> np.ndarray:
    """(n_songs,) F1 of ``metric``, in song-id order."""
    return np.asarray([getattr(s, metric).f1 for _, s in sorted(evaluation.songs.items())])


def heldout_corpus(cache: Path, seed: int, n_songs: int, lips: str) -> tuple[Path, list[Song]]:
    """The held-out corpus' cache folder and its songs, rendered there on first use."""
    root = cache / f"heldout-seed{seed}-{n_songs}-{lips}"
    synth_corpus(root / "corpus", n_songs=n_songs, seed=seed, lips=lips)
    return root, load_songs(root / "corpus")


def print_paired_table(
    run_names: Sequence[str],
    rows: dict[str, list[Evaluation]],
    metrics_of: Callable[[str], Sequence[str]],
) -> None:
    """One row per system and metric: the first run's song-mean F1 %, then each other run's
    with its mean per-song difference to the first and that difference's standard error."""
    print("| system | metric | " + " | ".join(run_names) + " |")
    print("|---|---|" + "---|" * len(run_names))
    for label, evaluations in rows.items():
        for metric in metrics_of(label):
            base = per_song(evaluations[0], metric)
            cells = [f"{100 * base.mean():.1f}"]
            for evaluation in evaluations[1:]:
                diff = per_song(evaluation, metric) - base
                se = diff.std(ddof=1) / np.sqrt(len(diff))
                cells.append(
                    f"{100 * per_song(evaluation, metric).mean():.1f} "
                    f"({100 * diff.mean():+.1f} ± {100 * se:.1f})"
                )
            print(f"| {label} | {metric} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, action="append", required=True)
    parser.add_argument("--lips", action="append", choices=LIP_STYLES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--songs", type=int, default=48)
    parser.add_argument("--condition", default="accomp")
    parser.add_argument("--snr", type=int, default=-10)
    parser.add_argument("--noise", action="append", choices=("accomp", "white"))
    parser.add_argument("--noise-seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "bench-cache")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    noises = tuple(args.noise or ("accomp", "white"))
    noise = NoiseConfig(types=noises, snrs_db=(args.snr,), seed=args.noise_seed)
    runs = [RunModels.of(run, f"{args.condition}_{args.snr}dB") for run in args.run]
    for run, path in zip(runs, args.run, strict=True):
        if set(run.systems) != {"A", "AV"}:
            parser.error(f"{path}: no A and AV systems of {args.condition} at {args.snr} dB")
    for lips in args.lips or ["faces"]:
        root, songs = heldout_corpus(args.cache, args.seed, args.songs, lips)
        rows: dict[str, list[Evaluation]] = {}
        for run in runs:
            features = root / "features" / f"{run.key()}-{args.snr}dB-noise{args.noise_seed}"
            extract_features(
                songs,
                audio_model=run.audio,
                video_model=run.video,
                features_dir=features,
                noise=noise,
                config=FeaturesConfig(),
            )
            rows.setdefault("video only", []).append(video_only(run.video, songs))
            for system, path in run.systems.items():
                for kind in noises:
                    stream = f"{kind}_{args.snr}dB"
                    rows.setdefault(f"{system}, {kind} {args.snr} dB", []).append(
                        stage2(path, songs, features, stream)
                    )
        print(f"\n{len(songs)} held-out songs (seed {args.seed}, lips {lips}); F1 %, song mean")
        print_paired_table(
            [run.name for run in runs],
            rows,
            lambda label: ("COn",) if label == "video only" else METRICS,
        )


if __name__ == "__main__":
    main()
