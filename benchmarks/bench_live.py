"""Live transcription (``avsvt listen``, :mod:`avsvt.live`): latency, CPU and accuracy.

Each recording is fed as a microphone would give it, in blocks of ``--block`` s (20 ms), as fast
as possible, the compute time of every block measured. Latency of a reference note: the stream
position (audio time) at which the note-on of the live note matched to it (mir_eval onset
matching, 50 ms) was emitted, minus the reference onset, plus the compute time of the block that
emitted it (what a real-time stream would add). Median and 95th percentile over the matched notes
of all inputs; "matched" counts them. CPU: process time over audio time, in percent of one core
(torch on one thread): what the stream costs at real-time pace, whatever the pace it ran at. COnPOff
of the live notes (F1 %, vocadito_1: mean of annotators A1 / A2; the split: song mean) beside the
offline transcription's with the same model.

Inputs: vocadito_1 (clean) and the embedded test split's vocals (``RUN/corpus``, generated songs).
Systems: the f0 tracker, and the learned default model at the lookahead where its frames equal
offline (0.23 s) and at shorter ones (its frames then approximate), on the running level; each
with final note-ons (the default) or provisional ones (``--early``: "note-ons cancelled" counts
those withdrawn). A withdrawn note-on is not matched (its onset is no note's).

Run: .venv/bin/python benchmarks/bench_live.py [--run runs/demo] [--block 0.02]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mir_eval
import numpy as np
import torch

from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.live import LiveTranscriber, NoteEvent
from avsvt.metrics import score_notes
from avsvt.notes import Note
from avsvt.transcribe.api import transcribe_array
from avsvt.transcribe.predictor import DEFAULT_MODEL, Transcription, load_predictor
from harness import BenchInput, vocadito_inputs

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class LiveRun:
    """One stream: its events, the compute time of the block that emitted each, CPU seconds."""

    events: list[tuple[NoteEvent, float]]
    cpu_s: float
    duration_s: float

    @property
    def notes(self) -> list[Note]:
        return [e.note for e, _ in self.events if e.kind == "note_off"]


def run_live(
    predictor: Transcription, audio: np.ndarray, block_s: float, **settings: float
) -> LiveRun:
    live = LiveTranscriber(predictor, **settings)  # type: ignore[arg-type]
    step = max(1, int(round(block_s * SAMPLE_RATE)))
    events: list[tuple[NoteEvent, float]] = []
    cpu = time.process_time()
    for start in range(0, len(audio), step):
        began = time.perf_counter()
        decided = live.feed(audio[start : start + step])
        spent = time.perf_counter() - began
        events += [(event, spent) for event in decided]
    events += [(event, 0.0) for event in live.close()]
    return LiveRun(events, time.process_time() - cpu, len(audio) / SAMPLE_RATE)


def latencies_s(run: LiveRun, reference: Sequence[Note]) -> list[float]:
    """Per matched reference note: note-on emission time + its block's compute - ref onset."""
    on_times = {e.onset_s: e.time_s + spent for e, spent in run.events if e.kind == "note_on"}
    notes = run.notes
    if not notes or not reference:
        return []
    ref = np.array([[n.onset_s, n.offset_s] for n in reference])
    est = np.array([[n.onset_s, n.offset_s] for n in notes])
    pairs = mir_eval.transcription.match_note_onsets(ref, est, onset_tolerance=0.05)
    return [on_times[notes[j].onset_s] - reference[i].onset_s for i, j in pairs]


def corpus(run_dir: Path) -> dict[str, BenchInput]:
    songs = [s for s in load_songs(run_dir / "corpus") if s.split == "test"]
    return {
        s.song_id: BenchInput(read_audio(s.vocals_path), {"test": list(s.notes)}) for s in songs
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--block", type=float, default=0.02, help="block length (s)")
    parser.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    datasets = {"vocadito_1": vocadito_inputs(args.shared), "embedded test split": corpus(args.run)}
    learned = load_predictor(args.model or DEFAULT_MODEL)  # the network: what live runs
    f0 = load_predictor("f0")
    systems: dict[str, tuple[Transcription, dict[str, float]]] = {
        "f0 tracker": (f0, {}),
        "f0 tracker --early": (f0, {"early": True}),
        "default model, lookahead 0.23 s (exact frames)": (learned, {}),
        "default model, lookahead 0.23 s --early": (learned, {"early": True}),
        "default model, lookahead 0.12 s --early": (learned, {"lookahead_s": 0.12, "early": True}),
        "default model, lookahead 0.05 s --early": (learned, {"lookahead_s": 0.05, "early": True}),
    }
    print(f"blocks of {args.block * 1000:.0f} ms; latency = note-on time - reference onset\n")
    print(
        "| system | input | matched notes | latency median (ms) | latency p95 (ms) "
        "| note-ons cancelled | CPU (% of one core) | COnPOff live | COnPOff offline |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for system, (predictor, settings) in systems.items():
        for dataset, inputs in datasets.items():
            if not inputs:
                continue
            delays: list[float] = []
            matched = total = 0
            cpu_s = duration_s = 0.0
            ons = cancels = 0
            live_f1: list[float] = []
            offline_f1: list[float] = []
            for item in inputs.values():
                run = run_live(predictor, item.audio, args.block, **settings)
                offline = transcribe_array(item.audio, predictor)
                ons += sum(e.kind == "note_on" for e, _ in run.events)
                cancels += sum(e.kind == "note_cancel" for e, _ in run.events)
                cpu_s += run.cpu_s
                duration_s += run.duration_s
                live_scores, offline_scores = [], []
                for reference in item.references.values():
                    found = latencies_s(run, reference)
                    delays += found
                    matched += len(found)
                    total += len(reference)
                    live_scores.append(score_notes(list(reference), run.notes).COnPOff.f1)
                    offline_scores.append(score_notes(list(reference), offline).COnPOff.f1)
                live_f1.append(float(np.mean(live_scores)))
                offline_f1.append(float(np.mean(offline_scores)))
            ms = 1000 * np.array(delays)
            print(
                f"| {system} | {dataset} | {matched} / {total} | {np.median(ms):.0f} "
                f"| {np.percentile(ms, 95):.0f} | {cancels} / {ons} "
                f"| {100 * cpu_s / duration_s:.1f} "
                f"| {100 * np.mean(live_f1):.1f} | {100 * np.mean(offline_f1):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
