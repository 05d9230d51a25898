"""When the face is lost: AV against A on held-out generated songs, with and without lips.

Real videos lose the face: a singer turns away, a hand or the microphone covers the mouth, or the
face is never found. The lip front end then gives a flat grey crop for each such frame
(:data:`avsvt.lips.pipeline.MISSING_GREY`), and ``avsvt transcribe`` falls back to audio only
when no frame has a face. This scores, on the held-out corpus of ``bench_heldout.py`` (``--seed``
1, ``--songs`` 48, rendered faces; the same cache), each run's stage-2 systems of accompaniment
at ``--snr`` dB, in each noise of ``--noise`` (accomp and white by default) at that SNR:

* **A**: the audio-only system;
* **AV, face**: the AV system with the song's crops;
* **AV, face lost mid-song**: the same with the middle half of the crops grey;
* **AV, no face**: every crop grey (what the model gets where the front end finds no face);
* **AV, no video**: no crops at all (``video=None``; what ``avsvt transcribe`` gives an AV model
  when no frame has a face).

``--noise clean`` adds the vocals alone, scored with the run's clean systems.

Every system runs end to end (``avsvt.models.apply.apply_model`` on the waveform and the crops,
the reference decoder), as ``avsvt transcribe`` does. Printed: song-averaged F1 % (COn, COnPOff),
and for every run after the first the mean per-song difference with its standard error.

Run: .venv/bin/python benchmarks/bench_missing_face.py --run runs/demo [--run runs/OTHER]
     [--snr -10] [--noise accomp --noise white --noise clean]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from tqdm import tqdm

from avsvt.data.audio import read_audio
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.evaluation import Evaluation, evaluate_notes
from avsvt.lips.pipeline import MISSING_GREY
from avsvt.models import load_model
from avsvt.models.apply import apply_model
from avsvt.noise.synthesis import NoiseMixer
from bench_heldout import heldout_corpus, print_paired_table

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("COn", "COnPOff")
VIDEO_CASES = ("face", "face lost mid-song", "no face", "no video")


def crops_for(case: str, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
    """The crops an AV system gets in one case (module docstring)."""
    if case == "no video":
        return None
    changed = crops.copy()
    if case == "face lost mid-song":
        quarter = len(crops) // 4
        changed[quarter : len(crops) - quarter] = MISSING_GREY
    elif case == "no face":
        changed[:] = MISSING_GREY
    return changed


def notes_of(model: object, audio: npt.NDArray[np.float32], crops: object) -> list:
    """The decoded notes of one system on one song, end to end."""
    outputs = apply_model(model, audio=audio, video=crops)  # type: ignore[arg-type]
    return decode_notes(FramePosteriors.from_logits(outputs.values), DecoderConfig(outputs.fps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, action="append", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--songs", type=int, default=48)
    parser.add_argument("--snr", type=int, default=-10)
    parser.add_argument(
        "--noise",
        action="append",
        choices=("accomp", "white", "clean"),
        help="accomp and white at --snr with the accomp systems of that SNR; clean: the vocals "
        "alone with the clean systems (default: accomp and white)",
    )
    parser.add_argument("--noise-seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "bench-cache")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kinds = tuple(args.noise or ("accomp", "white"))
    noises = tuple(kind for kind in kinds if kind != "clean")
    _, songs = heldout_corpus(args.cache, args.seed, args.songs, "faces")
    mixer = NoiseMixer(seed=args.noise_seed, types=noises)
    rows: dict[str, list[Evaluation]] = {}
    for run in args.run:
        for kind in kinds:
            condition = "clean" if kind == "clean" else f"accomp_{args.snr}dB"
            a_model = load_model(run / "stage2" / "A" / condition / "best.safetensors")
            av_model = load_model(run / "stage2" / "AV" / condition / "best.safetensors")
            estimates: dict[str, dict[str, list]] = {}
            for song in tqdm(songs, desc=f"{run.name}, {kind}", leave=False):
                audio = (
                    read_audio(song.vocals_path)
                    if kind == "clean"
                    else mixer.mixture(song, kind, args.snr)
                )
                crops = np.load(song.video_path)
                estimates.setdefault("A", {})[song.song_id] = notes_of(a_model, audio, None)
                for case in VIDEO_CASES:
                    estimates.setdefault(f"AV, {case}", {})[song.song_id] = notes_of(
                        av_model, audio, crops_for(case, crops)
                    )
            for label, by_song in estimates.items():
                evaluation = evaluate_notes(
                    {s.song_id: (list(s.notes), by_song[s.song_id]) for s in songs}
                )
                where = "clean" if kind == "clean" else f"{kind} {args.snr} dB"
                rows.setdefault(f"{label}, {where}", []).append(evaluation)
    print(f"\n{len(songs)} held-out songs (seed {args.seed}, rendered faces); F1 %, song mean")
    print_paired_table([run.name for run in args.run], rows, lambda _: METRICS)


if __name__ == "__main__":
    main()
