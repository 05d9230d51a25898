"""Song plans: melodies with phrase structure, one syllable per note, melismas and rests.

A plan is pure data: every later stage (voice, accompaniment, lips) renders from it, so the labels
(the notes actually sung) come from the same numbers as the audio and the video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avsvt.constants import HIGHEST_MIDI, LOWEST_MIDI, SAMPLE_RATE

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
VOWELS = ("a", "e", "i", "o", "u")
# consonant -> (kind, unvoiced duration s); bilabials close the lips fully
CONSONANTS = {
    "p": ("plosive", 0.06),
    "b": ("plosive", 0.04),
    "m": ("nasal", 0.0),
    "t": ("plosive", 0.06),
    "d": ("plosive", 0.04),
    "k": ("plosive", 0.07),
    "s": ("fricative", 0.09),
    "f": ("fricative", 0.08),
    "l": ("liquid", 0.0),
    "n": ("nasal", 0.0),
    "": ("none", 0.0),
}
BILABIALS = frozenset("pbm")
MIN_NOTE_S = 0.1  # shortest sung note (voicing)


@dataclass(frozen=True)
class Singer:
    """Per-singer voice and face parameters."""

    low_midi: int
    high_midi: int
    formant_scale: float
    tilt: float  # spectral slope of the source, harmonics ~ k**-tilt
    breathiness: float
    vibrato_hz: float
    vibrato_cents: float
    jitter: float
    shimmer: float
    # untrained-singer variety (0 in the embedded corpus; the pitch model's data draws them)
    tuning_cents: float = 0.0  # the whole song off the equal-tempered grid
    note_error_cents: float = 0.0  # s.d. of each note's own miss of its target
    drift_cents: float = 0.0  # s.d. of a slow random walk of the pitch over the song
    # timbre variety (neutral in the embedded corpus; the pitch model's data may draw them)
    vowel_blend: float = 0.0  # each note's vowel moves up to this fraction toward another vowel
    formant_jitter: float = 0.0  # s.d. of each note's own relative formant offsets
    bandwidth_scale: float = 1.0  # formant bandwidths times this (narrow = ringing, wide = dull)
    h1_db: float = 0.0  # the fundamental's gain beside the tilt (pressed < 0 < breathy)
    attack_s: float = 0.02  # the loudness rise of a note after a rest
    # note-end variety (off in the embedded corpus; the pitch model's data may draw them)
    fade_p: float = 0.0  # chance that a note before a rest fades out (a decrescendo tail)
    fall_cents: float = 0.0  # most pitch fall over a fading note's last 50-200 ms


@dataclass(frozen=True)
class PlannedNote:
    """A sung note: the syllable that starts it (or a melisma continuing the previous vowel)."""

    onset_s: float  # start of voicing
    offset_s: float  # end of voicing
    pitch_midi: int
    consonant: str  # "" for none; unvoiced part precedes onset_s
    vowel: str
    melisma: bool  # continues the previous note's vowel without a new syllable
    phrase: int


@dataclass(frozen=True)
class SongPlan:
    """Everything needed to render one song."""

    duration_s: float
    tempo_bpm: float
    key_midi: int  # tonic pitch class as MIDI 0..11
    minor: bool
    notes: tuple[PlannedNote, ...]
    singer: Singer


def make_singer(rng: np.random.Generator) -> Singer:
    """A random singer: male or female range inside MIDI 36..83, timbre and vibrato."""
    female = bool(rng.random() < 0.5)
    low = int(rng.integers(53, 60)) if female else int(rng.integers(40, 48))
    span = int(rng.integers(14, 19))
    low = max(LOWEST_MIDI, min(low, HIGHEST_MIDI - span))
    return Singer(
        low_midi=low,
        high_midi=low + span,
        formant_scale=float(rng.uniform(1.08, 1.2) if female else rng.uniform(0.92, 1.02)),
        tilt=float(rng.uniform(1.0, 1.6)),
        breathiness=float(rng.uniform(0.0, 0.12)),
        vibrato_hz=float(rng.uniform(5.0, 6.5)),
        vibrato_cents=float(rng.uniform(10, 45)),
        jitter=float(rng.uniform(0.002, 0.008)),
        shimmer=float(rng.uniform(0.02, 0.08)),
    )


def _scale_pitches(key: int, minor: bool, low: int, high: int) -> list[int]:
    steps = MINOR if minor else MAJOR
    return [p for p in range(low, high + 1) if (p - key) % 12 in steps]


@dataclass(frozen=True)
class Breath:
    """An in-breath in a rest, ``length_s`` long and ending at ``end_s``, before a note.

    ``before_note`` is that note's index in the plan.
    """

    end_s: float
    length_s: float
    before_note: int


def breaths(plan: SongPlan) -> list[Breath]:
    """The in-breaths of a song: one in every rest over 0.35 s that has room for 50 ms of it.

    A breath lasts up to 0.35 s and ends 80 ms before the next syllable's consonant. The voice
    (:mod:`avsvt.synth.voice`) makes it heard; the lips (:mod:`avsvt.synth.lips`) may open for it.
    """
    result = []
    previous_offset = 0.0
    for index, note in enumerate(plan.notes):
        unvoiced_s = CONSONANTS[note.consonant][1]
        gap_s = note.onset_s - previous_offset
        if gap_s > 0.35:
            length_s = min(0.35, gap_s - 0.15 - unvoiced_s)
            if int(length_s * SAMPLE_RATE) > 800:
                result.append(Breath(note.onset_s - unvoiced_s - 0.08, length_s, index))
        previous_offset = note.offset_s
    return result


def plan_song(rng: np.random.Generator, duration_s: float) -> SongPlan:
    """A song of about ``duration_s``: phrases of 3-8 notes on a scale, rests between phrases."""
    singer = make_singer(rng)
    tempo = float(rng.uniform(70, 130))
    beat_s = 60.0 / tempo
    key = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.35)
    scale = _scale_pitches(key, minor, singer.low_midi, singer.high_midi)
    stable = [i for i, p in enumerate(scale) if (p - key) % 12 in (0, 4 if not minor else 3, 7)]
    degree = int(rng.integers(len(scale) // 4, 3 * len(scale) // 4))
    t = float(rng.uniform(0.3, 1.0))
    notes: list[PlannedNote] = []
    phrase = 0
    while True:
        n_notes = int(rng.integers(3, 9))
        durations = rng.choice([0.5, 1.0, 1.0, 1.5, 2.0], size=n_notes) * beat_s
        durations[-1] = max(durations[-1], 1.5 * beat_s)  # phrases end on a long note
        fits = int(np.searchsorted(t + np.cumsum(durations), duration_s - 0.4, side="right"))
        if fits < n_notes:  # the song is ending: a shortened last phrase, if any note fits
            if fits == 0:
                break
            durations, n_notes = durations[:fits], fits
        for i, length in enumerate(durations):
            step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
            degree = int(np.clip(degree + step, 0, len(scale) - 1))
            if i == n_notes - 1:  # end the phrase on a stable degree
                degree = min(stable, key=lambda s: abs(s - degree))
            melisma = i > 0 and bool(rng.random() < 0.18)
            consonant = "" if melisma else str(rng.choice(list(CONSONANTS), p=_consonant_p()))
            vowel = notes[-1].vowel if melisma else str(rng.choice(VOWELS))
            unvoiced = CONSONANTS[consonant][1]
            onset = t + unvoiced
            legato = melisma or rng.random() < 0.5
            release = 0.0 if legato else float(rng.uniform(0.03, 0.12))
            # a note keeps at least MIN_NOTE_S of voicing: short notes lose less of their end
            release = min(release, max(0.0, float(length) - unvoiced - MIN_NOTE_S))
            offset = t + float(length) - release
            notes.append(
                PlannedNote(
                    round(onset, 4),
                    round(offset, 4),
                    scale[degree],
                    consonant,
                    vowel,
                    melisma,
                    phrase,
                )
            )
            t += float(length)
        t += float(rng.choice([1.0, 1.5, 2.0, 3.0])) * beat_s  # rest (and a breath)
        phrase += 1
    return SongPlan(duration_s, tempo, key, minor, tuple(_fix_overlaps(notes)), singer)


def _consonant_p() -> list[float]:
    weights = {
        "p": 1.2,
        "b": 1.0,
        "m": 1.6,
        "t": 1.0,
        "d": 0.8,
        "k": 0.8,
        "s": 1.0,
        "f": 0.6,
        "l": 1.0,
        "n": 1.0,
        "": 0.8,
    }
    total = sum(weights.values())
    return [weights[c] / total for c in CONSONANTS]


def _fix_overlaps(notes: list[PlannedNote]) -> list[PlannedNote]:
    """A consonant's unvoiced part may not overlap the previous note's voicing."""
    fixed: list[PlannedNote] = []
    for note in notes:
        if fixed:
            prev = fixed[-1]
            unvoiced = CONSONANTS[note.consonant][1]
            latest = round(note.onset_s - unvoiced, 4)
            if prev.offset_s > latest:
                fixed[-1] = PlannedNote(
                    prev.onset_s,
                    max(latest, prev.onset_s + MIN_NOTE_S),
                    prev.pitch_midi,
                    prev.consonant,
                    prev.vowel,
                    prev.melisma,
                    prev.phrase,
                )
        fixed.append(note)
    return fixed
