"""Noisy-data throughput (issue 4): MUSAN preparation, 20 conditions written vs on the fly, disk.

Builds the default synthetic MUSAN library and a demo-sized corpus (48 songs of 12-20 s, audio
only) in a temporary folder, then measures:

- MUSAN preparation of the default library with demo-sized babble counts (2 workers);
- ``synthesize_noise``: all 4 types x 5 SNRs written as float32 WAV (2 workers), in song-minutes
  of noisy data per second (one song-minute = one minute of song in one condition);
- ``NoiseMixer``: the same 20 conditions in memory (one process), same unit;
- the disk's sequential write speed (256 MiB written and fsynced), for comparison.

Run: .venv/bin/python benchmarks/bench_noise.py [--songs 48] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from avsvt.constants import NOISE_TYPES, SAMPLE_RATE, SNRS_DB
from avsvt.data.audio import write_audio
from avsvt.data.n20em import ACCOMP, VOCALS, load_songs, write_annotations
from avsvt.noise.library import synth_musan_library
from avsvt.noise.musan import PrepareConfig, prepare_musan
from avsvt.noise.synthesis import NoiseMixer, synthesize_noise
from avsvt.notes import Note
from avsvt.testing import random_melody, synth_vocal
from harness import machine_description

DEMO_BABBLE = (200, 40, 40)


def make_audio_corpus(root: Path, n_songs: int, seed: int = 0) -> float:
    """An audio-only N20EMv2 root of ``n_songs`` songs of 12-20 s; returns total seconds."""
    rng = np.random.default_rng(seed)
    entries: dict[str, tuple[str, list[Note]]] = {}
    total_s = 0.0
    for i in range(n_songs):
        duration_s = float(rng.uniform(12, 20))
        notes = random_melody(rng, duration_s=duration_s)
        n = round(duration_s * SAMPLE_RATE)
        folder = root / "data" / f"song{i:03d}"
        write_audio(folder / VOCALS, synth_vocal(notes, n))
        write_audio(folder / ACCOMP, (0.05 * rng.standard_normal(n)).astype(np.float32))
        entries[f"song{i:03d}"] = (("train", "valid", "test")[i % 3], notes)
        total_s += n / SAMPLE_RATE
    write_annotations(root, entries)
    return total_s


def disk_write_mb_s(folder: Path, size_mib: int = 256) -> float:
    """Sequential write speed of ``folder``'s disk (MB/s), fsync included."""
    block = os.urandom(1 << 20)
    path = folder / "dd.tmp"
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size_mib):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - start
    path.unlink()
    return size_mib * (1 << 20) / 1e6 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=48)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n_conditions = len(NOISE_TYPES) * len(SNRS_DB)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        musan = synth_musan_library(tmp / "musan", seed=0, preset="default")
        t_library = time.perf_counter() - start
        start = time.perf_counter()
        prep = prepare_musan(
            musan,
            config=PrepareConfig(n_babble=DEMO_BABBLE),
            workers=args.workers,
            progress=False,
        )
        t_prepare = time.perf_counter() - start
        total_s = make_audio_corpus(tmp / "root", args.songs)
        song_min = total_s / 60 * n_conditions

        start = time.perf_counter()
        summary = synthesize_noise(
            tmp / "root",
            babble_dir=musan / "short-musan" / "babble" / "wav",
            natural_dir=musan / "noise",
            seed=0,
            workers=args.workers,
            progress=False,
        )
        t_write = time.perf_counter() - start
        written_bytes = sum(p.stat().st_size for p in (tmp / "root").glob("data/*/noise_data/*/*"))

        mixer = NoiseMixer(
            babble_dir=musan / "short-musan" / "babble" / "wav", natural_dir=musan / "noise"
        )
        start = time.perf_counter()
        for song in load_songs(tmp / "root"):
            for noise_type in NOISE_TYPES:
                for snr_db in SNRS_DB:
                    mixer.mixture(song, noise_type, snr_db)
        t_fly = time.perf_counter() - start
        disk = disk_write_mb_s(tmp)

    print(machine_description())
    print()
    print("| step | input | time | throughput |")
    print("|---|---|---|---|")
    print(f"| synthetic MUSAN library (default preset) | 92 files | {t_library:.1f} s | - |")
    print(
        f"| MUSAN preparation ({args.workers} workers) | {prep.n_pieces} pieces + "
        f"{prep.n_babble} babble | {t_prepare:.1f} s | - |"
    )
    print(
        f"| noise synthesis, written ({args.workers} workers) | {args.songs} songs, "
        f"{total_s / 60:.1f} min x {n_conditions} conditions | {t_write:.1f} s | "
        f"{song_min / t_write:.1f} song-min/s, {written_bytes / 1e6 / t_write:.0f} MB/s written |"
    )
    print(
        f"| noise on the fly (NoiseMixer, 1 process) | same | {t_fly:.1f} s | "
        f"{song_min / t_fly:.1f} song-min/s |"
    )
    print(f"| disk sequential write (256 MiB + fsync) | - | - | {disk:.0f} MB/s |")
    print()
    per_hour_gb = n_conditions * 4 * SAMPLE_RATE * 3600 / 1e9
    print(
        f"written: {summary.n_files} files, {written_bytes / 1e6:.0f} MB for {total_s / 60:.1f} "
        f"min of song ({written_bytes / (total_s / 3600) / 1e9:.2f} GB per hour of song incl. "
        f"noise.wav); on the fly saves {per_hour_gb:.2f} GB per hour of song "
        "(20 float32 mixtures) plus 0.46 GB of noise tracks"
    )


if __name__ == "__main__":
    main()
