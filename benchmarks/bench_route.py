"""Where the default hands a recording to the f0 tracker: the measure and the switch (generated).

The default (:mod:`avsvt.pitchnet.route`) measures the background's level under the voice and
gives a voice alone to the f0 tracker. Two tables, both on the default-model recipe's first
validation songs (seeds the network never trained on), sung by clear voices (breath noise 0: YIN
finds real singers far more periodic than our breathy ones, BENCHMARKS.md "how breathy the
generated singers are"):

1. **The measure:** each song clean (a pink floor 60 dB under the voice, as any recording has),
   with white noise and with its band (:mod:`avsvt.synth.band`) at 30 / 20 / 10 dB; the mean
   and the extremes of what :func:`avsvt.pitchnet.route.background_db` reads on the network's
   voicing, with and without the 100-ms guard around the voice.
2. **The switch:** COnPOff of the f0 tracker and of the network alone against the sung notes,
   clean and with white noise or the band at 30 / 25 / 20 / 15 dB: where the f0 tracker stops
   holding its clean score.

No real recording is used. Run: .venv/bin/python benchmarks/bench_route.py [--songs N]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from avsvt.metrics import score_notes
from avsvt.noise.mixing import rms
from avsvt.pitchnet.data import coloured_noise, render_stems
from avsvt.pitchnet.route import background_db
from avsvt.pitchnet.train import PitchTrainConfig
from avsvt.transcribe.api import transcribe_array
from avsvt.transcribe.predictor import DEFAULT_MODEL, F0NoteTracker, load_predictor
from bench_voicing_diagnosis import generated_song


def mixed(
    vocals: np.ndarray, band: np.ndarray, kind: str, snr_db: float | None, seed: int
) -> np.ndarray:
    """``vocals`` clean (pink floor 60 dB under), or with white noise or ``band`` at ``snr_db``."""
    rng = np.random.default_rng(seed)
    voice_rms = rms(vocals)
    x = vocals + coloured_noise(len(vocals), "pink", rng) * voice_rms * 1e-3
    if kind == "white":
        x = vocals + coloured_noise(len(vocals), "white", rng) * voice_rms * 10 ** (-snr_db / 20)
    elif kind == "band":
        x = x + band * voice_rms / max(rms(band), 1e-9) * 10 ** (-snr_db / 20)
    return x.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--songs", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    network = load_predictor(DEFAULT_MODEL)
    f0 = F0NoteTracker()
    songs = []
    for seed in PitchTrainConfig().valid_seeds()[: args.songs]:
        vocals, _, reference = generated_song(seed, 0.0)
        band = render_stems(seed, 16.0, breath_power=2.0).band.astype(np.float64)
        band = np.pad(band, (0, max(0, len(vocals) - len(band))))[: len(vocals)]
        songs.append((vocals, band, reference))

    print("| condition | read (guard 100 ms): mean [min, max] | without the guard |")
    print("|---|---|---|")
    measure = [("clean", None)] + [(k, s) for k in ("white", "band") for s in (30.0, 20.0, 10.0)]
    for kind, snr_db in measure:
        reads: dict[int, list[float]] = {10: [], 0: []}
        for i, (vocals, band, _) in enumerate(songs):
            x = mixed(vocals, band, kind, snr_db, i)
            voiced = network.track(x).f0_hz > 0
            for guard, values in reads.items():
                values.append(background_db(x, voiced, guard_frames=guard))
        label = "clean (pink floor at 60 dB)" if snr_db is None else f"{kind} {snr_db:g} dB"
        cells = [
            f"{np.nanmean(v):.1f} [{np.nanmin(v):.1f}, {np.nanmax(v):.1f}]" for v in reads.values()
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")

    print("\n| condition | f0 tracker | network alone |\n|---|---|---|")
    switch = [("clean", None)] + [(k, s) for k in ("white", "band") for s in (30, 25, 20, 15)]
    for kind, snr_db in switch:
        f1: dict[str, list[float]] = {"f0": [], "network": []}
        for i, (vocals, band, reference) in enumerate(songs):
            x = mixed(vocals, band, kind, snr_db, i)
            for name, system in (("f0", f0), ("network", network)):
                f1[name].append(score_notes(reference, transcribe_array(x, system)).COnPOff.f1)
        label = "clean" if snr_db is None else f"{kind} {snr_db} dB"
        print(f"| {label} | {100 * np.mean(f1['f0']):.1f} | {100 * np.mean(f1['network']):.1f} |")


if __name__ == "__main__":
    main()
