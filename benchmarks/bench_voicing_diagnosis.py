"""Where a pitch model loses on clean real singing: pitch, voicing, or note ends (vocadito_1).

Compares the model's f0 track (its fitted voicing threshold) with YIN's (the f0 tracker's) frame
by frame inside and outside the notes of annotator A1: voicing recall and false alarms, pitch
within half a semitone of the note, where in the notes the frames YIN voices and the model does
not lie, how loud, periodic and moving they are, and the offset error of matched notes. A
diagnosis on the check clip, never a tuning set.

With ``--noise``, two more tables: the model on the clip with white noise added at 40..10 dB
(COnPOff mean of A1 / A2, and the share of frames voiced), and on generated validation songs
(the recipe's first 12 seeds, vocals alone) sung with their singer's breath noise set to 0 .. 0.3,
and, with their own singers, through one real-recording trait each (a room, the recording chain,
room tone, a low-pass, loudness swings); each clean and with white noise at 20 dB (voicing
recall and false alarms against the rendered voicing, COnPOff against the sung notes). A trait
that reproduced the real clip's failure would lower the recall, and the noise would raise it.

Run: .venv/bin/python benchmarks/bench_voicing_diagnosis.py [--model PATH] [--noise]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mir_eval
import numpy as np

from avsvt.f0 import F0Track
from avsvt.f0notes import F0NoteSettings, f0_notes, track_f0
from avsvt.metrics import score_notes
from avsvt.notefiles import read_notes
from avsvt.notes import Note, midi_to_hz_array
from avsvt.pitchnet.track import PitchNetTracker
from avsvt.transcribe.inputs import load_audio
from avsvt.transcribe.predictor import DEFAULT_MODEL, load_predictor

ROOT = Path(__file__).resolve().parents[1]
FPS = 100


def note_frames(notes: list[Note], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n,) the pitch of the note each frame lies in (NaN outside), and its relative position."""
    midi, position = np.full(n, np.nan), np.full(n, np.nan)
    for note in notes:
        a, b = round(note.onset_s * FPS), min(n, round(note.offset_s * FPS))
        midi[a:b] = note.pitch_midi
        position[a:b] = (np.arange(a, b) - a) / max(1, b - a)
    return midi, position


def offset_errors(estimate: list[Note], reference: list[Note]) -> np.ndarray:
    """Offset minus reference offset (s) of the notes matched by onset and pitch."""

    def arrays(notes: list[Note]) -> tuple[np.ndarray, np.ndarray]:
        intervals = np.array([[x.onset_s, x.offset_s] for x in notes])
        return intervals, midi_to_hz_array(np.array([x.pitch_midi for x in notes]))

    (ri, rp), (ei, ep) = arrays(reference), arrays(estimate)
    pairs = mir_eval.transcription.match_notes(ri, rp, ei, ep, offset_ratio=None)
    return np.array([ei[j, 1] - ri[i, 1] for i, j in pairs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--noise", action="store_true", help="also the noise-floor tables")
    args = parser.parse_args()
    folder = args.shared / "vocadito"
    audio = load_audio(folder / "vocadito_1.wav")
    reference = read_notes(folder / "vocadito_1_notesA1.csv")
    model = load_predictor(args.model or DEFAULT_MODEL)  # the network alone
    assert isinstance(model, PitchNetTracker), "a pitch-network model"
    tracks: dict[str, tuple[F0Track, F0NoteSettings]] = {
        "YIN (f0 tracker)": (track_f0(audio, F0NoteSettings()), F0NoteSettings()),
        "model": (model.track(audio), model.settings),
    }
    n = min(len(t.f0_hz) for t, _ in tracks.values())
    midi, position = note_frames(reference, n)
    inside = ~np.isnan(midi)
    yin_track = tracks["YIN (f0 tracker)"][0]
    print(
        "| track | voiced in notes | voiced outside | pitch within 0.5 st | COff | "
        "offset error q10 / q50 (s) |"
    )
    print("|---|---|---|---|---|---|")
    for name, (track, settings) in tracks.items():
        voiced = track.f0_hz[:n] > 0
        error = np.abs(track.midi()[:n] - midi)[inside & voiced]
        notes = f0_notes(track, settings)
        off = offset_errors(notes, reference)
        print(
            f"| {name} | {100 * (voiced & inside).sum() / inside.sum():.1f} % | "
            f"{100 * (voiced & ~inside).sum() / (~inside).sum():.1f} % | "
            f"{100 * np.mean(error < 0.5):.1f} % | "
            f"{100 * score_notes(reference, notes).COff.f1:.1f} | "
            f"{np.quantile(off, 0.1):.3f} / {np.median(off):.3f} |"
        )
    model_voiced = tracks["model"][0].f0_hz[:n] > 0
    yin_voiced = yin_track.f0_hz[:n] > 0
    missed = inside & yin_voiced & ~model_voiced
    kept = inside & yin_voiced & model_voiced
    x = audio.astype(np.float64)
    level_db = np.array(
        [
            10 * np.log10(np.mean(x[max(0, k * 160 - 512) : k * 160 + 512] ** 2) + 1e-12)
            for k in range(n)
        ]
    )
    relative_db = np.full(n, np.nan)
    for note in reference:
        a, b = round(note.onset_s * FPS), min(n, round(note.offset_s * FPS))
        relative_db[a:b] = level_db[a:b] - np.median(level_db[a:b])
    slope = np.abs(np.gradient(yin_track.midi()[:n]))
    histogram = np.histogram(position[missed], bins=5, range=(0, 1))[0]
    print()
    print(f"frames YIN voices in notes and the model does not: {missed.sum()}")
    print(f"  by fifth of the note: {histogram.tolist()}")
    print(
        f"  level under the note's median: {np.median(relative_db[missed]):.1f} dB "
        f"(kept frames {np.median(relative_db[kept]):.1f} dB)"
    )
    print(f"  YIN aperiodicity: median {np.median(yin_track.aperiodicity[:n][missed]):.3f}")
    print(
        f"  pitch slope: median {np.nanmedian(slope[missed]):.3f} semitone per 10 ms "
        f"(kept frames {np.nanmedian(slope[kept]):.3f})"
    )
    if args.noise:
        both = [reference, read_notes(folder / "vocadito_1_notesA2.csv")]
        noise_tables(model, audio, both)


Song = tuple[np.ndarray, np.ndarray, list[Note]]


def generated_song(seed: int, breathiness: float | None) -> Song:
    """A recipe validation song's vocals alone (``breathiness`` overriding the singer's), its
    rendered voicing every 10 ms and its sung notes."""
    import dataclasses

    from avsvt.pitchnet.data import Stems, vary_plan
    from avsvt.pitchnet.features import n_frames
    from avsvt.pitchnet.train import sung_notes
    from avsvt.synth.melody import plan_song
    from avsvt.synth.voice import render_vocals_with_f0

    rng = np.random.default_rng([seed, 7])
    plan = vary_plan(plan_song(rng, 16.0), rng, breath_power=2.0)
    if breathiness is not None:
        plan = dataclasses.replace(
            plan, singer=dataclasses.replace(plan.singer, breathiness=breathiness)
        )
    voice = render_vocals_with_f0(plan, rng)
    step = round(voice.fps / FPS)
    voiced = voice.amplitude[::step][: n_frames(len(voice.audio))] > 0.05
    f0 = voice.f0_midi[::step][: len(voiced)]
    tuning = plan.singer.tuning_cents / 100
    planned = np.array([(n.onset_s, n.offset_s, n.pitch_midi + tuning) for n in plan.notes])
    stems = Stems(voice.audio, voice.audio, voice.audio, np.where(voiced, f0, 0.0), voiced, planned)
    return voice.audio.astype(np.float64), voiced, sung_notes(stems)


def recording_trait(name: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` with one real-recording trait of :data:`TRAITS`."""
    from scipy.signal import butter, sosfilt

    from avsvt.augment import apply_room, recording_chain, room_impulse_response
    from avsvt.noise.mixing import rms
    from avsvt.pitchnet.data import coloured_noise

    if name.startswith("room, RT60"):
        rt60_s = float(name.split()[-1].rstrip("s"))
        return apply_room(x, room_impulse_response(rng, rt60_s=rt60_s, wet_db=-3.0))
    if name == "recording chain":
        return np.asarray(recording_chain(x, rng), dtype=np.float64)
    if name == "room tone (pink, 50 dB under)":
        return x + coloured_noise(len(x), "pink", rng) * rms(x) * 10 ** (-50 / 20)
    if name == "low-pass 4 kHz":
        return np.asarray(sosfilt(butter(6, 4000, fs=16_000, output="sos"), x))
    if name == "loudness swings (0..-12 dB, 1.5 s)":
        t = np.arange(len(x)) / 16_000
        knots = rng.uniform(-12, 0, size=int(t[-1] / 1.5) + 2)
        return x * 10 ** (np.interp(t, np.arange(len(knots)) * 1.5, knots) / 20)
    return x


TRAITS = (
    "none",
    "room, RT60 0.3s",
    "room, RT60 0.8s",
    "room, RT60 1.5s",
    "recording chain",
    "room tone (pink, 50 dB under)",
    "low-pass 4 kHz",
    "loudness swings (0..-12 dB, 1.5 s)",
)


def noise_tables(model: PitchNetTracker, audio: np.ndarray, references: list[list[Note]]) -> None:
    """The ``--noise`` tables (module docstring)."""
    from avsvt.noise.mixing import rms
    from avsvt.pitchnet.train import PitchTrainConfig

    def noisy(x: np.ndarray, snr_db: float | None, seed: int) -> np.ndarray:
        x = x.astype(np.float64)
        if snr_db is not None:
            white = np.random.default_rng(seed).standard_normal(len(x))
            x = x + white * rms(x) * 10 ** (-snr_db / 20)
        return x.astype(np.float32)

    threshold = 1 - model.settings.max_aperiodicity
    print("\n| vocadito_1 + white noise | COnPOff | frames voiced |\n|---|---|---|")
    for snr_db in (None, 40.0, 30.0, 20.0, 10.0):
        x = noisy(audio, snr_db, 0)
        notes = model.transcribe(x)
        f1 = np.mean([score_notes(r, notes).COnPOff.f1 for r in references])
        voiced = np.mean(model.probabilities(x)[1] >= threshold)
        label = "clean" if snr_db is None else f"{snr_db:g} dB"
        print(f"| {label} | {100 * f1:.1f} | {100 * voiced:.1f} % |")

    seeds = PitchTrainConfig().valid_seeds()[:12]

    def row(label: str, songs: list[Song], trait: str) -> None:
        cells: dict[float | None, list[tuple[float, float, float]]] = {None: [], 20.0: []}
        for i, (vocals, voiced, reference) in enumerate(songs):
            x = recording_trait(trait, vocals, np.random.default_rng([i, 3]))
            for snr_db, rows in cells.items():
                y = noisy(x, snr_db, 1)
                v = model.probabilities(y)[1][: len(voiced)] >= threshold
                f1 = score_notes(reference, model.transcribe(y)).COnPOff.f1
                rows.append((np.mean(v[voiced[: len(v)]]), np.mean(v[~voiced[: len(v)]]), f1))
        text = [
            f"{np.mean([r[0] for r in rows]):.3f} / {np.mean([r[1] for r in rows]):.3f} / "
            f"{100 * np.mean([r[2] for r in rows]):.1f}"
            for rows in cells.values()
        ]
        print(f"| {label} | " + " | ".join(text) + " |")

    header = "clean: recall / false alarms / COnPOff | white 20 dB: recall / false alarms / COnPOff"
    print(f"\n| generated singers' breath noise | {header} |\n|---|---|---|")
    for breathiness in (0.0, 0.05, 0.15, 0.3):
        row(f"{breathiness:g}", [generated_song(s, breathiness) for s in seeds], "none")
    print(f"\n| generated songs with one recording trait | {header} |\n|---|---|---|")
    songs = [generated_song(s, None) for s in seeds]
    for trait in TRAITS:
        row(trait, songs, trait)


if __name__ == "__main__":
    main()
