"""Measurements behind the CPU audio encoder: accuracy (embedded test split, vocadito), speed.

Each candidate is a change to the ``cpu`` preset's audio encoder, trained as ``configs/demo.yaml``
trains its stage-1 audio system (same corpus, epochs, optimisers, accompaniment mixing), then scored
on the embedded corpus's clean test split and on vocadito_1 (both annotators), with the class pitch
(reference decoder) and with the note pitch taken from the voice's f0 (YIN). Speed: forward time per
second of audio, batch 1, 2 threads.

    .venv/bin/python benchmarks/bench_encoder_choice.py --root runs/demo/corpus [--epochs 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

CANDIDATES = {  # name -> changes to the cpu preset (model config keys)
    "logmel + periodicity 48 (96x2)": {"audio_encoder": {"periodicity_bins": 48}},
    "periodicity 96 only (96x2)": {"audio_encoder": {"n_mels": 0, "periodicity_bins": 96}},
    "logmel-conformer 96x2 (cpu preset)": {},
    "logmel-conformer 64x1": {"d_model": 64, "audio_encoder": {"dim": 64, "n_layers": 1}},
    "logmel-conformer 144x3": {
        "d_model": 144,
        "audio_encoder": {"dim": 144, "n_layers": 3, "ffn_dim": 288},
    },
}
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    from avsvt.config import load_config
    from avsvt.data.audio import read_audio
    from avsvt.data.n20em import load_songs
    from avsvt.decoding import DecoderConfig, refine_pitch_with_f0
    from avsvt.f0 import yin
    from avsvt.metrics import mean_scores, score_notes
    from avsvt.models import load_model
    from avsvt.recipes.config import RunConfig
    from avsvt.recipes.stage1 import BEST, split_songs, train_stage1
    from avsvt.transcribe.api import transcribe_array
    from harness import vocadito_inputs

    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True, help="the embedded corpus")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_encoders"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--only", nargs="*", help="candidates whose name starts with these")
    args = parser.parse_args()
    torch.set_num_threads(2)
    demo = load_config(RunConfig, Path(__file__).resolve().parents[1] / "configs" / "demo.yaml")
    songs = load_songs(args.root)
    test = split_songs(songs, "test")
    vocadito = vocadito_inputs(SHARED)
    rows = []
    for name, changes in CANDIDATES.items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        stage = dataclasses.replace(
            demo.audio,
            model=changes,
            train=dataclasses.replace(demo.audio.train, epochs=args.epochs),
        )
        run_dir = args.out / name.split(" (")[0].replace(" ", "_")
        start = time.perf_counter()
        train_stage1(songs, "audio", stage, run_dir, device="cpu", progress=False)
        train_s = time.perf_counter() - start
        model = load_model(run_dir / BEST)
        predictor = model.eval()
        decoder = DecoderConfig(fps=model.frame_rate)
        row: dict[str, object] = {"encoder": name, "train_s": round(train_s, 1)}
        row["parameters"] = sum(p.numel() for p in model.parameters())
        scores = []
        for song in test:
            notes = transcribe_array(read_audio(song.vocals_path), predictor, decoder=decoder)
            scores.append(score_notes(list(song.notes), notes))
        row["test COnPOff"] = round(mean_scores(scores).COnPOff.f1, 3)
        row["test COn"] = round(mean_scores(scores).COn.f1, 3)
        for item in vocadito.values():
            audio, references = item.audio, item.references
            start = time.perf_counter()
            notes = transcribe_array(audio, predictor, decoder=decoder)
            row["ms per s"] = round(1000 * (time.perf_counter() - start) / (len(audio) / 16000), 1)
            f0 = yin(audio)
            refined = refine_pitch_with_f0(notes, f0.midi(), f0.fps)
            for ref_name, ref in references.items():
                annotator = ref_name.split()[-1]
                plain, better = score_notes(ref, notes), score_notes(ref, refined)
                row[f"vocadito {annotator} COnPOff"] = round(plain.COnPOff.f1, 3)
                row[f"vocadito {annotator} COnPOff (f0 pitch)"] = round(better.COnPOff.f1, 3)
                row[f"vocadito {annotator} COn"] = round(plain.COn.f1, 3)
        print(json.dumps(row), flush=True)
        rows.append(row)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
