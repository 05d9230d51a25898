"""Does the AV system get all the lips give? Its onsets against a late fusion with the video model.

On the embedded test split, for each accompaniment SNR of ``--run`` (and clean), the stage-2 AV
system's notes are decoded three ways, from the same pitch and offset posteriors:

* **AV**: its own onset posterior (what the report scores);
* **mean**: the mean of its onset posterior and the stage-1 video model's (resampled from 50 to
  49.8 frames per second);
* **max**: the larger of the two.

If the fusion used everything the video model sees, neither would gain. Nothing here trains; it
is a measurement for the fusion's design, not a change of ``avsvt transcribe``. Printed:
COnPOff / COn F1 %.

Run: .venv/bin/python benchmarks/bench_late_fusion.py [--run runs/demo]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.metrics import NoteScores, mean_scores, score_notes
from avsvt.models.apply import apply_model
from avsvt.models.checkpoint import load_model
from avsvt.noise.synthesis import NoiseMixer
from harness import run_corpus_root

ROOT = Path(__file__).resolve().parents[1]
WAYS = ("AV", "mean", "max")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = args.run
    songs = [s for s in load_songs(run_corpus_root(run)) if s.split == "test"]
    noise = json.loads((run / "config.json").read_text())["noise"]
    mixer = NoiseMixer(seed=noise["seed"], rule=noise["rule"], types=("accomp",))
    video_model = load_model(run / "stage1" / "video" / "best.safetensors")
    print("| condition | " + " | ".join(f"{w} COnPOff / COn" for w in WAYS) + " |")
    print("|---|" + "---|" * len(WAYS))
    for snr in [*noise["snrs_db"], None]:
        condition = "clean" if snr is None else f"accomp_{snr}dB"
        av_model = load_model(run / "stage2" / "AV" / condition / "best.safetensors")
        scores: dict[str, list[NoteScores]] = {way: [] for way in WAYS}
        for song in songs:
            audio = (
                read_audio(song.vocals_path) if snr is None else mixer.mixture(song, "accomp", snr)
            )
            crops = np.load(song.video_path)
            fused = apply_model(av_model, audio=audio, video=crops)
            video = apply_model(video_model, video=crops)
            posteriors = FramePosteriors.from_logits(fused.values)
            video_onset = FramePosteriors.from_logits(video.values).onset_prob
            times_s = np.arange(len(posteriors)) / fused.fps
            video_onset = np.interp(times_s, np.arange(len(video_onset)) / video.fps, video_onset)
            onsets = {
                "AV": posteriors.onset_prob,
                "mean": (posteriors.onset_prob + video_onset) / 2,
                "max": np.maximum(posteriors.onset_prob, video_onset),
            }
            for way, onset in onsets.items():
                combined = FramePosteriors(
                    onset, posteriors.offset_prob, posteriors.octave, posteriors.pitch_class
                )
                notes = decode_notes(combined, DecoderConfig(fps=fused.fps))
                scores[way].append(score_notes(list(song.notes), notes))
        cells = []
        for way in WAYS:
            mean = mean_scores(scores[way])
            cells.append(f"{100 * mean.COnPOff.f1:.1f} / {100 * mean.COn.f1:.1f}")
        print(f"| {condition} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
