"""Band accompaniment from a General MIDI soundfont: an accompaniment our models never train on.

``arrangement_midi`` writes our own MIDI, deterministic from a seed: a common chord progression in
one of several keys at 70-140 BPM, one chord per 4/4 bar, played by piano or electric piano
(comping), a string or organ pad, a bass (roots, root-fifth, eighth pulses or walking), a guitar
or vibraphone doubling chord tones in arpeggios in some bars, and drums (kick, snare, hi-hat,
crashes and fills). ``render`` synthesises it with the ``fluidsynth`` command-line program and the
FluidR3_GM soundfont; ``gm_accompaniment`` caches the rendering.

Neither fluidsynth nor the soundfont is a Python package: ``apt-get install fluidsynth
fluid-soundfont-gm`` (Debian/Ubuntu). Without them :func:`gm_accompaniment` returns None (unless
the rendering is cached) and :func:`renderer_missing` says why.

Benchmark code, not part of the package (imported by ``benchmarks/run.py`` as a top-level module).
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pretty_midi
import soundfile as sf

from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import write_audio
from avsvt.errors import AvsvtError

logger = logging.getLogger(__name__)

Audio = npt.NDArray[np.float32]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "runs" / "bench-cache"
SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),  # Debian, Ubuntu (fluid-soundfont-gm)
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),  # Fedora, Arch
)
INSTALL_HINT = "apt-get install fluidsynth fluid-soundfont-gm"
GAIN = 0.6
"""fluidsynth's master gain (``-g``; its default is 0.2)."""
ARRANGEMENT_VERSION = 1
"""Part of the cache key: raise it whenever :func:`arrangement_midi` or :func:`render` changes."""
RENDER_TIMEOUT_S = 600.0

# Chords: (semitones above the key's tonic, quality); one chord per bar.
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
}
Chord = tuple[int, str]
PROGRESSIONS: dict[str, tuple[Chord, ...]] = {
    "I-V-vi-IV": ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),
    "I-vi-IV-V": ((0, "maj"), (9, "min"), (5, "maj"), (7, "7")),
    "vi-IV-I-V": ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj")),
    "ii-V-I-vi": ((2, "min7"), (7, "7"), (0, "maj7"), (9, "min7")),
    "i-VI-III-VII": ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")),
    "i-VII-VI-V (Andalusian)": ((0, "min"), (10, "maj"), (8, "maj"), (7, "7")),
    "12-bar blues": (
        *((0, "7"),) * 4,
        *((5, "7"),) * 2,
        *((0, "7"),) * 2,
        (7, "7"),
        (5, "7"),
        (0, "7"),
        (7, "7"),
    ),
}
KEYS = {"C": 0, "D": 2, "Eb": 3, "F": 5, "G": 7, "A": 9, "Bb": 10}
TEMPO_BPM = (70, 140)

# GM programs (0-based), one chosen per part and seed.
KEYS_PROGRAMS = (0, 1, 4, 5)  # acoustic grand, bright acoustic, electric pianos 1 and 2
PAD_PROGRAMS = (48, 49, 50, 16)  # string ensembles 1 and 2, synth strings 1, drawbar organ
BASS_PROGRAMS = (32, 33, 34)  # acoustic bass, electric bass (finger), electric bass (pick)
LEAD_PROGRAMS = (24, 25, 26, 27, 11)  # nylon, steel, jazz, clean electric guitar; vibraphone
KEYS_VELOCITY_OFFSET = {4: -16}
"""Velocity changes that bring a loud patch to the others' level (FluidR3's Electric Piano 1 sounds
about 10 dB above its other keys at equal velocity)."""

# Pitch ranges (MIDI numbers): the lowest note of each part's window.
COMP_LOW = 55  # piano chords within G3..F#4 (close voicing); a triad's root doubled an octave up
PAD_LOW = 48  # pad within C3..B3
BASS_LOW = 28  # bass roots within E1..D#2
ARP_LOW = 52  # arpeggios from E3 up to about E5

# Drums (GM percussion key map, channel 10); patterns on a 16-step (sixteenth) grid per bar.
KICK, SIDE_STICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH = 36, 37, 38, 42, 46, 49
LOW_TOM, HIGH_TOM = 45, 50
DRUM_PATTERNS: dict[str, dict[int, tuple[int, ...]]] = {
    "rock": {KICK: (0, 8, 10), SNARE: (4, 12), CLOSED_HAT: (0, 2, 4, 6, 8, 10, 12, 14)},
    "pop": {
        KICK: (0, 6, 8),
        SNARE: (4, 12),
        CLOSED_HAT: (0, 2, 4, 6, 8, 10, 12),
        OPEN_HAT: (14,),
    },
    "four on the floor": {KICK: (0, 4, 8, 12), SNARE: (4, 12), OPEN_HAT: (2, 6, 10, 14)},
    "half-time": {KICK: (0, 3, 10), SNARE: (8,), CLOSED_HAT: (0, 2, 4, 6, 8, 10, 12, 14)},
    "ballad": {KICK: (0, 7, 8), SIDE_STICK: (4, 12), CLOSED_HAT: (0, 4, 8, 12)},
}
COMP_PATTERNS: dict[str, tuple[tuple[float, float], ...]] = {
    # (start beat, length in beats) within a bar
    "quarters": ((0, 0.9), (1, 0.9), (2, 0.9), (3, 0.9)),
    "charleston": ((0, 1.4), (1.5, 2.4)),
    "halves": ((0, 1.9), (2, 1.9)),
    "syncopated": ((0, 0.9), (1.5, 0.9), (2.5, 0.4), (3, 0.9)),
    "whole": ((0, 3.9),),
}
BASS_STYLES = ("roots", "root-fifth", "eighths", "walking")


@dataclass(frozen=True)
class Arrangement:
    """The choices a seed makes (also the MIDI's first text event)."""

    progression: str
    key: str
    tempo_bpm: int
    keys_program: int
    pad_program: int
    bass_program: int
    lead_program: int
    drums: str
    comping: str
    bass: str

    def describe(self) -> str:
        """One line: progression, key, tempo, instruments and patterns."""
        name = pretty_midi.program_to_instrument_name
        return (
            f"{self.progression} in {self.key} at {self.tempo_bpm} BPM; {name(self.keys_program)}"
            f" ({self.comping}), {name(self.pad_program)}, {name(self.bass_program)}"
            f" ({self.bass}), {name(self.lead_program)} (arpeggios), drums ({self.drums})"
        )


def choose_arrangement(seed: int) -> Arrangement:
    """The progression, key, tempo, GM programs and patterns for ``seed``."""
    rng = np.random.default_rng(seed)

    def pick(options: tuple[int, ...] | list[str]) -> int | str:
        return options[int(rng.integers(len(options)))]

    progression = str(pick(list(PROGRESSIONS)))
    key = str(pick(list(KEYS)))
    tempo = int(rng.integers(TEMPO_BPM[0], TEMPO_BPM[1] + 1))
    return Arrangement(
        progression=progression,
        key=key,
        tempo_bpm=tempo,
        keys_program=int(pick(KEYS_PROGRAMS)),
        pad_program=int(pick(PAD_PROGRAMS)),
        bass_program=int(pick(BASS_PROGRAMS)),
        lead_program=int(pick(LEAD_PROGRAMS)),
        drums=str(pick(list(DRUM_PATTERNS))),
        comping=str(pick(list(COMP_PATTERNS))),
        bass=str(pick(list(BASS_STYLES))),
    )


def in_window(pitch_class: int, low: int) -> int:
    """The pitch of ``pitch_class`` in the octave ``low .. low + 11``."""
    return low + (pitch_class - low) % 12


def voicing(tonic: int, chord: Chord, low: int) -> list[int]:
    """The chord's tones in close position within ``low .. low + 11``, ascending."""
    root = tonic + chord[0]
    return sorted(in_window(root + interval, low) for interval in QUALITIES[chord[1]])


def _note(velocity: float, pitch: int, start: float, end: float) -> pretty_midi.Note:
    return pretty_midi.Note(int(np.clip(round(velocity), 1, 127)), int(pitch), start, end)


def arrangement_midi(seed: int, duration_s: float) -> pretty_midi.PrettyMIDI:
    """A band arrangement of ``duration_s`` seconds, the same MIDI for the same seed.

    Five instruments, in this order: keys (chords of 3-4 notes in a comping pattern), pad (the
    chord held for the bar), bass (``is_drum`` False, pitches 28-52), lead (chord-tone arpeggios
    in eighths, in about half the bars) and drums (``is_drum`` True). Notes that would start in
    the last 50 ms are dropped and every note ends by ``duration_s``, so the MIDI ends there.

    Args:
        seed: Chooses the arrangement (:func:`choose_arrangement`) and the small variations of
            velocity and timing.
        duration_s: Length in seconds (> 0).
    """
    if not duration_s > 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    arr = choose_arrangement(seed)
    rng = np.random.default_rng([seed, 1])  # the performance; the choices used stream [seed]
    beat = 60.0 / arr.tempo_bpm
    bar = 4 * beat
    step = beat / 4
    tonic = KEYS[arr.key]
    progression = PROGRESSIONS[arr.progression]
    n_bars = math.ceil(duration_s / bar)
    keys_offset = KEYS_VELOCITY_OFFSET.get(arr.keys_program, 0)

    midi = pretty_midi.PrettyMIDI(initial_tempo=float(arr.tempo_bpm))
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.text_events.append(pretty_midi.Text(arr.describe(), 0.0))
    keys = pretty_midi.Instrument(arr.keys_program, name="keys")
    pad = pretty_midi.Instrument(arr.pad_program, name="pad")
    bass = pretty_midi.Instrument(arr.bass_program, name="bass")
    lead = pretty_midi.Instrument(arr.lead_program, name="lead")
    drums = pretty_midi.Instrument(0, is_drum=True, name="drums")

    def jitter() -> float:
        return float(rng.uniform(-0.006, 0.006))

    for b in range(n_bars):
        t0 = b * bar
        chord = progression[b % len(progression)]
        following = progression[(b + 1) % len(progression)]
        root_pc = (tonic + chord[0]) % 12

        comp = voicing(tonic, chord, COMP_LOW)
        if len(comp) == 3:  # triads: the root doubled above
            comp.append(in_window(root_pc, COMP_LOW) + 12)
        for start_beat, length in COMP_PATTERNS[arr.comping]:
            start = max(0.0, t0 + start_beat * beat + jitter())
            accent = 8 if start_beat in (0, 2) else 0
            velocity = 62 + accent + keys_offset + rng.normal(0, 4)
            for pitch in comp:
                keys.notes.append(_note(velocity, pitch, start, start + length * beat))

        for pitch in voicing(tonic, chord, PAD_LOW):
            pad.notes.append(_note(52 + rng.normal(0, 2), pitch, t0, t0 + bar - 0.02))

        root = in_window(root_pc, BASS_LOW)
        fifth = root + 7
        third = root + QUALITIES[chord[1]][1]
        next_root = in_window((tonic + following[0]) % 12, BASS_LOW)
        if arr.bass == "roots":
            line = [(0.0, 1.9, root), (2.0, 1.9, root)]
        elif arr.bass == "root-fifth":
            line = [(0.0, 1.4, root), (1.5, 0.5, root), (2.0, 1.9, fifth)]
        elif arr.bass == "eighths":
            line = [(i / 2, 0.45, root if i < 6 else fifth) for i in range(8)]
        else:  # walking: root, third, fifth, a semitone from the next root
            approach = next_root + (1 if rng.random() < 0.5 or next_root == BASS_LOW else -1)
            line = [(0.0, 0.9, root), (1.0, 0.9, third), (2.0, 0.9, fifth), (3.0, 0.9, approach)]
        for start_beat, length, pitch in line:
            start = t0 + start_beat * beat
            velocity = 76 + (6 if start_beat == 0 else 0) + rng.normal(0, 4)
            bass.notes.append(_note(velocity, pitch, start, start + length * beat))

        if b % 4 >= 2 or rng.random() < 0.3:  # the second half of each phrase, sometimes more
            tones = voicing(tonic, chord, ARP_LOW)
            tones = [*tones, *(p + 12 for p in tones[:2])]
            order = [0, 1, 2, 3, 4, 3, 2, 1] if len(tones) >= 5 else [0, 1, 2, 3, 2, 1, 0, 1]
            for i, index in enumerate(order):
                start = max(0.0, t0 + i * beat / 2 + jitter())
                velocity = 76 + (6 if i % 2 == 0 else 0) + rng.normal(0, 4)
                lead.notes.append(_note(velocity, tones[index], start, start + 0.9 * beat / 2))

        fill = b % 4 == 3 and b != n_bars - 1
        pattern = DRUM_PATTERNS[arr.drums]
        for drum, steps in pattern.items():
            for s in steps:
                if fill and s >= 12:
                    continue
                velocity = {KICK: 100, SNARE: 96, SIDE_STICK: 84}.get(drum, 64 if s % 4 else 76)
                start = t0 + s * step
                drums.notes.append(_note(velocity + rng.normal(0, 5), drum, start, start + 0.1))
        if fill:  # snare and toms on the last beat, into the next phrase
            for s, drum in zip(range(12, 16), (SNARE, SNARE, HIGH_TOM, LOW_TOM), strict=True):
                start = t0 + s * step
                drums.notes.append(_note(88 + 3 * (s - 12), drum, start, start + 0.1))
        if b % 8 == 0:
            drums.notes.append(_note(92, CRASH, t0, t0 + 0.5))

    for instrument in (keys, pad, bass, lead, drums):
        instrument.notes = sorted(
            (
                pretty_midi.Note(n.velocity, n.pitch, n.start, min(n.end, duration_s))
                for n in instrument.notes
                if n.start < duration_s - 0.05
            ),
            key=lambda n: (n.start, n.pitch),
        )
        midi.instruments.append(instrument)
    return midi


def soundfont() -> Path | None:
    """The FluidR3_GM soundfont, where one is installed."""
    return next((p for p in SOUNDFONTS if p.is_file()), None)


def renderer_missing() -> str | None:
    """Why the GM band cannot be rendered here (with how to install), or None when it can."""
    if shutil.which("fluidsynth") is None:
        return f"the fluidsynth program is not on PATH (install: {INSTALL_HINT})"
    if soundfont() is None:
        looked = ", ".join(str(p) for p in SOUNDFONTS)
        return f"no FluidR3_GM soundfont ({looked}) (install: {INSTALL_HINT})"
    return None


class RenderError(AvsvtError):
    """fluidsynth is missing or failed."""


def render(
    midi: pretty_midi.PrettyMIDI,
    sample_rate: int = SAMPLE_RATE,
    *,
    duration_s: float | None = None,
) -> Audio:
    """Synthesise ``midi`` with fluidsynth and FluidR3_GM: mono float32 at ``sample_rate``.

    fluidsynth renders offline (``-F``, no audio or MIDI driver) to a float WAV, reverb and
    chorus on, at gain :data:`GAIN`; the stereo output is averaged to mono and cut or
    zero-padded to ``duration_s`` (default: the MIDI's end time), so release tails are cut.

    Raises:
        RenderError: fluidsynth or the soundfont is missing, or fluidsynth failed.
    """
    missing = renderer_missing()
    if missing is not None:
        raise RenderError(missing)
    sf2 = soundfont()
    binary = shutil.which("fluidsynth")
    assert sf2 is not None and binary is not None
    length_s = midi.get_end_time() if duration_s is None else duration_s
    n = round(length_s * sample_rate)
    with tempfile.TemporaryDirectory(prefix="gm-render-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        midi.write(str(mid))
        cmd = [binary, "-ni", "-q", "-F", str(wav), "-T", "wav", "-O", "float"]
        cmd += ["-r", str(sample_rate), "-g", str(GAIN), str(sf2), str(mid)]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RenderError(f"fluidsynth did not run: {exc}") from exc
        if done.returncode != 0 or not wav.is_file():
            tail = (done.stderr or done.stdout).strip()[-500:]
            raise RenderError(f"fluidsynth failed (exit {done.returncode}): {tail}")
        data, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise RenderError(f"fluidsynth wrote {rate} Hz, not the {sample_rate} Hz asked for")
    mono = data.mean(axis=1, dtype=np.float32)[:n]
    return np.pad(mono, (0, n - len(mono))).astype(np.float32)


def cache_path(cache_dir: Path, seed: int, n_samples: int, sample_rate: int) -> Path:
    """The cached rendering of one (seed, length, rate) for this arrangement version."""
    name = f"gm-band-v{ARRANGEMENT_VERSION}-seed{seed}-{n_samples}smp-{sample_rate}hz.wav"
    return cache_dir / name


def _read_cached(path: Path, n_samples: int, sample_rate: int) -> Audio | None:
    try:
        data, rate = sf.read(str(path), dtype="float32")
    except (OSError, RuntimeError):  # soundfile's errors are RuntimeErrors
        return None
    if rate != sample_rate or data.ndim != 1 or len(data) != n_samples:
        return None
    return np.asarray(data, dtype=np.float32)


def gm_accompaniment(
    duration_s: float,
    seed: int = 0,
    cache_dir: Path | None = DEFAULT_CACHE,
    *,
    sample_rate: int = SAMPLE_RATE,
) -> Audio | None:
    """The GM band of ``seed`` rendered for ``duration_s``; None when it cannot be rendered here.

    A cached rendering is used first (a float WAV in ``cache_dir`` named by arrangement version,
    seed, length in samples and rate), so fluidsynth is not needed once the cache holds it; a new
    rendering is written there atomically (temporary file + rename). A cache that cannot be
    written only costs a warning.

    Args:
        duration_s: Length in seconds; the result has ``round(duration_s * sample_rate)``
            samples.
        seed: Chooses the arrangement (:func:`arrangement_midi`).
        cache_dir: Where renderings are kept; None: no cache.
        sample_rate: Output rate in Hz.

    Returns:
        Mono float32 audio, or None when fluidsynth or the soundfont is missing (see
        :func:`renderer_missing`).
    """
    n = round(duration_s * sample_rate)
    path = None if cache_dir is None else cache_path(cache_dir, seed, n, sample_rate)
    if path is not None and path.is_file():
        cached = _read_cached(path, n, sample_rate)
        if cached is not None:
            return cached
        logger.warning("%s: unreadable or of the wrong length; rendering again", path)
    if renderer_missing() is not None:
        return None
    audio = render(arrangement_midi(seed, duration_s), sample_rate, duration_s=n / sample_rate)
    if path is not None:
        try:
            write_audio(path, audio, sample_rate=sample_rate)
        except AvsvtError as exc:
            logger.warning("GM band not cached: %s", exc)
    return audio
