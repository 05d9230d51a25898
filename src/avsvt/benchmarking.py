"""The benchmark harness: our systems and the peers on the same inputs, in the same run.

``benchmarks/run.py`` is the entry point; it writes the tables into BENCHMARKS.md between
``<!-- harness:NAME -->`` markers, so hand-written sections stay. Systems are named callables from
16 kHz audio to notes. Speed and memory are measured in a fresh subprocess per (system, input
length) so that each peak-memory figure belongs to that system alone.
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import read_audio
from avsvt.metrics import METRICS, NoteScores, mean_scores, score_notes
from avsvt.notefiles import read_notes
from avsvt.notes import Note

Transcribe = Callable[[npt.NDArray[np.float32]], list[Note]]


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    """The fastest of ``repeats`` timed calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


BUILT_IN = "avsvt built-in (f0 notes)"


def peer_systems() -> dict[str, Transcribe]:
    """The peers at their defaults."""
    from avsvt.peers import basic_pitch_notes, pyin_notes

    return {"pyin (issue 10 pipeline)": pyin_notes, "basic-pitch 0.4.0 (ONNX)": basic_pitch_notes}


def all_systems() -> dict[str, Transcribe]:
    """Our built-in transcription (``avsvt transcribe`` without --model), then the peers."""
    from avsvt.f0notes import transcribe_f0

    return {BUILT_IN: transcribe_f0, **peer_systems()}


def machine_description() -> str:
    """One line: CPU, cores, memory, Python and key package versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(
        f"{p} {_version(p)}"
        for p in ("torch", "numpy", "librosa", "basic-pitch", "onnxruntime", "mir_eval")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_gb:.0f} GiB; Python {platform.python_version()};"
        f" {versions}"
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True)
class AccuracyRow:
    """One system's scores on one reference, and its speed on that input."""

    system: str
    reference: str
    scores: NoteScores
    real_time_factor: float


def accuracy_rows(
    systems: Mapping[str, Transcribe],
    inputs: Mapping[str, tuple[npt.NDArray[np.float32], Mapping[str, Sequence[Note]]]],
) -> list[AccuracyRow]:
    """Run every system on every input once; score against each of the input's references.

    Args:
        systems: ``{name: transcribe}``.
        inputs: ``{input name: (audio, {reference name: notes})}``; with several inputs per
            reference name the scores are song-averaged.
    """
    per: dict[tuple[str, str], list[NoteScores]] = {}
    seconds: dict[str, float] = {}
    audio_s: dict[str, float] = {}
    for name, transcribe in systems.items():
        for audio, references in inputs.values():
            start = time.perf_counter()
            estimate = transcribe(audio)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            audio_s[name] = audio_s.get(name, 0.0) + len(audio) / SAMPLE_RATE
            for ref_name, reference in references.items():
                per.setdefault((name, ref_name), []).append(score_notes(reference, estimate))
    return [
        AccuracyRow(name, ref_name, mean_scores(scores), audio_s[name] / max(seconds[name], 1e-9))
        for (name, ref_name), scores in per.items()
    ]


def accuracy_table(rows: Sequence[AccuracyRow]) -> str:
    """Markdown: system, reference, the four F1s (%), speed (x real time)."""
    lines = [
        "| system | reference | " + " | ".join(METRICS) + " | speed (x real time) |",
        "|---|---|" + "---|" * (len(METRICS) + 1),
    ]
    for row in rows:
        f1s = " | ".join(f"{100 * getattr(row.scores, m).f1:.1f}" for m in METRICS)
        lines.append(f"| {row.system} | {row.reference} | {f1s} | {row.real_time_factor:.1f} |")
    return "\n".join(lines)


def vocadito_inputs(
    shared_data: Path,
) -> dict[str, tuple[npt.NDArray[np.float32], dict[str, list[Note]]]]:
    """vocadito_1 with both annotators' notes (empty when the shared data is absent)."""
    folder = shared_data / "vocadito"
    wav = folder / "vocadito_1.wav"
    if not wav.exists():
        return {}
    references = {
        f"vocadito_1 {a}": read_notes(folder / f"vocadito_1_notes{a}.csv") for a in ("A1", "A2")
    }
    return {"vocadito_1": (read_audio(wav), references)}


@dataclass(frozen=True)
class SpeedRow:
    """Transcription speed and peak memory of one system on one input length."""

    system: str
    duration_s: float
    seconds: float
    peak_rss_mb: float

    @property
    def real_time_factor(self) -> float:
        """Seconds of audio per second of computation."""
        return self.duration_s / self.seconds


def measure_in_subprocess(system: str, duration_s: float, *, timeout_s: float = 3600) -> SpeedRow:
    """Time one system on ``duration_s`` of synthetic singing in a fresh Python process."""
    out = subprocess.run(
        [sys.executable, "-m", "avsvt.benchmarking", system, str(duration_s)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return SpeedRow(system, duration_s, float(data["seconds"]), float(data["peak_rss_mb"]))


def long_singing(duration_s: float, seed: int = 0) -> npt.NDArray[np.float32]:
    """A synthetic sung melody of any length (harmonic tones), for speed and memory runs."""
    from avsvt.testing import random_melody, synth_vocal

    rng = np.random.default_rng(seed)
    n = int(duration_s * SAMPLE_RATE)
    return synth_vocal(random_melody(rng, duration_s=duration_s), n)


def _measure_main(argv: Sequence[str]) -> None:
    system, duration_s = argv[0], float(argv[1])
    transcribe = all_systems()[system]
    audio = long_singing(duration_s)
    transcribe(audio[: SAMPLE_RATE * 2])  # warm-up (imports, JIT) is not part of the timing
    start = time.perf_counter()
    transcribe(audio)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb}))


def speed_table(rows: Sequence[SpeedRow], *, baseline: str) -> str:
    """Markdown: system, input length, time, x real time, peak memory, speed ratio vs baseline."""
    base = {r.duration_s: r.seconds for r in rows if r.system == baseline}
    lines = [
        "| system | input | time (s) | x real time | peak RSS (MB) | speed vs " + baseline + " |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{base[r.duration_s] / r.seconds:.2f}" if r.duration_s in base else "-"
        lines.append(
            f"| {r.system} | {r.duration_s / 60:.1f} min | {r.seconds:.2f} | "
            f"{r.real_time_factor:.1f} | {r.peak_rss_mb:.0f} | {ratio} |"
        )
    return "\n".join(lines)


def replace_section(document: str, name: str, body: str) -> str:
    """Replace (or append) the text between ``<!-- harness:NAME -->`` and its closing marker."""
    start, end = f"<!-- harness:{name} -->", f"<!-- /harness:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in document and end in document:
        before, rest = document.split(start, 1)
        return before + block + rest.split(end, 1)[1]
    return document.rstrip() + "\n\n" + block + "\n"


if __name__ == "__main__":
    _measure_main(sys.argv[1:])
