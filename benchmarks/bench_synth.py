"""Speed of the synthetic corpus generator (``avsvt synth corpus``).

Run: .venv/bin/python benchmarks/bench_synth.py [--songs N] [--workers W] [--preset default|tiny]

Generates a corpus into a temporary folder (default preset, 2 workers, seed 0) and prints a
markdown table row: seconds of audio-visual material (vocals + accompaniment + 50 fps lip video of
each song) generated per wall-clock second, the wall time and the size on disk.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.synth.corpus import PRESETS, synth_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default")
    parser.add_argument("--songs", type=int, default=None, help="default: the preset's count")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    command = "`.venv/bin/python benchmarks/bench_synth.py"
    for flag, value, default in (
        ("--preset", args.preset, "default"),
        ("--songs", args.songs, None),
        ("--workers", args.workers, 2),
        ("--seed", args.seed, 0),
    ):
        if value != default:
            command += f" {flag} {value}"
    command += "`"
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        root = Path(tmp) / "root"
        start = time.perf_counter()
        synth_corpus(
            root,
            n_songs=args.songs,
            seed=args.seed,
            preset=args.preset,  # type: ignore[arg-type]
            workers=args.workers,
            progress=False,
        )
        wall_s = time.perf_counter() - start
        songs = load_songs(root)
        material_s = sum(len(read_audio(s.vocals_path)) / 16000 for s in songs)
        disk_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
    print(f"{os.cpu_count()} CPU cores")
    print("| command | songs | material | wall | speed | on disk |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {command} | {len(songs)} | {material_s:.0f} s | {wall_s:.1f} s "
        f"| **{material_s / wall_s:.1f} s/s** | {disk_mb:.0f} MB |"
    )


if __name__ == "__main__":
    main()
