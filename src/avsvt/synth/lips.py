"""Lip videos from a song plan: 96x96 grayscale mouth crops at 50 fps that follow the articulation.

The mouth opens on vowels (by vowel: a widest, i and u narrowest; o and u rounded), closes fully on
bilabials (p, b, m), partly on other consonants, relaxes in rests, and stays put through a melisma,
so new syllables give timing cues and melismas none; nothing depends on pitch. Each singer has their
own skin tone, lip shade, mouth size and texture; the head moves a little, the light drifts, and
every frame gets blur and sensor noise. The whole video is shifted by a small per-song audio/video
offset (up to 20 ms), as real recordings are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter, gaussian_filter1d

from avsvt.constants import VIDEO_FPS, VIDEO_ROI_SIDE
from avsvt.synth.melody import BILABIALS, CONSONANTS, SongPlan, breaths

FloatArray = npt.NDArray[np.float64]
CONTROL_FPS = 200.0
OPENNESS = {"a": 1.0, "e": 0.65, "i": 0.42, "o": 0.75, "u": 0.38}
ROUNDING = {"a": 0.0, "e": 0.0, "i": 0.0, "o": 0.55, "u": 0.9}
REST_OPENNESS = 0.06
LIP_CONSONANTS = BILABIALS | {"f"}  # made by the lips (f: lower lip on the teeth)


@dataclass(frozen=True)
class ArticulationStyle:
    """How one singer moves their mouth; the defaults are the drawn crops' fixed style.

    Attributes:
        rest_openness: Mouth opening in rests (0 closed .. 1 wide).
        smoothing_s: Time constant of the lips' movement (s.d. of a Gaussian, s).
        obstruent_openness: Opening held through a non-bilabial plosive or fricative.
        sonorant_openness: Opening at a non-bilabial nasal or liquid.
        vowel_narrowing: A vowel onset without consonant narrows the mouth by this factor.
        syllable_openness_sd: Each syllable's vowel opens ``exp(N(0, sd))`` times its usual
            width (stress and loudness), drawn from the generator given to :func:`articulation`.
        breath_openness: The mouth opens to this in an in-breath
            (:func:`avsvt.synth.melody.breaths`); at most the rest opening means it stays put.
        weak_onset_max: Each syllable that does not start on a consonant made by the lips (p,
            b, m, f) narrows the mouth less than the style says, by a fraction drawn from
            ``U(0, weak_onset_max)`` with the generator given to :func:`articulation`: 0 narrows
            it fully, 1 leaves it at the vowel's opening (a syllable the lips do not show, as
            /t/, /k/ or /l/ between two open vowels in speech).
    """

    rest_openness: float = REST_OPENNESS
    smoothing_s: float = 0.02
    obstruent_openness: float = 0.12
    sonorant_openness: float = 0.15
    vowel_narrowing: float = 0.35
    syllable_openness_sd: float = 0.0
    breath_openness: float = 0.0
    weak_onset_max: float = 0.0


FIXED_STYLE = ArticulationStyle()
"""The drawn crops' style, and the rendered faces' unless their articulation is varied."""


def draw_articulation_style(rng: np.random.Generator) -> ArticulationStyle:
    """A random singer's articulation: how far, how fast and how much they move their lips.

    Singers and speakers differ in all of these: some rest with their lips apart, some move
    slowly or barely close for a consonant, some stress syllables unevenly, and most breathe in
    through an open mouth before a phrase. Each range spans the fixed style of the drawn crops.
    """
    return ArticulationStyle(
        rest_openness=float(rng.uniform(0.0, 0.2)),
        smoothing_s=float(rng.uniform(0.015, 0.045)),
        obstruent_openness=float(rng.uniform(0.05, 0.3)),
        sonorant_openness=float(rng.uniform(0.08, 0.35)),
        vowel_narrowing=float(rng.uniform(0.2, 0.7)),
        syllable_openness_sd=float(rng.uniform(0.05, 0.25)),
        breath_openness=float(rng.uniform(0.1, 0.6)),
    )


def _weakened(narrowed: float, unnarrowed: float, weak: float) -> float:
    """A syllable onset's narrowing moved ``weak`` (0..1) of the way back to no narrowing."""
    return narrowed + weak * (unnarrowed - narrowed)


def articulation(
    plan: SongPlan,
    n_control: int,
    style: ArticulationStyle = FIXED_STYLE,
    rng: np.random.Generator | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Mouth opening (0 closed .. 1 wide) and lip rounding (0..1) at 200 frames/s.

    ``rng`` draws each syllable's opening when ``style.syllable_openness_sd`` is above 0, then
    how weakly each syllable's onset narrows the mouth when ``style.weak_onset_max`` is.
    """
    opening = np.full(n_control, style.rest_openness)
    rounding = np.zeros(n_control)

    def span(start_s: float, end_s: float) -> slice:
        return slice(max(0, int(round(start_s * CONTROL_FPS))), int(round(end_s * CONTROL_FPS)))

    if style.breath_openness > style.rest_openness:
        for breath in breaths(plan):
            where = span(breath.end_s - breath.length_s, breath.end_s)
            n = len(opening[where])
            opening[where] = (
                style.rest_openness
                + (style.breath_openness - style.rest_openness) * np.hanning(n + 2)[1:-1]
            )
    if style.syllable_openness_sd > 0:
        if rng is None:
            raise ValueError("a style with syllable_openness_sd > 0 needs a generator")
        scale = np.exp(style.syllable_openness_sd * rng.standard_normal(len(plan.notes)))
    else:
        scale = np.ones(len(plan.notes))
    if style.weak_onset_max > 0:
        if rng is None:
            raise ValueError("a style with weak_onset_max > 0 needs a generator")
        weakness = rng.uniform(0.0, style.weak_onset_max, len(plan.notes))
    else:
        weakness = np.zeros(len(plan.notes))
    syllable_scale = 1.0
    for note, note_scale, weak in zip(plan.notes, scale, weakness, strict=True):
        kind, unvoiced_s = CONSONANTS[note.consonant]
        if note.consonant in LIP_CONSONANTS:
            weak = 0.0  # lips that make the consonant always show it
        if not note.melisma:  # a melisma keeps its syllable's opening
            syllable_scale = float(note_scale)
        voiced = span(note.onset_s, note.offset_s)
        vowel_openness = min(1.1, OPENNESS[note.vowel] * syllable_scale)
        opening[voiced] = vowel_openness
        rounding[voiced] = ROUNDING[note.vowel]
        if note.melisma:
            continue
        if note.consonant in BILABIALS:
            closure = (unvoiced_s if kind == "plosive" else 0.0) + (
                0.03 if kind == "nasal" else 0.0
            )
            opening[span(note.onset_s - unvoiced_s - 0.03, note.onset_s - unvoiced_s + closure)] = (
                0.0
            )
        elif kind in ("plosive", "fricative"):
            narrow = _weakened(style.obstruent_openness, vowel_openness, weak)
            opening[span(note.onset_s - unvoiced_s - 0.02, note.onset_s)] = narrow
        elif kind in ("nasal", "liquid"):
            narrow = _weakened(style.sonorant_openness, vowel_openness, weak)
            opening[span(note.onset_s - 0.02, note.onset_s + 0.03)] = narrow
        else:  # a vowel onset without consonant: a brief narrowing
            factor = _weakened(style.vowel_narrowing, 1.0, weak)
            opening[span(note.onset_s - 0.05, note.onset_s)] *= factor
    # lips move smoothly, both directions
    sigma = style.smoothing_s * CONTROL_FPS
    return gaussian_filter1d(opening, sigma), gaussian_filter1d(rounding, sigma)


def smooth_walk(rng: np.random.Generator, n: int, scale: float, smooth_frames: float) -> FloatArray:
    """A slow random walk of ``n`` frames, smoothed over ``smooth_frames``, peak ``scale``."""
    walk = gaussian_filter1d(rng.standard_normal(n), smooth_frames)
    return np.asarray(scale * walk / max(np.abs(walk).max(), 1e-9), dtype=np.float64)


def render_lips(plan: SongPlan, n_frames: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """Render (n_frames, 96, 96) uint8 mouth crops at 50 fps for a plan."""
    side = VIDEO_ROI_SIDE
    offset_s = float(rng.uniform(-0.02, 0.02))
    n_control = int(plan.duration_s * CONTROL_FPS) + 4
    opening_c, rounding_c = articulation(plan, n_control)
    control_t = np.arange(n_control) / CONTROL_FPS
    frame_t = np.arange(n_frames) / VIDEO_FPS + offset_s
    opening = np.interp(frame_t, control_t, opening_c) + 0.02 * rng.standard_normal(n_frames)
    rounding = np.interp(frame_t, control_t, rounding_c)
    # singer appearance
    skin = float(rng.uniform(105, 190))
    lip_shade = skin * float(rng.uniform(0.6, 0.8))
    width0 = float(rng.uniform(46, 58))
    height_max = float(rng.uniform(22, 30))
    lip_thickness = float(rng.uniform(4, 7))
    texture = gaussian_filter(rng.standard_normal((side, side)), 3) * float(rng.uniform(4, 10))
    # head motion and light, smooth over time
    dx = smooth_walk(rng, n_frames, 3.0, 25)
    dy = smooth_walk(rng, n_frames, 3.0, 25) + 4
    angle = smooth_walk(rng, n_frames, np.deg2rad(4), 40)
    scale = 1 + smooth_walk(rng, n_frames, 0.04, 40)
    light = 1 + smooth_walk(rng, n_frames, 0.15, 60)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) - side / 2
    frames = np.empty((n_frames, side, side), dtype=np.uint8)
    blur = float(rng.uniform(0.5, 1.1))
    noise_sd = float(rng.uniform(1.5, 4.0))
    for start in range(0, n_frames, 256):  # chunks keep memory flat on long songs
        k = slice(start, min(n_frames, start + 256))
        c, s = np.cos(angle[k])[:, None, None], np.sin(angle[k])[:, None, None]
        x = ((xx - dx[k, None, None]) * c + (yy - dy[k, None, None]) * s) / scale[k, None, None]
        y = (-(xx - dx[k, None, None]) * s + (yy - dy[k, None, None]) * c) / scale[k, None, None]
        half_w = (width0 * (1 - 0.35 * rounding[k]) / 2)[:, None, None]
        half_h = ((1.5 + np.clip(opening[k], 0, 1.1) * height_max) / 2)[:, None, None]
        outer = (x / half_w) ** 2 + (y / (half_h + lip_thickness)) ** 2 <= 1
        inner = ((x / np.maximum(half_w - 3, 1)) ** 2 + (y / half_h) ** 2 <= 1) & (half_h > 2.2)
        teeth = inner & (y < -half_h + 3) & (half_h > 4)
        image = np.where(outer, lip_shade, skin + texture[None] + 0.15 * y)
        image = np.where(inner, 0.2 * skin, image)
        image = np.where(teeth, 200.0, image)
        image = image * light[k, None, None]
        image = gaussian_filter(image, (0, blur, blur)) + noise_sd * rng.standard_normal(
            image.shape
        )
        frames[k] = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return frames
