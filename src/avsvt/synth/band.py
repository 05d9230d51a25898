"""Band accompaniment: a different random ensemble for every song.

A pitch model trained on voice + accompaniment mixtures has to find the voice among many kinds of
instruments, so each call draws a band (:func:`draw_band`): one or two harmony instruments (block
chords, arpeggios, strummed chords, sustained pads, organ), usually a bass, often a drum kit,
sometimes a counter-melody in the voice's register (with vibrato and glides, so that vibrato alone
does not mark the voice) and rarely a quiet doubling of the melody an octave away. Between two and
five parts play. :data:`BAND_STYLES` lists what can be drawn and :meth:`Band.describe` says what
was.

Harmony. One chord per half bar, bar or two bars is chosen from the key's diatonic chords to hold
the melody sung over it (pitch classes weighted by how long they sound), with a prior for the
common degrees and against repeating the last chord. It may become a seventh, sus2, sus4 or add9
chord, and in minor the dominant is often major (harmonic minor). Voicings (close or drop-2, any
inversion, usually the one nearest the previous chord) stay inside the singer's range widened to
``low_midi - 12 .. high_midi + 7``, so the band competes with the voice where it sings. Rhythms run
on a pulse that is the beat, or half or twice it (half or double time), with optional swing.

Timbres. Every instrument draws its own harmonic spectrum: a spectral tilt, an odd/even balance,
random weights on the first partials and a few formant-like peaks fixed in Hz; partials above
7.5 kHz are dropped. Two engines render notes, both vectorised per note (no loop over samples):

* decaying tones (piano, guitar, harp, mallets, plucked bass, ...) are sums of exponentially
  decaying partials at inharmonic frequencies ``f_k = k f0 sqrt(1 + B k^2)``, the higher partials
  dying sooner (a brighter attack). A sum of damped complex exponentials factorises over blocks
  of samples (``z^(mB + j) = z^(mB) z^j``), so one note is one small complex matrix product;
* sustained tones (organ, pads, strings, reeds, flutes, synth leads, ...) read a band-limited
  wavetable (one inverse FFT per pitch) along a phase that carries vibrato and glides, under an
  attack-decay-sustain-release envelope, with detuned unison voices and a crossfade to a darker
  table (a slow filter sweep, or a filter envelope) where the instrument has them.

Each instrument also has slight detune, a filtered-noise component that follows its notes (pick
and hammer bursts, bow and breath noise) and sometimes tremolo. Drums are synthesised per song
with random parameters: a pitch-swept kick, a tone + noise snare, a clap and a rim click, closed
and open hats and ride/crash cymbals from square-wave partials and noise, three toms for fills.
Grooves are 16-step patterns with random velocities, swing and small timing errors.

The parts are normalised, mixed at random relative levels, sometimes through a short noise reverb,
band-limited to 25 Hz-7.5 kHz and scaled like :mod:`.accomp`: RMS 0.5x-2x the vocals' (uniform in
dB), peak at most 0.95. Peaks above that are held down by a smooth limiter so the level survives;
only where the limiter cannot hold both (very loud vocals) does a plain scale-down lower the level.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import butter, fftconvolve, sosfilt

from avsvt.constants import SAMPLE_RATE
from avsvt.synth.melody import MAJOR, MINOR, SongPlan

FloatArray = npt.NDArray[np.float64]
_T = TypeVar("_T")

MAX_PARTIAL_HZ = 7500.0
"""No partial of a pitched instrument lies above this; the mix is low-passed here too."""

PEAK = 0.95
"""Largest absolute sample of a rendered band."""

TABLE_SIZE = 4096  # a power of two (the phase wraps with a mask)
_MODAL_PARTIALS = 32  # most partials of a decaying tone
# multiply-adds per matrix product: OpenBLAS runs products this small on the calling thread; a
# larger one waits for a worker thread, milliseconds each when the other cores are busy (a pool
# of data-generation workers), where the whole product takes tens of microseconds
_SMALL_PRODUCT = 60_000
_MODAL = frozenset(
    {"piano", "epiano", "guitar", "harp", "mallet", "synth_pluck", "plucked_bass"}
)  # timbres of the decaying-partials engine; the others are wavetable instruments

BAND_STYLES: dict[str, dict[str, tuple[str, ...]]] = {
    "harmony": {
        "block": ("piano", "epiano", "guitar", "organ", "brass", "synth_pluck", "strings"),
        "arpeggio": ("piano", "harp", "mallet", "synth_pluck", "guitar", "epiano"),
        "strum": ("guitar", "synth_pluck"),
        "pad": ("pad", "strings"),
        "organ": ("organ",),
    },
    "bass": {
        style: ("sine_bass", "plucked_bass", "synth_bass")
        for style in ("root", "root_fifth", "walking", "octave", "eighths", "syncopated")
    },
    "drums": {
        style: ("kit",)
        for style in (
            "rock",
            "four_on_floor",
            "halftime",
            "shuffle",
            "funk",
            "ballad",
            "jazz_ride",
            "sparse",
        )
    },
    "lead": {
        style: ("bowed", "flute", "reed", "synth_lead", "brass", "guitar", "mallet")
        for style in ("long_tones", "fills", "riff")
    },
    "double": {"octave": ("flute", "strings", "synth_lead", "piano", "mallet", "reed")},
}
"""What a band can hold: role -> style -> the timbres that style may be played on."""

# one bar = 4 pulses; (position, length) in pulses
_BLOCK_RHYTHMS: dict[str, tuple[tuple[float, float], ...]] = {
    "half": ((0, 2), (2, 2)),
    "quarter": ((0, 1), (1, 1), (2, 1), (3, 1)),
    "whole": ((0, 4),),
    "pushes": ((0, 1.5), (1.5, 1.5), (3, 1)),
    "offbeat": ((0.5, 0.5), (1.5, 0.5), (2.5, 0.5), (3.5, 0.5)),
    "charleston": ((0, 1.5), (1.5, 2.5)),
}
_STRUMS = ("D.DU.UDU", "D...D...", "D.D.D.DU", "D..D..D.", "DDUUDUDU", "D.DUDUDU")  # on 8ths
_ARPEGGIOS = tuple(f"{o}-{s}" for o in ("up", "down", "updown", "random") for s in ("8th", "16th"))
# (position, length, what): R root, 5 fifth, 8 octave, W walking tone, A approach to the next root
_BASS_PATTERNS: dict[str, tuple[tuple[float, float, str], ...]] = {
    "root": ((0, 2, "R"), (2, 2, "R")),
    "root_fifth": ((0, 2, "R"), (2, 2, "5")),
    "walking": ((0, 1, "R"), (1, 1, "W"), (2, 1, "W"), (3, 1, "A")),
    "octave": tuple((i / 2, 0.5, "R" if i % 2 == 0 else "8") for i in range(8)),
    "eighths": tuple((i / 2, 0.5, "R") for i in range(8)),
    "syncopated": (
        (0, 0.75, "R"),
        (0.75, 0.75, "R"),
        (1.5, 1.0, "5"),
        (3, 0.5, "R"),
        (3.5, 0.5, "8"),
    ),
}
# 16 steps per bar: x accent, o normal, g ghost
_GROOVES: dict[str, dict[str, str]] = {
    "rock": {"kick": "x.......x.x.....", "snare": "....x.......x...", "hat": "x.o.x.o.x.o.x.o."},
    "four_on_floor": {
        "kick": "x...x...x...x...",
        "clap": "....x.......x...",
        "open_hat": "..o...o...o...o.",
        "hat": "g...g...g...g...",
    },
    "halftime": {
        "kick": "x.........x.....",
        "snare": "........x.......",
        "hat": "x.o.x.o.x.o.x.o.",
    },
    "shuffle": {"kick": "x.....x.x.......", "snare": "....x.......x...", "hat": "x.o.x.o.x.o.x.o."},
    "funk": {"kick": "x..x..x...x..x..", "snare": "....x..g.g..x..g", "hat": "xgogxgogxgogxgog"},
    "ballad": {"kick": "x.......x.......", "rim": "....x.......x...", "hat": "o...o...o...o..."},
    "jazz_ride": {
        "ride": "x...x.o.x...x.o.",
        "hat": "....o.......o...",
        "kick": "g.......g.......",
        "snare": "......g.......g.",
    },
    "sparse": {"kick": "x.......o.......", "ride": "o...o...o...o..."},
}
_SWUNG = frozenset({"shuffle", "jazz_ride"})
_VELOCITY = {"x": 1.0, "o": 0.65, "g": 0.25}
_DRUM_GAIN = {
    "kick": 1.0,
    "snare": 0.75,
    "clap": 0.6,
    "rim": 0.35,
    "hat": 0.3,
    "open_hat": 0.3,
    "ride": 0.3,
    "crash": 0.4,
    "tom1": 0.6,
    "tom2": 0.6,
    "tom3": 0.6,
}


@dataclass(frozen=True)
class Part:
    """One instrument of a band: what it does (role, style, variant), on what, how loud."""

    role: str  # a key of BAND_STYLES
    style: str  # a key of BAND_STYLES[role]
    variant: str  # rhythm, pattern or articulation within the style
    timbre: str  # one of BAND_STYLES[role][style]
    gain_db: float  # level relative to the other parts, each normalised to unit RMS

    def describe(self) -> str:
        """E.g. ``harmony strum[D.DU.UDU] on guitar (+1.2 dB)``."""
        return f"{self.role} {self.style}[{self.variant}] on {self.timbre} ({self.gain_db:+.1f} dB)"


@dataclass(frozen=True)
class Band:
    """A band drawn for one song: its parts and the song-wide feel."""

    parts: tuple[Part, ...]
    time_factor: float  # pulse = beat / time_factor: 0.5 half time, 2 double time
    chords_per_bar: float  # 0.5, 1 or 2
    swing: float  # delay of off-beat 8ths (and 16ths) as a fraction of their spacing, 0 = straight
    reverb: float  # wet level, 0 = dry

    def describe(self) -> str:
        """One line naming every part and the feel, for logs."""
        feel = (
            f"time x{self.time_factor:g}, {self.chords_per_bar:g} chords/bar, "
            f"swing {self.swing:.2f}, reverb {self.reverb:.2f}"
        )
        return "; ".join([feel, *(part.describe() for part in self.parts)])


def _pick(
    rng: np.random.Generator, options: Sequence[_T], weights: Sequence[float] | None = None
) -> _T:
    if weights is None:
        return options[int(rng.integers(len(options)))]
    w = np.asarray(weights, dtype=np.float64)
    return options[int(rng.choice(len(options), p=w / w.sum()))]


def _draw_part(role: str, rng: np.random.Generator, exclude: Sequence[str] = ()) -> Part:
    styles = [s for s in BAND_STYLES[role] if s not in exclude]
    weights = {"block": 1.2, "arpeggio": 1.0, "strum": 1.0, "pad": 1.0, "organ": 0.6}
    style = _pick(rng, styles, [weights.get(s, 1.0) for s in styles])
    timbre = _pick(rng, BAND_STYLES[role][style])
    if role == "harmony":
        if style == "block":
            variant = _pick(rng, tuple(_BLOCK_RHYTHMS))
        elif style == "arpeggio":
            variant = _pick(rng, _ARPEGGIOS)
        elif style == "strum":
            variant = _pick(rng, _STRUMS)
        elif style == "organ":
            variant = _pick(rng, ("sustain", "chop"), (0.7, 0.3))
        else:
            variant = "sustain"
        gain = float(rng.uniform(-3, 3))
    elif role == "bass":
        variant, gain = _pick(rng, ("legato", "detached")), float(rng.uniform(-4, 1))
    elif role == "drums":
        variant, gain = _pick(rng, ("fills", "plain"), (0.6, 0.4)), float(rng.uniform(-3, 2))
    elif role == "lead":
        flags = []
        if timbre not in _MODAL:
            if rng.random() < 0.6:
                flags.append("vibrato")
            if rng.random() < 0.4:
                flags.append("glide")
        variant, gain = "+".join(flags) or "plain", float(rng.uniform(-6, -1))
    else:  # double
        variant, gain = _pick(rng, ("below", "above"), (0.6, 0.4)), float(rng.uniform(-16, -9))
    return Part(role, style, variant, timbre, gain)


def draw_band(plan: SongPlan, rng: np.random.Generator) -> Band:
    """Draw a band for ``plan``: 2-5 parts (harmony, bass, drums, lead, double) and the feel."""
    parts = [_draw_part("harmony", rng)]
    if rng.random() < 0.35:
        second = _draw_part("harmony", rng, exclude=(parts[0].style,))
        parts.append(replace(second, gain_db=second.gain_db - 3))
    for role, p in (("bass", 0.85), ("drums", 0.7), ("lead", 0.35), ("double", 0.1)):
        if rng.random() < p:
            parts.append(_draw_part(role, rng))
    if len(parts) > 5:  # six parts means every role was drawn: the doubling goes
        parts = [q for q in parts if q.role != "double"]
    if len(parts) < 2:
        parts.append(_draw_part("bass", rng))
    # double time mostly for slow songs, half time mostly for fast ones
    slow = float(np.clip((110.0 - plan.tempo_bpm) / 40.0, 0.0, 1.0))
    time_factor = _pick(rng, (1.0, 0.5, 2.0), (0.7, 0.05 + 0.2 * (1 - slow), 0.05 + 0.2 * slow))
    chords_per_bar = _pick(rng, (1.0, 2.0, 0.5), (0.6, 0.25, 0.15))
    swing = 0.0 if rng.random() < 0.7 else float(rng.uniform(0.1, 0.33))
    reverb = 0.0 if rng.random() < 0.4 else float(rng.uniform(0.08, 0.3))
    return Band(tuple(parts), time_factor, chords_per_bar, swing, reverb)


# --- songs: chords and the rhythmic grid --------------------------------------------------------


@dataclass(frozen=True)
class _Chord:
    start_s: float
    end_s: float
    root: int  # pitch class
    tones: tuple[int, ...]  # pitch classes, root first, stacked (third, fifth, seventh, ...)


@dataclass(frozen=True)
class _Song:
    plan: SongPlan
    n: int
    pulse_s: float
    swing: float
    chords: tuple[_Chord, ...]
    starts: tuple[float, ...]
    scale: tuple[int, ...]  # pitch classes of the key
    low: int  # harmony register
    high: int

    @property
    def length_s(self) -> float:
        return self.n / SAMPLE_RATE

    def chord_at(self, t: float) -> _Chord:
        return self.chords[max(0, bisect.bisect_right(self.starts, t + 1e-6) - 1)]

    def bars(self, pattern: Sequence[tuple[float, float]]) -> Iterator[tuple[float, float]]:
        """(time s, length s) of a one-bar (4-pulse) rhythm repeated over the song, swung."""
        bar = 4 * self.pulse_s
        for b in range(int(np.ceil(self.length_s / bar))):
            for pos, length in pattern:
                yield b * bar + _swung(pos, self.swing) * self.pulse_s, length * self.pulse_s


def _swung(pos: float, swing: float) -> float:
    """Delay off-beat 8ths by ``swing`` of an 8th, off-beat 16ths by ``swing`` of a 16th."""
    if abs(pos * 2 - round(pos * 2)) < 1e-6 and round(pos * 2) % 2 == 1:
        return pos + swing / 2
    if abs(pos * 4 - round(pos * 4)) < 1e-6 and round(pos * 4) % 2 == 1:
        return pos + swing / 4
    return pos


def _chords(
    plan: SongPlan, length_s: float, per_bar: float, rng: np.random.Generator
) -> list[_Chord]:
    steps = MINOR if plan.minor else MAJOR
    major_dominant = plan.minor and bool(rng.random() < 0.6)
    p_seventh = float(rng.uniform(0.0, 0.6))
    p_sus, p_add9 = float(rng.uniform(0.0, 0.25)), float(rng.uniform(0.0, 0.2))
    # priors: I IV V vi common, iii and ii less, the diminished chord rare
    prior = (
        (0.3, 0.1, 0.05, 0.25, 0.25, 0.2, -0.3)
        if not plan.minor
        else (0.3, -0.3, 0.15, 0.2, 0.25, 0.2, 0.15)
    )

    def degree_tones(degree: int, stack: Sequence[int]) -> tuple[int, ...]:
        tones = [(plan.key_midi + steps[(degree + s) % 7]) % 12 for s in stack]
        if major_dominant and degree == 4 and 2 in stack:  # raise the dominant's third
            tones[list(stack).index(2)] = (tones[list(stack).index(2)] + 1) % 12
        return tuple(tones)

    segment_s = 4 * 60.0 / plan.tempo_bpm / per_bar
    chords: list[_Chord] = []
    previous = -1
    for i in range(int(np.ceil(length_s / segment_s))):
        start, end = i * segment_s, (i + 1) * segment_s
        weight = np.zeros(12)
        for note in plan.notes:
            overlap = min(note.offset_s, end) - max(note.onset_s, start)
            if overlap > 0:
                weight[note.pitch_midi % 12] += overlap
        total = max(float(weight.sum()), 1e-9)
        scores = [
            sum(weight[pc] for pc in degree_tones(d, (0, 2, 4))) / total
            + prior[d]
            - 0.15 * (d == previous)
            + 0.1 * float(rng.random())
            for d in range(7)
        ]
        degree = int(np.argmax(scores))
        kind = float(rng.random())
        diminished = steps[(degree + 4) % 7] - steps[degree] in (6, -6)
        if kind < p_seventh:
            stack: tuple[int, ...] = (0, 2, 4, 6)
        elif kind < p_seventh + p_sus and not diminished:
            stack = _pick(rng, ((0, 1, 4), (0, 3, 4)))
        elif kind < p_seventh + p_sus + p_add9:
            stack = (0, 2, 4, 1)
        else:
            stack = (0, 2, 4)
        tones = degree_tones(degree, stack)
        chords.append(_Chord(start, end, tones[0], tones))
        previous = degree
    return chords


def _song(plan: SongPlan, band: Band, n: int, rng: np.random.Generator) -> _Song:
    length_s = n / SAMPLE_RATE
    chords = _chords(plan, length_s, band.chords_per_bar, rng)
    steps = MINOR if plan.minor else MAJOR
    return _Song(
        plan=plan,
        n=n,
        pulse_s=60.0 / plan.tempo_bpm / band.time_factor,
        swing=band.swing,
        chords=tuple(chords),
        starts=tuple(c.start_s for c in chords),
        scale=tuple((plan.key_midi + s) % 12 for s in steps),
        low=plan.singer.low_midi - 12,
        high=plan.singer.high_midi + 7,
    )


def _voicing(
    tones: Sequence[int], center: float, inversion: int, drop2: bool, low: int, high: int
) -> list[int]:
    """Pitches of a chord in close position from ``inversion`` up, starting near ``center``.

    Notes outside ``low..high`` are folded in by octaves; ``drop2`` moves the second-highest note
    down an octave (an open voicing).
    """
    k = inversion % len(tones)
    order = list(tones[k:]) + list(tones[:k])
    first = int(round(center)) - 5
    pitches = [first + (order[0] - first) % 12]
    for pc in order[1:]:
        pitches.append(pitches[-1] + 1 + (pc - pitches[-1] - 1) % 12)
    if drop2 and len(pitches) >= 3:
        pitches[-2] -= 12
    folded = []
    for p in pitches:
        while p < low:
            p += 12
        while p > high:
            p -= 12
        folded.append(p)
    return sorted(set(folded))


def _voicings(song: _Song, rng: np.random.Generator) -> list[list[int]]:
    """One voicing per chord, mostly the inversion nearest the previous voicing."""
    center = float(rng.uniform(song.low + 6, song.high - 6))
    drop2 = bool(rng.random() < 0.3)
    smooth = float(rng.uniform(0.5, 0.95))
    voicings: list[list[int]] = []
    for chord in song.chords:
        options = [
            _voicing(chord.tones, center, inv, drop2, song.low, song.high)
            for inv in range(len(chord.tones))
        ]
        if voicings and rng.random() < smooth:
            prev = voicings[-1]
            cost = [
                sum(min(abs(p - q) for q in prev) for p in v) + 2 * abs(np.mean(v) - center)
                for v in options
            ]
            voicings.append(options[int(np.argmin(cost))])
        else:
            voicings.append(_pick(rng, options))
    return voicings


# --- timbres and the two note engines ------------------------------------------------------------


@dataclass(frozen=True)
class _Timbre:
    kind: str
    modal: bool  # decaying partials engine (else wavetable)
    tilt: float  # partial k ~ k**-tilt
    even: float  # gain of the even partials
    shape: tuple[float, ...]  # gains of the first partials
    formants: tuple[tuple[float, float, float], ...]  # (centre Hz, width octaves, gain)
    inharmonicity: float  # B in f_k = k f0 sqrt(1 + B k^2)
    attack_s: float
    decay_s: float  # modal: time constant of the fundamental; table: decay to the sustain level
    damping: float  # modal: partial k decays (1 + damping (k - 1)) times faster
    sustain: float
    release_s: float
    vibrato_hz: float
    vibrato_cents: float
    vibrato_delay_s: float
    tremolo: float
    tremolo_hz: float
    sweep_mode: str  # "none", "lfo" (slow filter sweep), "env" (brightness follows the note)
    sweep: float
    sweep_hz: float
    unison: int
    unison_cents: float
    noise: float
    noise_band_hz: tuple[float, float]
    noise_decay_s: float  # > 0: a burst at each onset; 0: the noise follows the tone
    detune_cents: float
    glide_s: float


def _draw_timbre(
    kind: str, rng: np.random.Generator, vibrato: bool | None = None, glide: bool = False
) -> _Timbre:
    """A random instrument of family ``kind``; ``vibrato`` forces vibrato on or off."""

    def u(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    def formants(
        most: int, lo: float = 300.0, hi: float = 4000.0
    ) -> tuple[tuple[float, float, float], ...]:
        count = int(rng.integers(0, most + 1))
        return tuple(
            (float(np.exp(u(np.log(lo), np.log(hi)))), u(0.15, 0.6), u(1.0, 6.0))
            for _ in range(count)
        )

    p: dict[str, object] = {
        "tilt": u(0.8, 1.6),
        "even": u(0.4, 1.0),
        "shape": tuple(float(x) for x in rng.uniform(0.5, 1.3, 8)),
        "formants": formants(2),
        "inharmonicity": 0.0,
        "attack_s": u(0.002, 0.006),
        "decay_s": u(0.5, 1.5),
        "damping": u(0.1, 0.5),
        "sustain": 1.0,
        "release_s": u(0.05, 0.15),
        "vibrato_hz": u(4.5, 7.0),
        "vibrato_cents": 0.0,
        "vibrato_delay_s": u(0.1, 0.35),
        "tremolo": 0.0,
        "tremolo_hz": u(3.0, 7.0),
        "sweep_mode": "none",
        "sweep": 0.0,
        "sweep_hz": u(0.05, 0.3),
        "unison": 1,
        "unison_cents": 0.0,
        "noise": 0.0,
        "noise_band_hz": (1000.0, 6000.0),
        "noise_decay_s": 0.0,
        "detune_cents": float(rng.normal(0.0, 4.0)),
        "glide_s": u(0.04, 0.15) if glide else 0.0,
    }
    with_vibrato = (
        (lambda chance: rng.random() < chance) if vibrato is None else (lambda _: vibrato)
    )
    if kind == "piano":
        p |= {"tilt": u(1.2, 2.0), "even": u(0.6, 1.0), "inharmonicity": u(5e-5, 4e-4)}
        p |= {"decay_s": u(0.6, 2.0), "damping": u(0.05, 0.25), "release_s": u(0.08, 0.2)}
        p |= {
            "noise": u(0.02, 0.08),
            "noise_band_hz": (800.0, 5000.0),
            "noise_decay_s": u(0.004, 0.01),
        }
    elif kind == "epiano":
        p |= {"tilt": u(1.8, 3.0), "even": u(0.3, 1.0), "inharmonicity": u(0.0, 1e-4)}
        p |= {
            "formants": formants(1, 1500.0, 4000.0),
            "decay_s": u(0.8, 2.5),
            "damping": u(0.3, 0.8),
        }
        p |= {"tremolo": u(0.0, 0.3), "noise": u(0.0, 0.03), "noise_decay_s": 0.005}
    elif kind == "guitar":
        p |= {"tilt": u(0.9, 1.6), "even": u(0.5, 1.0), "formants": formants(3, 100.0, 3000.0)}
        p |= {"inharmonicity": u(1e-5, 1.5e-4), "decay_s": u(0.4, 1.6), "damping": u(0.2, 0.8)}
        p |= {
            "noise": u(0.02, 0.08),
            "noise_band_hz": (2000.0, 7000.0),
            "noise_decay_s": u(0.003, 0.008),
        }
    elif kind == "harp":
        p |= {"tilt": u(1.5, 2.5), "even": u(0.7, 1.0), "inharmonicity": u(1e-5, 1e-4)}
        p |= {"decay_s": u(0.8, 2.5), "damping": u(0.2, 0.5), "release_s": u(0.2, 0.5)}
    elif kind == "mallet":
        p |= {"tilt": u(2.5, 3.5), "even": u(0.1, 0.5), "inharmonicity": u(2e-3, 2e-2)}
        p |= {"decay_s": u(0.3, 1.0), "damping": u(0.5, 2.0), "release_s": u(0.1, 0.3)}
        p |= {"noise": u(0.01, 0.05), "noise_band_hz": (500.0, 3000.0), "noise_decay_s": 0.003}
    elif kind == "synth_pluck":
        p |= {"tilt": u(0.8, 1.5), "even": u(0.05, 1.0), "attack_s": u(0.001, 0.004)}
        p |= {"decay_s": u(0.15, 0.6), "damping": u(0.5, 2.0), "unison": 1}
    elif kind == "plucked_bass":
        p |= {"tilt": u(1.0, 1.8), "even": u(0.5, 1.0), "inharmonicity": u(5e-5, 3e-4)}
        p |= {"decay_s": u(0.5, 1.5), "damping": u(0.2, 0.8), "release_s": u(0.03, 0.08)}
        p |= {"noise": u(0.02, 0.06), "noise_band_hz": (500.0, 3000.0), "noise_decay_s": 0.004}
    elif kind == "organ":
        drawbars = [float(rng.choice([0.0, 0.25, 0.5, 1.0])) for _ in range(8)]
        drawbars[0] = max(drawbars[0], 0.5)
        drawbars[4] *= 0.2  # the 5th and 7th harmonics are weak on drawbar organs
        drawbars[6] *= 0.2
        p |= {"tilt": u(0.3, 1.0), "shape": tuple(drawbars), "attack_s": u(0.005, 0.015)}
        p |= {"release_s": u(0.02, 0.06), "tremolo": u(0.0, 0.3), "tremolo_hz": u(5.0, 7.0)}
        p |= {"vibrato_cents": u(4.0, 12.0) if with_vibrato(0.4) else 0.0, "vibrato_delay_s": 0.0}
        p |= {"noise": u(0.0, 0.04), "noise_band_hz": (1000.0, 5000.0), "noise_decay_s": 0.003}
    elif kind == "pad":
        p |= {
            "attack_s": u(0.3, 1.2),
            "decay_s": 0.5,
            "sustain": u(0.7, 1.0),
            "release_s": u(0.5, 1.5),
        }
        p |= {
            "unison": int(rng.integers(2, 4)),
            "unison_cents": u(5.0, 15.0),
            "tremolo": u(0.0, 0.2),
        }
        p |= {"tremolo_hz": u(0.5, 4.0), "sweep_mode": "lfo", "sweep": u(0.3, 0.8)}
        p |= {"vibrato_cents": u(2.0, 6.0) if with_vibrato(0.3) else 0.0}
    elif kind == "strings":
        p |= {"tilt": u(0.8, 1.3), "even": u(0.7, 1.0), "formants": formants(3, 250.0, 3500.0)}
        p |= {"attack_s": u(0.08, 0.4), "sustain": u(0.8, 1.0), "release_s": u(0.15, 0.5)}
        p |= {"unison": int(rng.integers(2, 4)), "unison_cents": u(3.0, 10.0)}
        p |= {"vibrato_cents": u(5.0, 25.0) if with_vibrato(0.7) else 0.0}
        p |= {"noise": u(0.01, 0.04), "noise_band_hz": (1500.0, 6000.0)}
    elif kind == "brass":
        p |= {"tilt": u(0.7, 1.2), "even": u(0.8, 1.0), "formants": formants(1, 900.0, 1600.0)}
        p |= {"attack_s": u(0.03, 0.08), "decay_s": u(0.15, 0.3), "sustain": u(0.6, 0.85)}
        p |= {"release_s": u(0.06, 0.15), "sweep_mode": "env", "sweep": u(0.3, 0.7)}
        p |= {"vibrato_cents": u(8.0, 30.0) if with_vibrato(0.3) else 0.0}
        p |= {"noise": u(0.0, 0.03)}
    elif kind == "bowed":
        p |= {
            "tilt": u(0.8, 1.3),
            "formants": formants(3, 300.0, 3500.0),
            "attack_s": u(0.05, 0.15),
        }
        p |= {"sustain": u(0.85, 1.0), "release_s": u(0.1, 0.3)}
        p |= {"vibrato_cents": u(15.0, 50.0) if with_vibrato(0.8) else 0.0}
        p |= {"noise": u(0.03, 0.08), "noise_band_hz": (1500.0, 6500.0)}
    elif kind == "flute":
        p |= {"tilt": u(2.0, 3.5), "even": u(0.5, 1.0), "formants": (), "attack_s": u(0.04, 0.1)}
        p |= {"sustain": u(0.85, 1.0), "release_s": u(0.05, 0.15), "vibrato_hz": u(4.5, 6.0)}
        p |= {"vibrato_cents": u(10.0, 35.0) if with_vibrato(0.7) else 0.0}
        p |= {"noise": u(0.05, 0.15), "noise_band_hz": (1000.0, 6000.0)}
    elif kind == "reed":
        p |= {"tilt": u(0.8, 1.5), "even": u(0.05, 0.4) if rng.random() < 0.5 else u(0.6, 1.0)}
        p |= {"formants": formants(3, 400.0, 3000.0), "attack_s": u(0.02, 0.06)}
        p |= {"sustain": u(0.8, 1.0), "release_s": u(0.05, 0.12)}
        p |= {"vibrato_cents": u(10.0, 30.0) if with_vibrato(0.5) else 0.0}
        p |= {"noise": u(0.02, 0.06), "noise_band_hz": (1500.0, 5000.0)}
    elif kind == "synth_lead":
        p |= {"tilt": u(0.5, 1.2), "even": u(0.05, 1.0), "attack_s": u(0.005, 0.03)}
        p |= {"sustain": u(0.8, 1.0), "release_s": u(0.03, 0.1)}
        p |= {"vibrato_cents": u(10.0, 40.0) if with_vibrato(0.5) else 0.0}
        p |= {"sweep_mode": _pick(rng, ("none", "lfo", "env")), "sweep": u(0.2, 0.6)}
    elif kind == "sine_bass":
        p |= {"tilt": u(2.5, 4.0), "even": u(0.5, 1.0), "formants": (), "attack_s": u(0.005, 0.02)}
        p |= {"decay_s": u(0.3, 0.8), "sustain": u(0.5, 0.9), "release_s": u(0.03, 0.1)}
    elif kind == "synth_bass":
        p |= {"tilt": u(0.6, 1.2), "even": u(0.1, 1.0), "attack_s": u(0.003, 0.01)}
        p |= {"decay_s": u(0.1, 0.4), "sustain": u(0.4, 0.8), "release_s": u(0.03, 0.08)}
        p |= {"sweep_mode": "env", "sweep": u(0.4, 0.9)}
    else:
        raise ValueError(f"unknown timbre {kind!r}")
    return _Timbre(kind=kind, modal=kind in _MODAL, **p)  # type: ignore[arg-type]


def _hz(midi: FloatArray | float) -> FloatArray:
    return np.asarray(440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0))


def _amplitudes(
    timbre: _Timbre, f0: float, ratios: FloatArray, brightness: float = 0.0
) -> FloatArray:
    """Partial amplitudes (unit energy) of ``timbre`` at ``f0`` for partials at ``ratios * f0``."""
    k = np.arange(1, len(ratios) + 1, dtype=np.float64)
    freqs = f0 * ratios
    amps = k ** -(timbre.tilt - brightness)
    amps[1::2] *= timbre.even
    shape = np.asarray(timbre.shape[: len(amps)])
    amps[: len(shape)] *= shape
    for centre, width, gain in timbre.formants:
        amps *= 1.0 + gain * np.exp(-0.5 * (np.log2(freqs / centre) / width) ** 2)
    amps[freqs > MAX_PARTIAL_HZ] = 0.0
    total = float(np.sqrt(np.sum(amps**2)))
    return amps / total if total > 0 else amps


def _damped_partials(
    freqs: FloatArray, amps: FloatArray, rates: FloatArray, phases: FloatArray, n: int
) -> FloatArray:
    """``sum_k amps_k exp(-rates_k t) sin(2 pi freqs_k t + phases_k)`` at ``t = i / SR``, i < n.

    With ``z_k = exp((-rate_k + 2 pi i f_k) / SR)`` the sum is ``Im sum_k c_k z_k^i``; writing
    ``i = m B + j`` it is the (rows, K) @ (K, B) complex matrix product of ``c_k z_k^(m B)`` and
    ``z_k^j``: about ``n K`` multiply-adds in BLAS and ``K (rows + B)`` complex exponentials
    (computed in double precision, so the phase of late samples stays exact).
    """
    block = max(32, int(np.sqrt(n)))
    rows = -(-n // block)
    s = (-rates + 2j * np.pi * freqs) / SAMPLE_RATE
    inner = np.exp(np.outer(s, np.arange(block))).astype(np.complex64)
    outer = np.exp(np.outer(np.arange(rows) * block, s)) * (amps * np.exp(1j * phases))
    # single precision for the product: ~1e-7 relative error, half the work of complex128
    outer = outer.astype(np.complex64)
    out = np.empty((rows, block), dtype=np.complex64)
    step = max(1, _SMALL_PRODUCT // (len(freqs) * block))
    for first in range(0, rows, step):
        np.matmul(outer[first : first + step], inner, out=out[first : first + step])
    return np.asarray(out.imag.reshape(-1)[:n], dtype=np.float64)


def _wavetable(amps: FloatArray, phases: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One period of ``sum_k amps_k sin(2 pi k x + phases_k)`` in TABLE_SIZE samples.

    Returned with its slope to the next sample, for linear interpolation.
    """
    spectrum = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spectrum[1 : len(amps) + 1] = amps * np.exp(1j * (phases - np.pi / 2)) * (TABLE_SIZE / 2)
    table = np.fft.irfft(spectrum, TABLE_SIZE)
    return table, np.roll(table, -1) - table


def _band_noise(n: int, low_hz: float, high_hz: float, rng: np.random.Generator) -> FloatArray:
    sos = butter(
        2, (low_hz, min(high_hz, MAX_PARTIAL_HZ)), btype="bandpass", fs=SAMPLE_RATE, output="sos"
    )
    noise = np.asarray(sosfilt(sos, rng.standard_normal(n)), dtype=np.float64)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-9)


def _add(out: FloatArray, start: int, signal: FloatArray, gain: float = 1.0) -> None:
    if start >= len(out) or start + len(signal) <= 0:
        return
    skip = max(0, -start)
    end = min(len(out), start + len(signal))
    out[start + skip : end] += gain * signal[skip : end - start]


class _Instrument:
    """One instrument's track: notes through its timbre's engine, plus its noise component."""

    def __init__(self, timbre: _Timbre, n: int, rng: np.random.Generator) -> None:
        self.timbre = timbre
        self.rng = rng
        self.out = np.zeros(n)
        self.noise_env = np.zeros(n) if timbre.noise > 0 else None
        self.sweep_phase = float(rng.uniform(0, 2 * np.pi))
        # (pitch, harmonics) -> (bright table, its slope, darker minus bright, its slope)
        self.tables: dict[
            tuple[int, int], tuple[FloatArray, FloatArray, FloatArray, FloatArray]
        ] = {}

    def play(self, onset_s: float, duration_s: float, pitch: float, velocity: float) -> None:
        """One note; a wavetable instrument plays it as a one-note line."""
        if self.timbre.modal:
            self._modal(onset_s, duration_s, pitch, velocity)
        else:
            self.line([(onset_s, onset_s + duration_s, pitch)], velocity)

    def _modal(self, onset_s: float, duration_s: float, pitch: float, velocity: float) -> None:
        tb = self.timbre
        start = int(round(onset_s * SAMPLE_RATE))
        room = len(self.out) - start
        if room <= 0:
            return
        f0 = float(_hz(pitch + (tb.detune_cents + self.rng.normal(0.0, 1.5)) / 100))
        k = np.arange(
            1, max(1, min(_MODAL_PARTIALS, int(MAX_PARTIAL_HZ / f0))) + 1, dtype=np.float64
        )
        ratios = k * np.sqrt(1.0 + tb.inharmonicity * k**2)
        amps = _amplitudes(tb, f0, ratios, brightness=0.8 * (velocity - 0.7))
        rate = (f0 / 261.6) ** 0.4 / tb.decay_s  # higher notes die sooner
        rates = rate * (1.0 + tb.damping * (k - 1))
        keep = amps > 1e-3 * float(amps.max())
        hold = max(1, int(duration_s * SAMPLE_RATE))
        n = min(hold + int(5 * tb.release_s * SAMPLE_RATE), int(7 / rate * SAMPLE_RATE) + 1, room)
        phases = self.rng.uniform(0, 2 * np.pi, int(keep.sum()))
        tone = _damped_partials(f0 * ratios[keep], amps[keep], rates[keep], phases, n)
        t = np.arange(n) / SAMPLE_RATE
        env = np.minimum(1.0, t / tb.attack_s)
        if hold < n:
            env[hold:] *= np.exp(-(t[hold:] - t[hold]) / tb.release_s)
        fade = min(n, 32)
        env[n - fade :] *= np.linspace(1.0, 0.0, fade)
        _add(self.out, start, tone * env, velocity)
        self._noise(start, env, velocity)

    def _noise(self, start: int, env: FloatArray, velocity: float) -> None:
        """The noise of one note: a burst at its onset, or (no burst time) under its envelope."""
        tb = self.timbre
        if self.noise_env is None:
            return
        if tb.noise_decay_s > 0:
            t = np.arange(int(6 * tb.noise_decay_s * SAMPLE_RATE) + 1) / SAMPLE_RATE
            env = np.exp(-t / tb.noise_decay_s)
        _add(self.noise_env, start, env, velocity)

    def _tables(
        self, pitch: int, f0_max: float
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        n_harmonics = max(1, min(TABLE_SIZE // 2 - 1, int(MAX_PARTIAL_HZ / f0_max)))
        key = (pitch, n_harmonics)
        if key not in self.tables:
            k = np.arange(1, n_harmonics + 1, dtype=np.float64)
            amps = _amplitudes(self.timbre, float(_hz(pitch)), k)
            phases = self.rng.uniform(0, 2 * np.pi, n_harmonics)
            bright, bright_slope = _wavetable(amps, phases)
            dark, dark_slope = _wavetable(amps * k**-1.5, phases)
            self.tables[key] = (bright, bright_slope, dark - bright, dark_slope - bright_slope)
        return self.tables[key]

    def line(self, notes: Sequence[tuple[float, float, float]], velocity: float) -> None:
        """A legato line of (onset s, offset s, pitch) notes on the wavetable engine.

        The pitch holds through gaps between notes and glides between them over the timbre's
        glide time; vibrato sets in after each onset; one envelope spans the line.
        """
        tb = self.timbre
        start = int(round(notes[0][0] * SAMPLE_RATE))
        if start >= len(self.out):
            return
        onsets = np.array([int(round(on * SAMPLE_RATE)) - start for on, _, _ in notes])
        hold = max(int(round(notes[-1][1] * SAMPLE_RATE)) - start, int(onsets[-1]) + 1)
        n = min(hold + int(tb.release_s * SAMPLE_RATE), len(self.out) - start)
        lengths = np.diff(np.append(onsets, n)).clip(min=0)
        pitches = np.array([p for _, _, p in notes], dtype=np.float64)
        pitch = np.repeat(pitches, lengths)
        if tb.glide_s > 0 and len(notes) > 1:
            pitch = uniform_filter1d(pitch, max(1, int(tb.glide_s * SAMPLE_RATE)), mode="nearest")
        t = np.arange(n) / SAMPLE_RATE
        cents = tb.detune_cents + self.rng.normal(0.0, 1.5) + np.zeros(n)
        if tb.vibrato_cents > 0:
            since = t - np.repeat(onsets, lengths) / SAMPLE_RATE
            depth = tb.vibrato_cents * np.clip((since - tb.vibrato_delay_s) / 0.3, 0.0, 1.0)
            rate = tb.vibrato_hz * (1 + 0.05 * np.sin(2 * np.pi * 0.3 * t + self.sweep_phase))
            cents += depth * np.sin(
                2 * np.pi * np.cumsum(rate) / SAMPLE_RATE + self.rng.uniform(0, 6.3)
            )
        f0 = _hz(pitch + cents / 100)
        bright, bright_slope, darker, darker_slope = self._tables(
            int(round(pitches.mean())), float(f0.max()) * 2 ** (tb.unison_cents / 1200)
        )
        out = np.zeros(n)
        shade = np.zeros(n) if tb.sweep_mode != "none" else None  # the darker table's share
        for v in range(tb.unison):
            spread = 0.0 if tb.unison == 1 else (2 * v / (tb.unison - 1) - 1) * tb.unison_cents
            # phase in table samples; positive, so truncation is floor and a mask wraps it
            pos = np.cumsum(f0 * (2 ** (spread / 1200) * TABLE_SIZE / SAMPLE_RATE))
            pos += self.rng.random() * TABLE_SIZE
            idx = pos.astype(np.intp)
            frac = np.subtract(pos, idx, out=pos)
            idx &= TABLE_SIZE - 1
            out += bright[idx] + frac * bright_slope[idx]
            if shade is not None:
                shade += darker[idx] + frac * darker_slope[idx]
        if shade is not None:
            if tb.sweep_mode == "lfo":
                phase = 2 * np.pi * tb.sweep_hz * (t + start / SAMPLE_RATE) + self.sweep_phase
                dark_share = 0.5 - 0.5 * tb.sweep * np.sin(phase)
            else:  # "env": bright at the attack, darker as the note goes on
                dark_share = tb.sweep * (1.0 - np.exp(-t / max(tb.decay_s, 0.05)))
            out += dark_share * shade
        attack = np.clip(t / tb.attack_s, 0.0, 1.0)
        decay = tb.sustain + (1 - tb.sustain) * np.exp(
            -np.maximum(t - tb.attack_s, 0.0) / max(tb.decay_s, 1e-3)
        )
        release = np.clip(1.0 - (t - hold / SAMPLE_RATE) / tb.release_s, 0.0, 1.0)
        env = attack * decay * release
        _add(self.out, start, out * env / np.sqrt(tb.unison), velocity)
        self._noise(start, env, velocity)

    def finish(self) -> FloatArray:
        """The track: notes, plus noise shaped by the notes, under the tremolo."""
        tb = self.timbre
        out = self.out
        if self.noise_env is not None:
            out = (
                out + tb.noise * _band_noise(len(out), *tb.noise_band_hz, self.rng) * self.noise_env
            )
        if tb.tremolo > 0:
            t = np.arange(len(out)) / SAMPLE_RATE
            lfo = 0.5 + 0.5 * np.sin(2 * np.pi * tb.tremolo_hz * t + self.sweep_phase)
            out = out * (1 - tb.tremolo * lfo)
        return out


def _legato_lines(
    notes: Sequence[tuple[float, float, float]], max_gap_s: float = 0.05
) -> list[list[tuple[float, float, float]]]:
    lines: list[list[tuple[float, float, float]]] = []
    for note in notes:
        if lines and note[0] - lines[-1][-1][1] < max_gap_s:
            lines[-1].append(note)
        else:
            lines.append([note])
    return lines


def _play_melodic(
    inst: _Instrument, notes: Sequence[tuple[float, float, float]], rng: np.random.Generator
) -> None:
    """Monophonic notes: legato lines on a wavetable instrument, single notes on a decaying one."""
    if inst.timbre.modal:
        for onset, offset, pitch in notes:
            inst.play(onset, offset - onset, pitch, float(rng.uniform(0.6, 1.0)))
    else:
        for line in _legato_lines(notes):
            inst.line(line, float(rng.uniform(0.6, 1.0)))


# --- the parts -----------------------------------------------------------------------------------


def _harmony(song: _Song, part: Part, rng: np.random.Generator) -> FloatArray:
    inst = _Instrument(_draw_timbre(part.timbre, rng), song.n, rng)
    voicings = _voicings(song, rng)
    legato = float(rng.uniform(0.5, 0.95))
    humanise = float(rng.uniform(0.0, 0.008))

    def voicing_at(t: float) -> tuple[_Chord, list[int]]:
        i = max(0, bisect.bisect_right(song.starts, t + 1e-6) - 1)
        return song.chords[i], voicings[i]

    if part.style in ("block", "organ") and not (
        part.style == "organ" and part.variant == "sustain"
    ):
        rhythm = (
            _BLOCK_RHYTHMS[part.variant]
            if part.style == "block"
            else ((0.5, 0.5), (1.5, 0.5), (2.5, 0.5), (3.5, 0.5))
        )
        for t, length in song.bars(rhythm):
            chord, voicing = voicing_at(t)
            length = min(length * legato, chord.end_s - t)
            accent = float(rng.uniform(0.6, 1.0))
            for pitch in voicing:
                jitter = float(rng.normal(0.0, humanise))
                inst.play(
                    max(0.0, t + jitter), length, pitch, accent * float(rng.uniform(0.85, 1.0))
                )
    elif part.style in ("pad", "organ"):
        for chord, voicing in zip(song.chords, voicings, strict=True):
            for pitch in voicing:
                inst.play(
                    chord.start_s, chord.end_s - chord.start_s, pitch, float(rng.uniform(0.7, 1.0))
                )
    elif part.style == "arpeggio":
        order, rate = part.variant.split("-")
        per_pulse = 4 if rate == "16th" and song.pulse_s >= 0.4 else 2
        ring = int(rng.integers(1, 5))
        step_pos = [i / per_pulse for i in range(4 * per_pulse)]
        for count, (t, step_s) in enumerate(song.bars([(p, 1 / per_pulse) for p in step_pos])):
            _, voicing = voicing_at(t)
            tones = sorted({*voicing, *(p + 12 for p in voicing if p + 12 <= song.high)})[:6]
            i = count % (2 * len(tones) - 2 if len(tones) > 1 else 1)
            if order == "up":
                pitch = tones[count % len(tones)]
            elif order == "down":
                pitch = tones[-1 - count % len(tones)]
            elif order == "updown":
                pitch = tones[i if i < len(tones) else 2 * len(tones) - 2 - i]
            else:
                pitch = _pick(rng, tones)
            accent = 1.0 if count % per_pulse == 0 else 0.75
            inst.play(t, ring * step_s, pitch, accent * float(rng.uniform(0.7, 1.0)))
    elif part.style == "strum":
        stagger = float(rng.uniform(0.008, 0.03))
        strokes = [(i / 2, 0.5) for i, c in enumerate(part.variant) if c != "."]
        kinds = [c for c in part.variant if c != "."]
        times = list(song.bars(strokes))
        for j, (t, _) in enumerate(times):
            chord, voicing = voicing_at(t)
            root = song.low + (chord.root - song.low) % 12
            strings = sorted(
                {root, *voicing, *(p + 12 for p in voicing[:2] if p + 12 <= song.high)}
            )
            down = kinds[j % len(kinds)] == "D"
            if not down:
                strings = strings[::-1][:4]
            until = times[j + 1][0] if j + 1 < len(times) else t + 4 * song.pulse_s
            velocity = float(rng.uniform(0.75, 1.0)) * (1.0 if down else 0.7)
            for s, pitch in enumerate(strings):
                onset = t + s * stagger
                inst.play(
                    onset, max(0.05, until - onset), pitch, velocity * float(rng.uniform(0.8, 1.0))
                )
    else:
        raise ValueError(f"unknown harmony style {part.style!r}")
    return inst.finish()


def _bass(song: _Song, part: Part, rng: np.random.Generator) -> FloatArray:
    inst = _Instrument(_draw_timbre(part.timbre, rng), song.n, rng)
    base = _pick(rng, (28, 31, 33, 36))
    legato = float(rng.uniform(0.85, 0.98) if part.variant == "legato" else rng.uniform(0.45, 0.75))
    previous = base + 7
    pattern = _BASS_PATTERNS[part.style]
    times = list(song.bars([(pos, length) for pos, length, _ in pattern]))
    for j, (t, length) in enumerate(times):
        what = pattern[j % len(pattern)][2]
        chord = song.chord_at(t)
        root = base + (chord.root - base) % 12
        if what == "R":
            pitch = root
        elif what == "5":
            pitch = root + (chord.tones[2] - chord.root) % 12
        elif what == "8":
            pitch = root + 12
        elif what == "W":
            pcs = chord.tones if rng.random() < 0.6 else song.scale
            options = [p for p in range(base, base + 20) if p % 12 in pcs and p != previous]
            pitch = min(options, key=lambda p: abs(p - previous) + 3 * float(rng.random()))
        else:  # approach the next chord's root from a scale step above or below
            nxt = song.chord_at(t + length)
            target = base + (nxt.root - base) % 12
            options = [
                p for p in (target - 2, target - 1, target + 1, target + 2) if p % 12 in song.scale
            ]
            pitch = _pick(rng, options) if options else target
        inst.play(
            t,
            length * legato,
            pitch,
            float(rng.uniform(0.75, 1.0)) * (1.0 if what == "R" else 0.85),
        )
        previous = pitch
    return inst.finish()


def _kit(rng: np.random.Generator) -> dict[str, list[FloatArray]]:
    """Drum sounds with random parameters, three takes of each (fresh noise, slight changes)."""
    sr = SAMPLE_RATE

    def u(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    def time(seconds: float) -> FloatArray:
        return np.arange(int(seconds * sr)) / sr

    def highpass(x: FloatArray, hz: float, order: int = 2) -> FloatArray:
        return np.asarray(sosfilt(butter(order, hz, btype="highpass", fs=sr, output="sos"), x))

    def bandpass(x: FloatArray, lo: float, hi: float) -> FloatArray:
        return np.asarray(sosfilt(butter(2, (lo, hi), btype="bandpass", fs=sr, output="sos"), x))

    def swept(t: FloatArray, f_end: float, f_start: float, sweep_s: float) -> FloatArray:
        freq = f_end + (f_start - f_end) * np.exp(-t / sweep_s)
        return np.sin(2 * np.pi * np.cumsum(freq) / sr)

    def metal(t: FloatArray, freqs: FloatArray) -> FloatArray:
        phases = rng.uniform(0, 1, len(freqs))
        cycles = np.outer(freqs, t) + phases[:, None]
        squares = (cycles - np.floor(cycles) < 0.5).sum(axis=0)  # square waves, summed
        return np.asarray(2.0 * squares / len(freqs) - 1.0, dtype=np.float64)

    kick_p = (u(40, 65), u(90, 200), u(0.015, 0.05), u(0.08, 0.3), u(0.0, 0.3), u(1.0, 4.0))

    def kick() -> FloatArray:
        f_end, f_start, sweep, decay, click, drive = kick_p
        t = time(min(5 * decay, 0.8))
        body = swept(t, f_end, f_start, sweep) * np.exp(-t / (decay * u(0.95, 1.05)))
        body = np.tanh(drive * body) / np.tanh(drive)
        return np.asarray(body + click * rng.standard_normal(len(t)) * np.exp(-t / 0.002))

    snare_p = (u(160, 240), u(1.4, 1.8), u(0.02, 0.06), u(0.06, 0.2), u(0.4, 0.8), u(1500, 4000))

    def snare() -> FloatArray:
        f, ratio, tone_decay, noise_decay, snap, hp = snare_p
        t = time(min(5 * noise_decay, 0.6))
        tone = (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * f * ratio * t)) * np.exp(
            -t / tone_decay
        )
        noise = highpass(rng.standard_normal(len(t)), hp) * np.exp(-t / noise_decay)
        return np.asarray((1 - snap) * tone + snap * 1.5 * noise)

    clap_p = (u(0.008, 0.014), u(0.05, 0.15), u(800, 1500))

    def clap() -> FloatArray:
        spacing, tail, lo = clap_p
        t = time(0.05 + 5 * tail)
        env = np.exp(-np.maximum(t - 3 * spacing, 0) / tail)
        for i in range(3):
            env += np.exp(-np.abs(t - i * spacing) / 0.003) * (t >= i * spacing)
        return bandpass(rng.standard_normal(len(t)), lo, 3 * lo) * env

    rim_p = (u(400, 700), u(0.008, 0.02))

    def rim() -> FloatArray:
        f, decay = rim_p
        t = time(8 * decay)
        return np.asarray(
            (np.sin(2 * np.pi * f * t) + 0.5 * highpass(rng.standard_normal(len(t)), 2000))
            * np.exp(-t / decay)
        )

    hat_freqs = u(250, 500) * np.array(sorted(rng.uniform(1.0, 4.0, 6)))
    hat_p = (u(3000, 6000), u(0.015, 0.05), u(0.12, 0.4), u(0.3, 0.7))
    # the metallic layers are the same in every take (only the noise is new)
    hat_metal = metal(time(1.0), hat_freqs)

    def hat(decay: float) -> FloatArray:
        hp, _, _, tone = hat_p
        t = time(min(6 * decay, 1.0))
        sound = tone * hat_metal[: len(t)] + (1 - tone) * rng.standard_normal(len(t))
        return highpass(sound, hp, 4) * np.exp(-t / (decay * u(0.9, 1.1)))

    ride_freqs = u(300, 700) * np.array(sorted(rng.uniform(1.0, 6.0, 8)))
    ride_p = (u(2000, 4000), u(0.6, 1.5), u(0.2, 0.6), u(1500, 3000), u(0.8, 2.0))
    ride_metal = metal(time(min(3 * ride_p[1], 2.0)), ride_freqs)
    crash_metal = metal(time(min(3 * ride_p[4], 2.5)), ride_freqs * 1.3)

    def ride() -> FloatArray:
        hp, decay, bell, _, _ = ride_p
        t = time(min(3 * decay, 2.0))
        sound = highpass(0.6 * ride_metal + 0.4 * rng.standard_normal(len(t)), hp)
        ping = bell * np.sin(2 * np.pi * ride_freqs[2] * t) * np.exp(-t / 0.3)
        return np.asarray((sound + ping) * np.exp(-t / decay))

    def crash() -> FloatArray:
        _, _, _, hp, decay = ride_p
        t = time(min(3 * decay, 2.5))
        sound = highpass(0.3 * crash_metal + 0.7 * rng.standard_normal(len(t)), hp)
        return sound * np.exp(-t / decay) * np.minimum(1.0, t / 0.002)

    tom_p = (u(70, 120), u(0.02, 0.06), u(0.1, 0.35))

    def tom(ratio: float) -> Callable[[], FloatArray]:
        def make() -> FloatArray:
            f, sweep, decay = tom_p
            t = time(min(5 * decay, 1.0))
            body = swept(t, f * ratio, 1.5 * f * ratio, sweep) * np.exp(-t / decay)
            return np.asarray(body + 0.1 * rng.standard_normal(len(t)) * np.exp(-t / 0.01))

        return make

    closed_decay, open_decay = hat_p[1], hat_p[2]
    makers: dict[str, Callable[[], FloatArray]] = {
        "kick": kick,
        "snare": snare,
        "clap": clap,
        "rim": rim,
        "hat": lambda: hat(closed_decay),
        "open_hat": lambda: hat(open_decay),
        "ride": ride,
        "crash": crash,
        "tom1": tom(1.0),
        "tom2": tom(1.3),
        "tom3": tom(1.7),
    }
    kit = {}
    for name, make in makers.items():
        takes = [make() for _ in range(3)]
        kit[name] = [x / max(float(np.abs(x).max()), 1e-9) for x in takes]
    return kit


def _drums(song: _Song, part: Part, rng: np.random.Generator) -> FloatArray:
    kit = _kit(rng)
    groove = dict(_GROOVES[part.style])
    if part.style in ("rock", "funk", "halftime") and rng.random() < 0.25:
        groove["ride"] = groove.pop("hat")  # the same groove on the ride
    swing = max(song.swing, float(rng.uniform(0.2, 0.33))) if part.style in _SWUNG else song.swing
    gains = {name: g * float(rng.uniform(0.7, 1.3)) for name, g in _DRUM_GAIN.items()}
    humanise = float(rng.uniform(0.0, 0.006))
    fill_every = _pick(rng, (4, 8)) if part.variant == "fills" else 0
    out = np.zeros(song.n)
    bar_s, step_s = 4 * song.pulse_s, song.pulse_s / 4

    def hit(name: str, t: float, velocity: float) -> None:
        v = velocity * float(np.clip(1 + 0.12 * rng.standard_normal(), 0.5, 1.4))
        jitter = float(rng.normal(0.0, humanise))
        _add(
            out,
            int(round(max(0.0, t + jitter) * SAMPLE_RATE)),
            _pick(rng, kit[name]),
            gains[name] * v,
        )

    n_bars = int(np.ceil(song.length_s / bar_s))
    for bar in range(n_bars):
        t0 = bar * bar_s
        fill = fill_every > 0 and bar % fill_every == fill_every - 1
        if bar == 0 or (fill_every > 0 and bar % fill_every == 0 and rng.random() < 0.7):
            hit("crash", t0, 0.9)
        for name, pattern in groove.items():
            for step, mark in enumerate(pattern):
                if mark == "." or (fill and step >= 12 and name != "kick"):
                    continue
                hit(name, t0 + _swung(step / 4, swing) * song.pulse_s, _VELOCITY[mark])
        if fill:
            toms = ("tom3", "tom3", "tom2", "tom1") if rng.random() < 0.7 else ("snare",) * 4
            for i, name in enumerate(toms):
                hit(name, t0 + (12 + i) * step_s, 0.7 + 0.1 * i)
    return out


def _lead_notes(
    song: _Song, part: Part, rng: np.random.Generator
) -> list[tuple[float, float, float]]:
    """A monophonic line in the voice's register that avoids the sung pitch where it overlaps."""
    singer = song.plan.singer
    low, high = singer.low_midi - 2, singer.high_midi + 4
    pulse = song.pulse_s if song.pulse_s >= 0.35 else 2 * song.pulse_s
    notes: list[tuple[float, float, float]] = []
    previous: int | None = None

    def choose(t0: float, t1: float, pcs: Sequence[int]) -> int:
        sung = {n.pitch_midi for n in song.plan.notes if n.onset_s < t1 and n.offset_s > t0}
        options = [p for p in range(low, high + 1) if p % 12 in pcs and p not in sung]
        if not options:
            options = [p for p in range(low, high + 1) if p not in sung]
        if previous is None:
            return _pick(rng, options)
        last = previous
        ranked = sorted(options, key=lambda p: (abs(p - last), p))
        return _pick(rng, ranked[:3], (0.5, 0.3, 0.2)[: len(ranked[:3])])

    if part.style == "long_tones":
        t = 0.0
        while t < song.length_s:
            length = _pick(rng, (2.0, 3.0, 4.0)) * pulse
            chord = song.chord_at(t)
            if chord.end_s - t > 0.5 * pulse:
                length = min(length, chord.end_s - t)
            if rng.random() > 0.15:
                previous = choose(t, t + length, chord.tones)
                notes.append((t, t + length * float(rng.uniform(0.9, 1.0)), previous))
            t += length
    elif part.style == "fills":
        step = pulse / _pick(rng, (1, 2))
        for i in range(int(song.length_s / step)):
            t = i * step
            resting = not any(
                n.onset_s < t + step and n.offset_s > t - 0.1 for n in song.plan.notes
            )
            if rng.random() < (0.8 if resting else 0.12):
                pcs = song.chord_at(t).tones if i % 2 == 0 else song.scale
                previous = choose(t, t + step, pcs)
                notes.append((t, t + step * float(rng.uniform(0.8, 1.0)), previous))
        if len(notes) < 2:  # the voice leaves no room for answers: hold long tones instead
            return _lead_notes(song, replace(part, style="long_tones"), rng)
    elif part.style == "riff":
        slots = sorted(
            {
                0,
                *(
                    int(s)
                    for s in rng.choice(np.arange(1, 8), int(rng.integers(2, 6)), replace=False)
                ),
            }
        )
        degrees = [int(rng.integers(0, 4)) for _ in slots]
        center = int(rng.integers(low + 3, max(low + 4, high - 5)))
        legato = float(rng.uniform(0.5, 0.95))
        bar = 4 * pulse
        for b in range(int(np.ceil(song.length_s / bar))):
            for j, (slot, degree) in enumerate(zip(slots, degrees, strict=True)):
                t = b * bar + _swung(slot / 2, song.swing) * pulse
                end = b * bar + (slots[j + 1] / 2 if j + 1 < len(slots) else 4) * pulse
                chord = song.chord_at(t)
                tones = [p for p in range(center, high + 1) if p % 12 in chord.tones]
                sung = {n.pitch_midi for n in song.plan.notes if n.onset_s < end and n.offset_s > t}
                choices = [p for p in tones if p not in sung] or tones or [center]
                pitch = choices[min(degree, len(choices) - 1)]
                notes.append((t, t + (end - t) * legato, pitch))
    else:
        raise ValueError(f"unknown lead style {part.style!r}")
    return [n for n in notes if n[0] < song.length_s]


def _lead(song: _Song, part: Part, rng: np.random.Generator) -> FloatArray:
    timbre = _draw_timbre(
        part.timbre, rng, vibrato="vibrato" in part.variant, glide="glide" in part.variant
    )
    inst = _Instrument(timbre, song.n, rng)
    _play_melodic(inst, _lead_notes(song, part, rng), rng)
    return inst.finish()


def _double(song: _Song, part: Part, rng: np.random.Generator) -> FloatArray:
    inst = _Instrument(_draw_timbre(part.timbre, rng), song.n, rng)
    shift = -12 if part.variant == "below" else 12
    notes = [(n.onset_s, n.offset_s, float(n.pitch_midi + shift)) for n in song.plan.notes]
    _play_melodic(inst, notes, rng)
    return inst.finish()


_RENDERERS: dict[str, Callable[[_Song, Part, np.random.Generator], FloatArray]] = {
    "harmony": _harmony,
    "bass": _bass,
    "drums": _drums,
    "lead": _lead,
    "double": _double,
}


def _active_rms(x: FloatArray, frame: int = 1024) -> float:
    """RMS over the frames that sound (energy above 1% of the loudest frame's)."""
    usable = len(x) // frame * frame
    if usable == 0:
        return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    energy = np.mean(x[:usable].reshape(-1, frame) ** 2, axis=1)
    loud = energy[energy > 0.01 * energy.max()] if energy.max() > 0 else energy
    return float(np.sqrt(np.mean(loud)))


def _reverb(x: FloatArray, wet: float, rng: np.random.Generator) -> FloatArray:
    rt60 = float(rng.uniform(0.3, 1.2))
    t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    ir = np.asarray(
        sosfilt(butter(1, float(rng.uniform(2000, 6000)), fs=SAMPLE_RATE, output="sos"), ir)
    )
    ir = np.concatenate([np.zeros(int(rng.uniform(0.01, 0.03) * SAMPLE_RATE)), ir])
    tail = fftconvolve(x, ir)[: len(x)]
    tail *= _active_rms(x) / max(_active_rms(tail), 1e-12)
    return np.asarray(x + wet * tail)


def render_parts(plan: SongPlan, band: Band, n: int, rng: np.random.Generator) -> list[FloatArray]:
    """Each part of ``band`` playing ``plan`` alone, ``n`` samples, unit RMS where it sounds."""
    song = _song(plan, band, n, rng)
    tracks = []
    for part in band.parts:
        track = _RENDERERS[part.role](song, part, rng)
        rms = _active_rms(track)
        tracks.append(track / rms if rms > 0 else track)
    return tracks


def render_band(
    plan: SongPlan,
    vocals: npt.NDArray[np.float32],
    rng: np.random.Generator,
    band: Band | None = None,
) -> npt.NDArray[np.float32]:
    """Render a random band (or ``band``) for ``plan``, as long as ``vocals``.

    RMS 0.5x-2x the vocals' RMS (uniform in dB), peak at most 0.95; every random choice comes
    from ``rng``, so the same seed gives the same bytes.
    """
    band = draw_band(plan, rng) if band is None else band
    n = len(vocals)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    mix = np.zeros(n)
    for part, track in zip(band.parts, render_parts(plan, band, n, rng), strict=True):
        mix += 10 ** (part.gain_db / 20) * track
    if band.reverb > 0:
        mix = _reverb(mix, band.reverb, rng)
    sos = np.concatenate(
        [
            butter(6, MAX_PARTIAL_HZ, btype="lowpass", fs=SAMPLE_RATE, output="sos"),
            butter(2, 25.0, btype="highpass", fs=SAMPLE_RATE, output="sos"),
        ]
    )
    mix = np.asarray(sosfilt(sos, mix))
    vocal_rms = float(np.sqrt(np.mean(vocals.astype(np.float64) ** 2))) or 1e-3
    target = vocal_rms * 10 ** (rng.uniform(-6, 6) / 20)
    for _ in range(4):  # level, then hold the peaks down and restore the level
        mix *= target / (float(np.sqrt(np.mean(mix**2))) or 1e-3)
        if float(np.abs(mix).max()) <= PEAK:
            break
        mix = _limit(mix, 0.97 * PEAK)
    peak = float(np.abs(mix).max())
    if peak > PEAK:  # only where the limiter could not hold both (very loud vocals)
        mix *= PEAK / peak
    return mix.astype(np.float32)


def _limit(x: FloatArray, ceiling: float) -> FloatArray:
    """A smooth peak limiter: no sample of the result exceeds ``ceiling``.

    The gain each sample needs is min-filtered over 20 ms, then averaged over 10 ms: every
    average's window lies inside the windows of the minima it averages, so the smoothed gain is
    still at most what each sample needs.
    """
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    half = int(0.01 * SAMPLE_RATE)
    gain = minimum_filter1d(need, 2 * half + 1, mode="nearest")
    gain = uniform_filter1d(gain, half | 1, mode="nearest")
    return np.asarray(x * gain)
