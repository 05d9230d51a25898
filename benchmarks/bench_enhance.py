"""DeepFilterNet3 enhancement (avsvt.enhance): speed, and the built-in tracker with and without it.

Speed: 3 minutes of synthetic singing at 16 kHz (``harness.long_singing``), in times real time:

* start-up included: a fresh Python process times ``import avsvt.enhance``, ``Enhancer()`` and
  one call (the audio is made before the clock starts);
* start-up excluded: a second call on a warm ``Enhancer`` in this process (each call still
  creates its own model state, about 0.4 s, which is part of every call);
* one thread: the single pass (``Enhancer(threads=1)``) beside the default two segments;
* and the parts of a call: model-state creation, 16 <-> 48 kHz resampling.

Accuracy, for the record only (vocadito_1 is a check, never a tuning set): COnPOff and COnP F1
of the built-in f0 note tracker on vocadito_1 against both annotators, with and without
enhancement, clean and with white noise (seed 0, tiled) at 0 and -5 dB by the reference mixing
rule, as ``benchmarks/run.py`` mixes its vocadito-noisy conditions.

Run: .venv/bin/python benchmarks/bench_enhance.py [--minutes 3] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from avsvt.constants import SAMPLE_RATE
from avsvt.metrics import METRICS
from avsvt.notes import Note
from avsvt.transcribe.api import transcribe_array
from avsvt.transcribe.predictor import load_predictor
from harness import (
    AccuracyRow,
    Audio,
    accuracy_rows,
    condition_table,
    listening,
    long_singing,
    machine_description,
    vocadito_inputs,
    with_noise,
)

ROOT = Path(__file__).resolve().parents[1]
SNRS_DB = (0, -5)


def startup_included(duration_s: float) -> dict[str, float]:
    """Run this script in a fresh process to time import + Enhancer() + one call."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--startup-run", str(duration_s)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _startup_main(duration_s: float) -> None:
    audio = long_singing(duration_s)
    start = time.perf_counter()
    from avsvt.enhance import Enhancer

    imported = time.perf_counter()
    enhancer = Enhancer()
    built = time.perf_counter()
    enhancer(audio, SAMPLE_RATE)
    done = time.perf_counter()
    print(
        json.dumps(
            {"import_s": imported - start, "construct_s": built - imported, "total_s": done - start}
        )
    )


def speed(duration_s: float) -> str:
    """The speed section (markdown)."""
    import soxr

    from avsvt.enhance import DF_SAMPLE_RATE, RESAMPLE_QUALITY, UNLIMITED_DB, Enhancer

    audio = long_singing(duration_s)
    cold = startup_included(duration_s)
    enhancer = Enhancer()
    enhancer(audio[: 2 * SAMPLE_RATE], SAMPLE_RATE)  # warm caches (page cache, allocator)
    start = time.perf_counter()
    enhancer(audio, SAMPLE_RATE)
    warm_s = time.perf_counter() - start
    start = time.perf_counter()
    Enhancer(threads=1)(audio, SAMPLE_RATE)
    single_s = time.perf_counter() - start

    lib = enhancer._lib  # the parts of a call
    creates = []
    for _ in range(3):
        start = time.perf_counter()
        state = lib.df_create(str(enhancer.model_path).encode(), UNLIMITED_DB, None)
        creates.append(time.perf_counter() - start)
        lib.df_free(state)
    create_s = float(np.median(creates))
    start = time.perf_counter()
    up = soxr.resample(audio.astype(np.float64), SAMPLE_RATE, DF_SAMPLE_RATE, RESAMPLE_QUALITY)
    soxr.resample(up.astype(np.float32), DF_SAMPLE_RATE, SAMPLE_RATE, RESAMPLE_QUALITY)
    resample_s = time.perf_counter() - start
    rows = [
        ("start-up included (fresh process: import, Enhancer(), one call)", cold["total_s"]),
        ("start-up excluded (warm Enhancer, one call)", warm_s),
        ("one thread (Enhancer(threads=1), the single pass)", single_s),
    ]
    lines = [
        f"Speed on {duration_s / 60:g} min of synthetic singing at 16 kHz; {machine_description()}",
        "",
        "| run | seconds | x real time |",
        "|---|---|---|",
        *(f"| {name} | {s:.2f} | {duration_s / s:.1f} |" for name, s in rows),
        "",
        f"Parts: import {cold['import_s']:.2f} s, Enhancer() {cold['construct_s']:.2f} s"
        f" (model archive check, library load), model-state creation {create_s:.2f} s per call,"
        f" 16 <-> 48 kHz resampling {resample_s:.2f} s.",
    ]
    return "\n".join(lines)


def accuracy(shared: Path) -> str:
    """The vocadito section (markdown), or why it is missing."""
    from avsvt.enhance import enhance

    vocadito = vocadito_inputs(shared)
    if not vocadito:
        return f"vocadito: not found under {shared}"
    tracker = load_predictor("f0")

    def plain(audio: Audio) -> list[Note]:
        return transcribe_array(audio, tracker)

    def enhanced(audio: Audio) -> list[Note]:
        return transcribe_array(enhance(audio, SAMPLE_RATE), tracker)

    systems = {"built-in f0 tracker": listening(plain), "DFN3 + built-in": listening(enhanced)}
    white = np.random.default_rng(0).standard_normal(SAMPLE_RATE * 10).astype(np.float32)
    by_condition: dict[str, list[AccuracyRow]] = {"clean": accuracy_rows(systems, vocadito)}
    for snr in SNRS_DB:
        by_condition[f"white {snr} dB"] = accuracy_rows(systems, with_noise(vocadito, white, snr))
    clip_s = len(vocadito["vocadito_1"].audio) / SAMPLE_RATE
    tables = [condition_table(by_condition, metric) for metric in METRICS[:2]]
    return (
        f"vocadito_1 ({clip_s:.1f} s; F1 %, mir_eval defaults; for the record, never tuned on)\n\n"
        + "\n\n".join(tables)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--startup-run", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_run is not None:
        _startup_main(args.startup_run)
        return
    print(speed(60 * args.minutes))
    print()
    print(accuracy(args.shared))


if __name__ == "__main__":
    main()
