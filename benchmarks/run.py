"""One command regenerates the harness tables of BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py [--run runs/demo] [--quick]

It needs a finished demo run (`make demo`): its corpus gives the validation split on which the
peers' thresholds are tuned and the test split (clean and with accompaniment at five SNRs, with
lip video), its stage-2 A and AV models are our trained systems, and its step timings give the
training and feature throughput. Sections written (between <!-- harness:NAME --> markers):

* machine: CPU, memory, versions, date and command;
* tuned: the peers' settings chosen on the validation split;
* embedded: the embedded test split, every system, clean and accompaniment at -10..10 dB, with the
  reference's published A/AV numbers beside (a different dataset);
* vocadito: ../shared/data/vocadito (real singing) against both annotators;
* vocadito-noisy: vocadito mixed with embedded accompaniment, with white noise and (where
  fluidsynth and the FluidR3_GM soundfont are installed) with a General MIDI band rendered from our
  own MIDI (benchmarks/gm_accomp.py) at five SNRs (audio-only systems);
* speed: transcription time and peak memory for 30 s, 10 min and 60 min inputs, against basic-pitch;
* throughput: noise mixing, corpus synthesis, features and training steps per second.

--quick uses short inputs and a small tuning grid (a smoke run: the test suite runs it on a tiny
corpus).
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from avsvt.constants import SAMPLE_RATE, SNRS_DB
from avsvt.data.audio import read_audio
from avsvt.data.n20em import Song, load_songs
from avsvt.metrics import METRICS
from avsvt.noise.synthesis import NoiseMixer
from avsvt.report import CLEAN, Condition
from gm_accomp import DEFAULT_CACHE, choose_arrangement, gm_accompaniment, renderer_missing
from harness import (
    BASIC_PITCH,
    BASIC_PITCH_GRID,
    BUILT_IN,
    PYIN,
    PYIN_GRID,
    AccuracyRow,
    Transcribe,
    accuracy_rows,
    accuracy_table,
    all_systems,
    condition_table,
    corpus_inputs,
    demo_systems,
    machine_description,
    measure_in_subprocess,
    replace_section,
    speed_table,
    tune_peers,
    vocadito_inputs,
    with_noise,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SECTIONS = ["embedded", "vocadito", "speed", "throughput"]  # "tuned" comes with "embedded"

# reference-system.md 8.3: N20EMv2 test split, accompaniment, stage-2 A and AV (matched SNR),
# F1 % read off the published plot; columns -10, -5, 0, 5, 10 dB, clean.
PUBLISHED = {
    "COnPOff": {"A": (14.4, 27.0, 46.6, 62, 71, 75.6), "AV": (16.4, 32.4, 50.4, 63.3, 70.9, 75.6)},
    "COnP": {"A": (18.5, 37.8, 59.1, 71.5, 78, 80.7), "AV": (20.8, 41.0, 61.4, 72.5, 77.9, 80.7)},
    "COn": {"A": (33.5, 61.4, 77.7, 87, 91.5, 93.5), "AV": (79.4, 80.1, 82.7, 88.3, 92.0, 93.8)},
    "COff": {"A": (33.4, 60.3, 77.0, 86, 91, 93.3), "AV": (77.3, 78.1, 81.6, 87.4, 91.2, 93.3)},
}


def condition_name(snr_db: int | None) -> str:
    """The demo run's folder name of a stage-2 condition (accompaniment at ``snr_db``, or clean)."""
    return (Condition() if snr_db is None else Condition("accomp", snr_db)).name


def systems_for(
    condition: str, run_dir: Path, base: Mapping[str, Transcribe], *, video: bool = True
) -> dict[str, Transcribe]:
    """The built-in and peer systems, then the demo models trained in ``condition``."""
    demo = demo_systems(run_dir, condition)
    if not video:
        demo = {name: fn for name, fn in demo.items() if " AV " not in name}
    return {**base, **demo}


def metric_tables(
    by_condition: Mapping[str, Sequence[AccuracyRow]],
    published: Mapping[str, Mapping[str, Sequence[float | None]]] | None = None,
) -> str:
    """One condition table per metric."""
    return "\n\n".join(
        condition_table(by_condition, m, published=(published or {}).get(m)) for m in METRICS
    )


def throughput_table(run_dir: Path, songs_s: float, mixing: tuple[float, float]) -> str:
    """Noise mixing measured here; the rest from the demo run's step timings and logs."""
    seconds = {
        p.stem: float(json.loads(p.read_text())["seconds"])
        for p in sorted((run_dir / "steps").glob("*.done"))
    }

    def last_step(log: Path) -> int:
        lines = log.read_text().splitlines() if log.exists() else []
        return int(float(lines[-1].split(",")[1])) if len(lines) > 1 else 0

    rows = [
        "| step | work | seconds | throughput |",
        "|---|---|---|---|",
        f"| noise mixing in memory (accompaniment and white, 5 SNRs, 1 process) | "
        f"{mixing[0] / 60:.1f} song-min | {mixing[1]:.2f} | "
        f"{mixing[0] / 60 / mixing[1]:.1f} song-min/s |",
    ]
    if "corpus" in seconds:
        rows.append(
            f"| corpus synthesis (audio + lip video) | {songs_s / 60:.1f} song-min | "
            f"{seconds['corpus']:.1f} | {songs_s / seconds['corpus']:.1f} s of song/s |"
        )
    model = run_dir / "f0notes" / "model.json"
    if "f0notes" in seconds and model.exists():
        fit = json.loads(model.read_text())
        s = seconds["f0notes"]
        rows.append(
            f"| f0 note tracker fit (the default model; {fit['fitted_on']}) | "
            f"{fit['candidates']} candidates | {s:.1f} | {fit['candidates'] / s:.0f} candidates/s |"
        )
    for modality in ("audio", "video"):
        steps = last_step(run_dir / "stage1" / modality / "log.csv")
        if f"stage1-{modality}" in seconds and steps:
            s = seconds[f"stage1-{modality}"]
            rows.append(
                f"| stage-1 {modality} training (with per-epoch validation) | {steps} steps | "
                f"{s:.1f} | {steps / s:.1f} steps/s |"
            )
    if "features" in seconds:
        config = json.loads((run_dir / "config.json").read_text())
        # the tested noises and stage 2's extra training noises (stage2.train_types)
        types = {*config["noise"]["types"], *config.get("stage2", {}).get("train_types", [])}
        streams = 1 + len(types) * len(config["noise"]["snrs_db"]) + 1
        s = seconds["features"]
        rows.append(
            f"| feature extraction ({streams} streams per song: audio conditions + video) | "
            f"{streams * songs_s / 60:.1f} stream-min | {s:.1f} | "
            f"{streams * songs_s / s:.0f} s of stream/s |"
        )
    jobs = sorted((run_dir / "stage2").glob("*/*/log.csv"))
    if "stage2" in seconds and jobs:
        steps = sum(last_step(j) for j in jobs)
        s = seconds["stage2"]
        rows.append(
            f"| stage-2 training, {len(jobs)} jobs on the grid's workers | {steps} steps | "
            f"{s:.1f} | {steps / s:.1f} steps/s |"
        )
    return "\n".join(rows)


def noise_mixing_speed(songs: Sequence[Song], snrs_db: Sequence[int]) -> tuple[float, float]:
    """(song-seconds mixed, seconds) for accompaniment and white noise at every SNR."""
    mixer = NoiseMixer(types=("accomp", "white"))
    work_s, start = 0.0, time.perf_counter()
    for song in songs:
        for noise_type in ("accomp", "white"):
            for snr in snrs_db:
                work_s += len(mixer.mixture(song, noise_type, snr)) / SAMPLE_RATE
    return work_s, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo", help="a demo run")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--quick", action="store_true", help="short inputs, small grids")
    parser.add_argument("--snrs", type=int, nargs="+", default=list(SNRS_DB), help="SNRs (dB)")
    parser.add_argument("--durations", type=float, nargs="+", help="speed input lengths (s)")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, default=SECTIONS, help="regenerate these sections"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="rendered GM band accompaniments"
    )
    args = parser.parse_args()
    if not (args.run / "corpus" / "annotations.json").exists():
        raise SystemExit(f"{args.run}: no finished demo run here (run `make demo` first)")
    today = datetime.date.today().isoformat()
    shown = args.run.resolve()
    run_name = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    command = f"`.venv/bin/python benchmarks/run.py --run {run_name}" + (
        " --quick`" if args.quick else "`"
    )
    if args.only != SECTIONS:
        command += f" (sections: {', '.join(args.only)})"
    doc = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    machine = machine_description()
    doc = replace_section(
        doc, "machine", f"Latest harness run {today} with {command} on: {machine}"
    )

    def put(doc: str, name: str, body: str) -> str:
        """A section with the date, command and machine that produced it."""
        stamp = f"*Harness run {today}, {command}; {machine}.*"
        return replace_section(doc, name, f"{body}\n\n{stamp}")

    songs = load_songs(args.run / "corpus")
    valid = [s for s in songs if s.split == "valid"]
    test = [s for s in songs if s.split == "test"]
    snrs = list(args.snrs)

    base: dict[str, Transcribe] = {}
    if "embedded" in args.only or "vocadito" in args.only:
        print("tuning the peers on the validation split")
        tuned = tune_peers(
            list(corpus_inputs(valid).values()),
            pyin_grid=PYIN_GRID[:2] if args.quick else PYIN_GRID,
            basic_pitch_grid=BASIC_PITCH_GRID[:2] if args.quick else BASIC_PITCH_GRID,
        )
        doc = put(
            doc,
            "tuned",
            f"Peers tuned on the embedded validation split ({len(valid)} songs, clean vocals;"
            f" highest COnPOff over the grids in `benchmarks/harness.py`): {tuned.describe()}.",
        )
        base = all_systems(tuned)

    if "embedded" in args.only:
        print("embedded test split")
        mixer = NoiseMixer(types=("accomp",))
        embedded: dict[str, list[AccuracyRow]] = {}
        for snr in [*snrs, None]:
            label = CLEAN if snr is None else f"{snr} dB"
            inputs = corpus_inputs(
                test, noise_type=None if snr is None else "accomp", snr_db=snr, mixer=mixer
            )
            embedded[label] = accuracy_rows(
                systems_for(condition_name(snr), args.run, base), inputs
            )
        published = {
            m: {
                f"reference {s} (N20EMv2 test, stage 2)": [
                    *(v[SNRS_DB.index(snr)] if snr in SNRS_DB else None for snr in snrs),
                    v[-1],
                ]
                for s, v in by_system.items()
            }
            for m, by_system in PUBLISHED.items()
        }
        doc = put(
            doc,
            "embedded",
            f"### Embedded test split ({len(test)} songs), clean and with accompaniment (F1 %)\n\n"
            "Every system on the same mixtures; the demo A and AV models are the stage-2 models"
            " trained at that SNR (the demo's train on its accompaniment and on white noise;"
            " AV also sees the lip video). The reference's published numbers"
            " (reference-system.md 8.3) are on the real N20EMv2 test split, not on these songs.\n\n"
            + metric_tables(embedded, published),
        )

    if "vocadito" in args.only:
        vocadito = vocadito_inputs(args.shared)
        if vocadito:
            print("vocadito")
            rows = accuracy_rows(
                systems_for(CLEAN, args.run, base, video=False), vocadito, repeats=3, settle_s=2.0
            )
            doc = put(
                doc,
                "vocadito",
                "### Real singing: vocadito_1 (F1 %, mir_eval defaults)\n\nSpeed: the best of"
                " three runs on the clip, in this process, after a warm-up.\n\n"
                + accuracy_table(rows),
            )
            accomp = read_audio(test[0].accomp_path)
            white = np.random.default_rng(0).standard_normal(SAMPLE_RATE * 10).astype(np.float32)
            noises = [("accomp", accomp), ("white", white)]
            clip_s = len(vocadito["vocadito_1"].audio) / SAMPLE_RATE
            band = gm_accompaniment(clip_s, seed=0, cache_dir=args.cache)
            if band is None:
                print(f"vocadito-noisy: no GM band column: {renderer_missing()}")
            else:
                noises.append(("GM band", band))
            noisy: dict[str, list[AccuracyRow]] = {}
            for noise_name, noise in noises:
                for snr in snrs:
                    systems = systems_for(condition_name(snr), args.run, base, video=False)
                    noisy[f"{noise_name} {snr} dB"] = accuracy_rows(
                        systems, with_noise(vocadito, noise, snr)
                    )
            gm_text = (
                ""
                if band is None
                else " The GM band is a General MIDI arrangement of our own (seed 0:"
                f" {choose_arrangement(0).describe()}), rendered with fluidsynth and the FluidR3_GM"
                " soundfont by `benchmarks/gm_accomp.py` to the clip's length; no model ever"
                " trains on it."
            )
            doc = put(
                doc,
                "vocadito-noisy",
                f"### vocadito_1 with noise (F1 %, audio-only systems)\n\nThe recording mixed (the"
                f" reference's mixing rule) with the accompaniment of embedded test song"
                f" {test[0].song_id} (tiled), with white noise (seed 0)"
                + ("" if band is None else " and with a GM band")
                + "; demo A is the stage-2 model trained at the same SNR of accompaniment (white"
                + (" noise is" if band is None else " noise and the GM band are")
                + f" unseen by it).{gm_text}\n\n"
                + metric_tables(noisy),
            )

    if "speed" in args.only:
        print("speed")
        durations = args.durations or ([10.0, 30.0] if args.quick else [30.0, 600.0, 3600.0])
        speed = [
            measure_in_subprocess(name, d)
            for d in durations
            for name in all_systems()
            if not (name == PYIN and d > 600)
        ]  # pyin runs ~2x real time: capped
        demo_a = args.run / "stage2" / "A" / CLEAN / "best.safetensors"
        if demo_a.exists():
            speed += [measure_in_subprocess("demo A (stage 2)", d, model=demo_a) for d in durations]
        doc = put(
            doc,
            "speed",
            "### Transcription speed and peak memory\n\n"
            + speed_table(speed, baseline=BASIC_PITCH),
        )

    if "throughput" in args.only:
        print("throughput")
        songs_s = sum(len(read_audio(s.vocals_path)) for s in songs) / SAMPLE_RATE
        doc = put(
            doc,
            "throughput",
            f"### Data and training throughput\n\nFrom the demo run in `{run_name}` (its"
            " `steps/*.done` timings and training logs; the run used the same machine), except"
            f" noise mixing, measured here on the {len(test)} test songs. No peer does these"
            " steps.\n\n" + throughput_table(args.run, songs_s, noise_mixing_speed(test, snrs)),
        )
    args.out.write_text(doc)
    print(f"wrote {args.out} ({BUILT_IN}, {PYIN}, {BASIC_PITCH} and the demo models)")


if __name__ == "__main__":
    main()
