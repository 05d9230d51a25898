"""The benchmark harness: our systems and the peers on the same inputs, in the same run.

``benchmarks/run.py`` is the entry point; it writes the tables into BENCHMARKS.md between
``<!-- harness:NAME -->`` markers, so hand-written sections stay. Systems are named callables from
16 kHz audio to notes. Speed and memory are measured in a fresh subprocess per (system, input
length), this file run as a script, so that each peak-memory figure belongs to that system alone.

Benchmark code, not part of the package: the scripts in ``benchmarks/`` import it (and
:mod:`peers`) as top-level modules, since Python puts a script's folder first on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS
from avsvt.data.audio import read_audio
from avsvt.metrics import METRICS, NoteScores, mean_scores, score_notes
from avsvt.notefiles import read_notes
from avsvt.notes import Note
from peers import PYIN_HOP, BasicPitchSettings, PyinSettings, basic_pitch_notes, pyin_notes

if TYPE_CHECKING:
    from avsvt.data.n20em import Song
    from avsvt.noise.mixing import MixRule
    from avsvt.noise.synthesis import NoiseMixer

Audio = npt.NDArray[np.float32]
Video = npt.NDArray[np.uint8]
Transcribe = Callable[[Audio, Video | None], list[Note]]
"""A system under test: 16 kHz audio and, for audio-visual systems, 50 fps mouth crops, to notes."""


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    """The fastest of ``repeats`` timed calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


BUILT_IN = "avsvt built-in (f0 notes)"
DEFAULT = "avsvt default (f0 tracker on a voice alone, else pitch network)"
NETWORK = "avsvt default's pitch network alone"
PYIN = "pyin (issue 10 pipeline)"
BASIC_PITCH = "basic-pitch 0.4.0 (ONNX)"
TUNED = ", tuned on valid"


def listening(fn: Callable[[Audio], list[Note]]) -> Transcribe:
    """An audio-only transcriber as a :data:`Transcribe` (any video is ignored)."""

    def transcribe(audio: Audio, video: Video | None = None) -> list[Note]:
        return fn(audio)

    return transcribe


@dataclass(frozen=True)
class TunedPeers:
    """The peers' settings chosen on our validation split (highest song-averaged COnPOff)."""

    pyin: PyinSettings
    basic_pitch: BasicPitchSettings
    pyin_valid_f1: float
    basic_pitch_valid_f1: float

    def describe(self) -> str:
        """One line: the chosen settings and their validation COnPOff."""
        p, b = self.pyin, self.basic_pitch
        return (
            f"pyin: split {p.split_semitones} semitone, min note {p.min_note_s} s"
            f" (valid COnPOff {100 * self.pyin_valid_f1:.1f}); basic-pitch: onset threshold"
            f" {b.onset_threshold}, frame threshold {b.frame_threshold}, min note"
            f" {b.minimum_note_length_ms} ms (valid COnPOff {100 * self.basic_pitch_valid_f1:.1f})"
        )


def peer_systems(tuned: TunedPeers | None = None) -> dict[str, Transcribe]:
    """The peers at their defaults and, given ``tuned``, with their tuned settings."""
    systems = {PYIN: listening(pyin_notes), BASIC_PITCH: listening(basic_pitch_notes)}
    if tuned is not None:
        systems[PYIN + TUNED] = listening(partial(pyin_notes, settings=tuned.pyin))
        systems[BASIC_PITCH + TUNED] = listening(
            partial(basic_pitch_notes, settings=tuned.basic_pitch)
        )
    return systems


def default_model_system(*, network_alone: bool = False) -> Transcribe:
    """The default (``avsvt transcribe`` without --model), or its pitch network alone, loaded on
    its first call."""
    loaded: list[Any] = []

    def transcribe(audio: Audio) -> list[Note]:
        if not loaded:
            from avsvt.transcribe.predictor import DEFAULT_MODEL, load_predictor

            loaded.append(load_predictor(DEFAULT_MODEL if network_alone else None))
        notes: list[Note] = loaded[0].transcribe(audio)
        return notes

    return listening(transcribe)


def all_systems(tuned: TunedPeers | None = None) -> dict[str, Transcribe]:
    """Our default and its network alone (when shipped), the f0 tracker (``--model f0``), then
    the peers."""
    from avsvt.f0notes import transcribe_f0
    from avsvt.transcribe.predictor import DEFAULT_MODEL

    ours = (
        {DEFAULT: default_model_system(), NETWORK: default_model_system(network_alone=True)}
        if DEFAULT_MODEL.exists()
        else {}
    )
    return {**ours, BUILT_IN: listening(transcribe_f0), **peer_systems(tuned)}


PYIN_GRID: tuple[PyinSettings, ...] = tuple(
    PyinSettings(split_semitones=split, min_note_s=min_note)
    for split in (0.7, 0.3, 0.4, 0.5, 1.0, 1.5)
    for min_note in (0.08, 0.05, 0.12, 0.2, 0.3)
)
"""pYIN segmentation candidates (the default first; f0 settings stay at issue 10's)."""

BASIC_PITCH_GRID: tuple[BasicPitchSettings, ...] = tuple(
    BasicPitchSettings(onset_threshold=onset, frame_threshold=frame, minimum_note_length_ms=ms)
    for onset in (0.5, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9)
    for frame in (0.3, 0.2, 0.4, 0.5, 0.6, 0.7)
    for ms in (127.70, 58.0)
)
"""basic-pitch threshold candidates (its defaults first)."""

S = TypeVar("S")
X = TypeVar("X")


def choose(
    cached: Sequence[tuple[X, Sequence[Note]]],
    decode: Callable[[X, S], list[Note]],
    grid: Sequence[S],
) -> tuple[S, float]:
    """The setting with the highest song-averaged COnPOff (the first on ties), and that F1.

    Args:
        cached: Per song, the expensive part of a system (f0 track, model output) and its
            reference notes.
        decode: Notes from that part under one setting.
        grid: Candidate settings.
    """
    best, best_f1 = grid[0], -1.0
    for setting in grid:
        scores = [score_notes(ref, decode(part, setting)) for part, ref in cached]
        f1 = mean_scores(scores).COnPOff.f1
        if f1 > best_f1:
            best, best_f1 = setting, f1
    return best, best_f1


def tune_peers(
    valid: Sequence[BenchInput],
    *,
    pyin_grid: Sequence[PyinSettings] = PYIN_GRID,
    basic_pitch_grid: Sequence[BasicPitchSettings] = BASIC_PITCH_GRID,
) -> TunedPeers:
    """Choose each peer's settings on validation recordings (their first reference)."""
    from peers import basic_pitch_decode, basic_pitch_output, pyin_f0, segment_f0

    refs = [next(iter(x.references.values())) for x in valid]
    f0s = [pyin_f0(x.audio, PyinSettings()) for x in valid]
    pyin, pyin_f1 = choose(
        list(zip(f0s, refs, strict=True)),
        lambda f0, s: segment_f0(f0, PYIN_HOP / SAMPLE_RATE, s),
        pyin_grid,
    )
    outputs = [basic_pitch_output(x.audio) for x in valid]
    bp, bp_f1 = choose(list(zip(outputs, refs, strict=True)), basic_pitch_decode, basic_pitch_grid)
    return TunedPeers(pyin, bp, pyin_f1, bp_f1)


def model_system(path: Path) -> Transcribe:
    """A checkpoint (or f0-notes model file) as a system: ``transcribe_array`` with it."""
    from avsvt.transcribe.api import transcribe_array
    from avsvt.transcribe.predictor import load_predictor

    predictor = load_predictor(path)

    def transcribe(audio: Audio, video: Video | None = None) -> list[Note]:
        return transcribe_array(audio, predictor, video=video)

    return transcribe


def run_corpus_root(run_dir: Path) -> Path:
    """A finished run's N20EMv2 root: its config's ``corpus.root``, or its embedded corpus."""
    root = json.loads((run_dir / "config.json").read_text())["corpus"].get("root")
    return Path(root) if root else run_dir / "corpus"


def feature_system_notes(
    model_path: Path, songs: Sequence[Song], features_dir: Path, stream: str
) -> dict[str, list[Note]]:
    """A stage-2 system's notes per song, decoded from cached features (``avsvt run``'s
    ``features`` step layout): the audio stream ``stream`` (a condition name) and, for an AV
    system, the video stream."""
    from avsvt.models import load_model
    from avsvt.recipes.features import VIDEO_FEATURES, feature_path
    from avsvt.recipes.systems import FeatureModel, stage2_trainable
    from avsvt.train.datasets import FeatureUtterances
    from avsvt.train.evaluate import decode_songs

    model = load_model(model_path)
    data = FeatureUtterances(
        list(songs),
        audio_feature_path=lambda s: feature_path(features_dir, s.song_id, stream),
        video_feature_path=(
            (lambda s: feature_path(features_dir, s.song_id, VIDEO_FEATURES))
            if model.uses_video
            else None
        ),
        grid=model.config.grid,
    )
    estimates, _ = decode_songs(stage2_trainable(FeatureModel(model)), data)
    return estimates


def demo_systems(run_dir: Path, condition: str) -> dict[str, Transcribe]:
    """The demo run's stage-2 A and AV transcribers trained in ``condition`` (those that exist)."""
    systems: dict[str, Transcribe] = {}
    for system in ("A", "AV"):
        path = run_dir / "stage2" / system / condition / "best.safetensors"
        if path.exists():
            systems[f"demo {system} (stage 2, the condition's model)"] = model_system(path)
    return systems


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
class BenchInput:
    """One recording to transcribe: audio, optional lip video, reference notes by name."""

    audio: Audio
    references: Mapping[str, Sequence[Note]]
    video: Video | None = None


@dataclass(frozen=True)
class AccuracyRow:
    """One system's scores on one reference, and its speed on those inputs."""

    system: str
    reference: str
    scores: NoteScores
    real_time_factor: float


def accuracy_rows(
    systems: Mapping[str, Transcribe],
    inputs: Mapping[str, BenchInput],
    *,
    repeats: int = 1,
    settle_s: float = 0.0,
) -> list[AccuracyRow]:
    """Run every system on every input; score against each of the input's references.

    Each system first transcribes the first 2 s of the first input untimed (imports, caches), so
    the speed column measures transcription, not start-up.

    Args:
        systems: ``{name: transcribe}``.
        inputs: ``{input name: input}``; with several inputs per reference name the scores
            are song-averaged.
        repeats: Runs per input; the fastest is timed (the notes are the same each time).
        settle_s: Pause before each system's timed runs, so that thread pools an earlier system
            left spinning (torch, onnxruntime) are idle and do not slow this one.
    """
    per: dict[tuple[str, str], list[NoteScores]] = {}
    seconds: dict[str, float] = {}
    audio_s: dict[str, float] = {}
    for name, transcribe in systems.items():
        for item in list(inputs.values())[:1]:  # warm-up (imports, caches): not timed
            video = None if item.video is None else item.video[: round(2 * VIDEO_FPS)]
            transcribe(item.audio[: 2 * SAMPLE_RATE], video)
        time.sleep(settle_s)
        for item in inputs.values():
            fastest = float("inf")
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                estimate = transcribe(item.audio, item.video)
                fastest = min(fastest, time.perf_counter() - start)
            seconds[name] = seconds.get(name, 0.0) + fastest
            audio_s[name] = audio_s.get(name, 0.0) + len(item.audio) / SAMPLE_RATE
            for ref_name, reference in item.references.items():
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


def condition_table(
    by_condition: Mapping[str, Sequence[AccuracyRow]],
    metric: str,
    *,
    published: Mapping[str, Sequence[float | None]] | None = None,
) -> str:
    """Markdown, one metric: a row per (system, reference), a column per condition (F1 %).

    Args:
        by_condition: ``{condition label: rows}`` in column order.
        metric: One of :data:`avsvt.metrics.METRICS`.
        published: Extra rows ``{label: values per condition}`` (None: not reported), for
            published numbers on other data.
    """
    conditions = list(by_condition)
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for condition, rows in by_condition.items():
        for row in rows:
            f1 = 100 * getattr(row.scores, metric).f1
            cells.setdefault((row.system, row.reference), {})[condition] = f"{f1:.1f}"
    lines = [
        f"| {metric}: system | reference | " + " | ".join(conditions) + " |",
        "|---|---|" + "---|" * len(conditions),
    ]
    for (system, reference), values in cells.items():
        row_cells = " | ".join(values.get(c, "-") for c in conditions)
        lines.append(f"| {system} | {reference} | {row_cells} |")
    for label, numbers in (published or {}).items():
        row_cells = " | ".join("-" if v is None else f"{v:.1f}" for v in numbers)
        lines.append(f"| *{label}* | *published, other data* | {row_cells} |")
    return "\n".join(lines)


def vocadito_inputs(shared_data: Path) -> dict[str, BenchInput]:
    """vocadito_1 with both annotators' notes (empty when the shared data is absent)."""
    folder = shared_data / "vocadito"
    wav = folder / "vocadito_1.wav"
    if not wav.exists():
        return {}
    references = {
        f"vocadito_1 {a}": read_notes(folder / f"vocadito_1_notes{a}.csv") for a in ("A1", "A2")
    }
    return {"vocadito_1": BenchInput(read_audio(wav), references)}


def corpus_inputs(
    songs: Sequence[Song],
    *,
    noise_type: str | None = None,
    snr_db: float | None = None,
    mixer: NoiseMixer | None = None,
) -> dict[str, BenchInput]:
    """Songs of an N20EMv2 root with their lip video: clean vocals, or one noise condition.

    The reference name is the split's, so scores are song-averaged over the songs.
    """
    from avsvt.data.video import read_video

    inputs = {}
    for song in songs:
        if noise_type is None:
            audio = read_audio(song.vocals_path)
        else:
            assert mixer is not None and snr_db is not None
            audio = mixer.mixture(song, noise_type, snr_db)
        inputs[song.song_id] = BenchInput(
            audio, {f"{song.split} split": list(song.notes)}, read_video(song.video_path)
        )
    return inputs


def with_noise(
    inputs: Mapping[str, BenchInput], noise: Audio, snr_db: float, rule: MixRule = "reference"
) -> dict[str, BenchInput]:
    """Each input's audio mixed with ``noise`` (tiled or cut to its length) at ``snr_db``."""
    from avsvt.noise.synthesis import mix_to_float32

    return {
        name: BenchInput(
            mix_to_float32(x.audio, np.resize(noise, len(x.audio)), snr_db, rule),
            x.references,
            x.video,
        )
        for name, x in inputs.items()
    }


def noisy_conditions(
    inputs: Mapping[str, BenchInput],
    *,
    white_snrs_db: tuple[float, ...] = (0, -5),
    music: Mapping[str, Audio] | None = None,
    music_snrs_db: tuple[float, ...] = (10, 5, 0, -5),
) -> dict[str, dict[str, BenchInput]]:
    """``clean``, ``white SNR`` (white noise of seed 0, as long as the first input) and
    ``LABEL SNR`` for each of ``music``, each a copy of ``inputs`` mixed by :func:`with_noise`."""
    length = len(next(iter(inputs.values())).audio)
    white = np.random.default_rng(0).standard_normal(length).astype(np.float32)
    conditions: dict[str, dict[str, BenchInput]] = {"clean": dict(inputs)}
    for snr_db in white_snrs_db:
        conditions[f"white {snr_db}"] = with_noise(inputs, white, snr_db)
    for label, noise in (music or {}).items():
        for snr_db in music_snrs_db:
            conditions[f"{label} {snr_db}"] = with_noise(inputs, noise, snr_db)
    return conditions


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


def measure_in_subprocess(
    system: str, duration_s: float, *, model: Path | None = None, timeout_s: float = 3600
) -> SpeedRow:
    """Time one system on ``duration_s`` of synthetic singing in a fresh Python process.

    Inputs up to a minute are timed three times (the best counts), longer ones once.

    ``system`` names one of :func:`all_systems`, or, with ``model``, labels that checkpoint.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), system, str(duration_s)]
    out = subprocess.run(
        cmd + ([str(model)] if model is not None else []),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return SpeedRow(system, duration_s, float(data["seconds"]), float(data["peak_rss_mb"]))


def long_singing(duration_s: float, seed: int = 0) -> Audio:
    """A synthetic sung melody of any length (harmonic tones), for speed and memory runs."""
    from avsvt.testing import random_melody, synth_vocal

    rng = np.random.default_rng(seed)
    n = int(duration_s * SAMPLE_RATE)
    return synth_vocal(random_melody(rng, duration_s=duration_s), n)


def _measure_main(argv: Sequence[str]) -> None:
    system, duration_s = argv[0], float(argv[1])
    transcribe = model_system(Path(argv[2])) if len(argv) > 2 else all_systems()[system]
    audio = long_singing(duration_s)
    transcribe(audio[: SAMPLE_RATE * 2], None)  # warm-up (imports, JIT) is not part of the timing
    repeats = 3 if duration_s <= 60 else 1  # short inputs: the best of three (less timing noise)
    seconds = best_of(lambda: transcribe(audio, None), repeats)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB) since it started its program.

    Linux's VmHWM belongs to the process's own memory map; ``getrusage``'s ``ru_maxrss`` would
    also count the parent's memory at the moment it forked this process.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
