"""Stage-2 systems in noises they never heard: a run's systems scored on other noises' features.

A run's stage 2 trains each condition's A and AV systems on that condition's noise (and, with
``stage2.train_types``, on a pool of noises) and tests them on it. This scores the systems of
one condition of ``--run`` (``accomp`` at ``--snr`` by default) on the embedded test split mixed
with every noise type at the same SNR, from the audio features of ``--features``: a run on the
same corpus, stage-1 models and noise seed that extracted them, for example

    avsvt run configs/demo.yaml --set out_dir=runs/noise4 --set f0notes.enabled=false \\
        --set 'noise.types=[accomp,white,babble,natural]' --set 'noise.snrs_db=[-10]'

(babble and natural come from the embedded synthetic MUSAN library). Nothing here trains.
Printed: COn and COnPOff F1 % per system and noise.

Run: .venv/bin/python benchmarks/bench_unheard_noise.py --run runs/demo --features runs/noise4
     [--condition accomp] [--snr -10] [--system A --system AV]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from avsvt.data.n20em import load_songs
from avsvt.evaluation import evaluate_notes
from avsvt.recipes.stage1 import split_songs
from harness import feature_system_notes, run_corpus_root

ROOT = Path(__file__).resolve().parents[1]
NOISES = ("accomp", "white", "babble", "natural")


def score(model_path: Path, features: Path, condition: str) -> tuple[float, float]:
    """COn and COnPOff F1 (%) of one stage-2 model on the test split's ``condition`` features."""
    songs = split_songs(load_songs(run_corpus_root(features)), "test")
    estimates = feature_system_notes(model_path, songs, features / "features", condition)
    evaluation = evaluate_notes({s.song_id: (list(s.notes), estimates[s.song_id]) for s in songs})
    return 100 * evaluation.mean.COn.f1, 100 * evaluation.mean.COnPOff.f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--condition", default="accomp", choices=NOISES)
    parser.add_argument("--snr", type=int, default=-10)
    parser.add_argument("--system", action="append", choices=("A", "AV"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trained = f"{args.condition}_{args.snr}dB"
    print(f"{args.run}: the {trained} systems, COn / COnPOff F1 % on the test split, {args.snr} dB")
    print("| system | " + " | ".join(NOISES) + " |")
    print("|---|" + "---|" * len(NOISES))
    for system in args.system or ["A", "AV"]:
        path = args.run / "stage2" / system / trained / "best.safetensors"
        cells = []
        for noise in NOISES:
            con, conpoff = score(path, args.features, f"{noise}_{args.snr}dB")
            cells.append(f"{con:.1f} / {conpoff:.1f}")
        print(f"| {system} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
