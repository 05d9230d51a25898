"""The band accompaniment (avsvt.synth.band), checked against oracles that do not share its code.

Pitch content is measured from the audio alone: a pitch-class profile from one long FFT, YIN
(avsvt.f0) for monophonic parts, the spectrum below a register for the harmony's range. The plans
come from the melody planner (short songs), the vocals from the voice synthesiser where their
level matters and otherwise stand in as a constant of the right length.
"""

from dataclasses import replace

import numpy as np
import pytest

from avsvt.f0 import yin
from avsvt.synth.band import BAND_STYLES, PEAK, Band, Part, draw_band, render_band
from avsvt.synth.melody import MAJOR, MINOR, PlannedNote, Singer, SongPlan, plan_song
from avsvt.synth.voice import render_vocals

SR = 16_000


def short_plan(seed, duration_s=6.0):
    return plan_song(np.random.default_rng([11, seed]), duration_s)


def stand_in_vocals(duration_s=6.0, level=0.1):
    return np.full(int(duration_s * SR), level, dtype=np.float32)


def only(*parts):
    return Band(tuple(parts), time_factor=1.0, chords_per_bar=1.0, swing=0.0, reverb=0.0)


def level_db(x, reference):
    x, reference = x.astype(np.float64), reference.astype(np.float64)
    return 20 * np.log10(np.sqrt(np.mean(x**2)) / np.sqrt(np.mean(reference**2)))


def chroma(x):
    """Energy per pitch class (0 = C) of the partials between 50 Hz and 5 kHz."""
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    band = (freqs > 50) & (freqs < 5000)
    pitch_class = np.round(69 + 12 * np.log2(freqs[band] / 440)).astype(int) % 12
    profile = np.bincount(pitch_class, weights=power[band], minlength=12)
    return profile / profile.sum()


def sung_pitch(plan, times):
    """The planned melody pitch at each time (NaN where nothing is sung)."""
    pitch = np.full(len(times), np.nan)
    for note in plan.notes:
        pitch[(times >= note.onset_s + 0.05) & (times < note.offset_s - 0.05)] = note.pitch_midi
    return pitch


# --- the contract -------------------------------------------------------------------------------


def test_length_dtype_and_finite_for_any_length():
    plan = short_plan(0, 3.0)
    for seed, n in enumerate([48_000, 47_999, 20_000, 56_123, 1]):  # 56 123: past the plan
        vocals = np.full(n, 0.1, dtype=np.float32)
        out = render_band(plan, vocals, np.random.default_rng(seed))
        assert out.shape == (n,) and out.dtype == np.float32
        assert np.isfinite(out).all()
        if n > 1000:
            assert np.abs(out).max() > 0.01  # it plays
    assert render_band(plan, np.zeros(0, np.float32), np.random.default_rng(0)).shape == (0,)


def test_same_seed_same_bytes_and_other_seeds_differ():
    plan, vocals = short_plan(1, 3.0), stand_in_vocals(3.0)
    first = render_band(plan, vocals, np.random.default_rng(5))
    again = render_band(plan, vocals, np.random.default_rng(5))
    assert first.tobytes() == again.tobytes()
    others = [render_band(plan, vocals, np.random.default_rng(s)).tobytes() for s in (6, 7)]
    assert first.tobytes() not in others and others[0] != others[1]


def test_drawing_the_band_is_the_first_thing_render_does():
    plan, vocals = short_plan(2, 3.0), stand_in_vocals(3.0)
    implicit = render_band(plan, vocals, np.random.default_rng(9))
    rng = np.random.default_rng(9)
    explicit = render_band(plan, vocals, rng, draw_band(plan, rng))
    assert implicit.tobytes() == explicit.tobytes()


def test_level_is_half_to_twice_the_vocals_and_peaks_stay_under_095():
    ratios = []
    for seed in range(2):
        plan = short_plan(seed, 3.0)
        vocals = render_vocals(plan, np.random.default_rng(seed))
        for draw in range(6):
            out = render_band(plan, vocals, np.random.default_rng([seed, draw]))
            assert np.abs(out).max() <= PEAK
            ratios.append(level_db(out, vocals))
    assert min(ratios) >= -6.05 and max(ratios) <= 6.05
    assert max(ratios) - min(ratios) > 6  # the level is drawn, not fixed
    assert min(ratios) < -2 and max(ratios) > 2


def test_loud_vocals_still_give_peaks_under_095():
    plan = short_plan(3, 3.0)
    square = np.sign(np.sin(2 * np.pi * 220 * np.arange(3 * SR) / SR)).astype(np.float32) * 0.9
    for seed in range(2):
        out = render_band(plan, square, np.random.default_rng(seed))
        assert np.abs(out).max() <= PEAK


# --- what gets drawn ----------------------------------------------------------------------------


def test_drawn_bands_have_2_to_5_valid_parts_at_the_intended_rates():
    plan = short_plan(4)
    bands = [draw_band(plan, np.random.default_rng([4, i])) for i in range(1000)]
    seen_styles = set()
    for band in bands:
        assert 2 <= len(band.parts) <= 5
        assert any(p.role in ("harmony", "bass") for p in band.parts)
        for part in band.parts:
            assert part.timbre in BAND_STYLES[part.role][part.style]
            seen_styles.add((part.role, part.style))
            assert part.describe() in band.describe()

    def share(role):
        return np.mean([any(p.role == role for p in b.parts) for b in bands])

    # p = 0.7, 0.35, 0.1 (a little less: a sixth part drops it), 0.85 (more: a lone harmony
    # instrument gets a bass); the bounds are about 3.5 standard deviations of 1000 draws
    assert 0.64 <= share("drums") <= 0.76
    assert 0.29 <= share("lead") <= 0.41
    assert 0.06 <= share("double") <= 0.13
    assert 0.82 <= share("bass") <= 0.91
    assert seen_styles == {(r, s) for r, styles in BAND_STYLES.items() for s in styles}
    assert {b.time_factor for b in bands} == {0.5, 1.0, 2.0}
    assert {b.chords_per_bar for b in bands} == {0.5, 1.0, 2.0}
    assert 0.24 <= np.mean([b.swing > 0 for b in bands]) <= 0.36


def test_renders_vary_in_brightness_and_in_how_they_move():
    plan, vocals = short_plan(5, 3.0), stand_in_vocals(3.0)
    centroids, flux, styles, timbres = [], [], set(), set()
    for seed in range(10):
        rng = np.random.default_rng([5, seed])
        band = draw_band(plan, rng)
        out = render_band(plan, vocals, rng, band).astype(np.float64)
        power = np.abs(np.fft.rfft(out)) ** 2
        centroids.append(np.sum(power * np.fft.rfftfreq(len(out), 1 / SR)) / np.sum(power))
        frames = np.sqrt(np.mean(out[: len(out) // 320 * 320].reshape(-1, 320) ** 2, axis=1))
        flux.append(np.std(frames) / np.mean(frames))  # flat pads low, drums and plucks high
        styles |= {p.style for p in band.parts}
        timbres |= {p.timbre for p in band.parts}
    assert len(styles) >= 10 and len(timbres) >= 8
    assert max(centroids) / min(centroids) > 2.0
    assert max(flux) / min(flux) > 2.0


# --- the music is in the right place ------------------------------------------------------------


@pytest.mark.parametrize("minor", [False, True])
def test_drumless_bands_concentrate_on_the_keys_scale_degrees(minor):
    plans = [p for p in (short_plan(seed, 4.0) for seed in range(40)) if p.minor == minor][:8]
    assert len(plans) == 8 and len({p.key_midi for p in plans}) >= 4
    degrees = set(MINOR if minor else MAJOR)
    heard = degrees | ({11} if minor else set())  # harmonic minor's dominant: the leading tone
    pooled = np.zeros(12)
    for i, plan in enumerate(plans):
        rng = np.random.default_rng([6, i])
        band = draw_band(plan, rng)
        band = replace(band, parts=tuple(p for p in band.parts if p.role != "drums"))
        relative = np.roll(
            chroma(render_band(plan, stand_in_vocals(4.0), rng, band)), -plan.key_midi
        )
        pooled += relative / len(plans)
        fit = [sum(relative[(d + shift) % 12] for d in heard) for shift in range(12)]
        assert fit[0] >= 0.75  # random pitches would give 7/12 (8/12)
        assert fit[0] >= max(fit[1], fit[11]) + 0.05  # not the scales a semitone away
    # over the songs (chords from every degree), each degree of the key outweighs each other
    # pitch class; the leading tone of minor counts as neither
    others = set(range(12)) - heard
    assert min(pooled[d] for d in degrees) > 2 * max(pooled[d] for d in others)


@pytest.mark.parametrize(
    "part",
    [
        Part("bass", "walking", "legato", "sine_bass", 0.0),
        Part("lead", "fills", "plain", "flute", 0.0),
    ],
    ids=["walking_bass", "lead_fills"],
)
def test_passing_tones_are_in_the_key_too(part):
    for seed in range(3):
        plan = short_plan(seed, 4.0)
        heard = set(MINOR if plan.minor else MAJOR) | ({11} if plan.minor else set())
        out = render_band(plan, stand_in_vocals(4.0), np.random.default_rng(seed), only(part))
        relative = np.roll(chroma(out), -plan.key_midi)
        fit = [sum(relative[(d + shift) % 12] for d in heard) for shift in range(12)]
        assert fit[0] >= 0.8 and fit[0] >= max(fit[1], fit[11]) + 0.1


def test_harmony_stays_above_the_singers_low_range_minus_an_octave():
    for seed in range(2):
        plan = short_plan(seed, 3.0)
        # two semitones under the lowest note allowed (low_midi - 12): leakage of short notes
        floor_hz = 440 * 2 ** ((plan.singer.low_midi - 14 - 69) / 12)
        for style in ("block", "arpeggio", "strum", "pad", "organ"):
            timbre = BAND_STYLES["harmony"][style][seed % len(BAND_STYLES["harmony"][style])]
            part = Part("harmony", style, _variant(style), timbre, 0.0)
            out = render_band(plan, stand_in_vocals(3.0), np.random.default_rng(seed), only(part))
            power = np.abs(np.fft.rfft(out.astype(np.float64))) ** 2
            freqs = np.fft.rfftfreq(len(out), 1 / SR)
            assert power[freqs < floor_hz].sum() / power.sum() < 0.01, (style, timbre)


def _variant(style):
    return {"block": "half", "arpeggio": "up-8th", "strum": "D.DU.UDU", "organ": "chop"}.get(
        style, "sustain"
    )


@pytest.mark.parametrize("style", sorted(BAND_STYLES["lead"]))
def test_a_forced_lead_lies_in_the_voice_register_and_is_not_the_melody(style):
    for seed in range(3):
        plan = short_plan(seed)
        part = Part("lead", style, "vibrato+glide", "flute", 0.0)
        out = render_band(plan, stand_in_vocals(), np.random.default_rng([7, seed]), only(part))
        track = yin(out)
        midi = track.midi()
        voiced = np.isfinite(midi)
        assert voiced.mean() > 0.1
        low, high = plan.singer.low_midi - 3, plan.singer.high_midi + 5
        assert np.mean((midi[voiced] >= low) & (midi[voiced] <= high)) >= 0.9
        sung = sung_pitch(plan, np.arange(len(midi)) / track.fps)
        both = voiced & np.isfinite(sung)
        if both.sum() > 20:
            assert np.mean(np.abs(midi[both] - sung[both]) < 0.5) < 0.1


@pytest.mark.parametrize(("variant", "shift"), [("below", -12), ("above", 12)])
def test_the_doubling_plays_the_melody_an_octave_away(variant, shift):
    plan = short_plan(8)
    part = Part("double", "octave", variant, "flute", 0.0)
    out = render_band(plan, stand_in_vocals(), np.random.default_rng(8), only(part))
    track = yin(out, fmin_hz=40.0)
    midi = track.midi()
    sung = sung_pitch(plan, np.arange(len(midi)) / track.fps)
    both = np.isfinite(midi) & np.isfinite(sung)
    assert both.sum() > 100
    assert np.mean(np.abs(midi[both] - (sung[both] + shift)) < 0.6) >= 0.8


def test_bass_plays_low_on_the_chord_roots():
    plan = SongPlan(
        6.0,
        120.0,
        7,  # G major: one bar of G (b d g sung), one of C (c e g), ...
        False,
        tuple(
            PlannedNote(
                bar * 2.0 + 0.1 + 0.5 * i, bar * 2.0 + 0.5 + 0.5 * i, pitch, "", "a", False, 0
            )
            for bar, chord in enumerate([(59, 62, 67), (60, 64, 67), (59, 62, 67)])
            for i, pitch in enumerate(chord)
        ),
        Singer(
            low_midi=55,
            high_midi=70,
            formant_scale=1.1,
            tilt=1.3,
            breathiness=0.05,
            vibrato_hz=5.5,
            vibrato_cents=30.0,
            jitter=0.004,
            shimmer=0.05,
        ),
    )
    part = Part("bass", "root", "legato", "sine_bass", 0.0)
    out = render_band(plan, stand_in_vocals(), np.random.default_rng(0), only(part))
    track = yin(out, fmin_hz=40.0)
    midi = track.midi()
    times = np.arange(len(midi)) / track.fps
    for bar, root_pc in enumerate([7, 0, 7]):
        inside = (times > bar * 2.0 + 0.1) & (times < bar * 2.0 + 1.9) & np.isfinite(midi)
        assert inside.sum() > 50
        assert np.all(midi[inside] < 56)
        assert np.mean(np.round(midi[inside]) % 12 == root_pc) >= 0.9
