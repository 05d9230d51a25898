"""Peak memory of reading a long audio file (issue 15, item 18): blockwise against whole-file.

Writes a synthetic 16-bit WAV (default: 2 hours, 44.1 kHz, stereo) to a temporary folder, then
reads it in a fresh process per method and reports that process's own peak resident memory
(VmHWM from /proc/self/status) and time:

* ``import``: the baseline, ``import avsvt.data.audio`` and nothing read;
* ``read_audio``: :func:`avsvt.data.audio.read_audio`, decoding and resampling block by block;
* ``whole file``: what read_audio did before: ``soundfile.read`` of the whole file at its own rate,
  then channel mean and ``soxr.resample`` in one call;
* ``avsvt transcribe`` (with ``--transcribe``): the whole command on the file, built-in tracker.

Run: .venv/bin/python benchmarks/bench_audio_memory.py [--minutes 120] [--transcribe]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 44_100


def peak_mb() -> float:
    """This process's VmHWM in MB (peak resident memory since it started)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def write_long_wav(path: Path, minutes: float, channels: int) -> None:
    """A sung-like harmonic tone with slow vibrato, written a minute at a time (16-bit PCM)."""
    import soundfile as sf

    n_total = int(minutes * 60 * RATE)
    block = 60 * RATE
    with sf.SoundFile(path, "w", RATE, channels, subtype="PCM_16") as out:
        for start in range(0, n_total, block):
            t = np.arange(start, min(start + block, n_total)) / RATE
            phase = 2 * np.pi * (220 * t + 3 * np.sin(2 * np.pi * 0.2 * t))
            tone = 0.3 * np.sin(phase) + 0.1 * np.sin(2 * phase)
            out.write(np.repeat(tone[:, None], channels, axis=1))


def child(method: str, path: Path) -> None:
    import soundfile as sf

    from avsvt.data.audio import read_audio, to_mono_16k

    start = time.perf_counter()
    if method == "import":
        n = 0
    elif method == "read_audio":
        n = len(read_audio(path))
    elif method == "whole":
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
        n = len(to_mono_16k(samples, rate, source=path))
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "samples": n}))


def measure(args: list[str]) -> dict[str, float]:
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def transcribe_peak(path: Path, out_dir: Path) -> dict[str, float]:
    """``avsvt transcribe`` in its own process, its VmHWM read just before it exits."""
    code = (
        "import json, sys, time\n"
        "from avsvt.cli import main\n"
        "t = time.perf_counter()\n"
        "rc = main(sys.argv[1:])\n"
        "s = time.perf_counter() - t\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(json.dumps({'seconds': s, 'peak_mb': float(hwm.split()[1]) / 1024, 'rc': rc}))\n"
    )
    args = [sys.executable, "-c", code, "transcribe", str(path), "-o", str(out_dir)]
    return measure(args + ["--format", "csv", "--overwrite"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--transcribe", action="store_true", help="also run `avsvt transcribe`")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        write_long_wav(path, args.minutes, args.channels)
        size_mb = path.stat().st_size / 2**20
        label = f"{args.minutes:g} min, {RATE} Hz, {args.channels} ch, 16-bit ({size_mb:.0f} MiB)"
        print(
            f"input: {label}; 16 kHz mono float32 result: "
            f"{args.minutes * 60 * 16_000 * 4 / 2**20:.0f} MiB"
        )
        print("| method | peak RSS (VmHWM) MiB | time s |")
        print("|---|---|---|")
        me = [sys.executable, str(Path(__file__).resolve()), "--child"]
        for method, name in (
            ("import", "import only (baseline)"),
            ("read_audio", "`read_audio` (blocks, soxr.ResampleStream)"),
            ("whole", "whole file, then soxr.resample (before)"),
        ):
            row = measure([*me, method, str(path)])
            print(f"| {name} | {row['peak_mb']:.0f} | {row['seconds']:.1f} |", flush=True)
        if args.transcribe:
            row = transcribe_peak(path, Path(tmp) / "out")
            print(
                f"| `avsvt transcribe` (built-in tracker) | {row['peak_mb']:.0f} | "
                f"{row['seconds']:.1f} |"
            )


if __name__ == "__main__":
    main()
