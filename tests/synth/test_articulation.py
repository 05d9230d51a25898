"""How the generated singers move their lips (avsvt.synth.lips.articulation) and breathe
(avsvt.synth.melody.breaths).

Oracles by construction: hand-written plans whose rests, consonants and vowels say where the
mouth must be open, closed or at rest, and at what times a breath must fall.
"""

import dataclasses

import numpy as np
import pytest

from avsvt.constants import SAMPLE_RATE
from avsvt.synth.lips import (
    CONTROL_FPS,
    OPENNESS,
    REST_OPENNESS,
    ArticulationStyle,
    articulation,
    draw_articulation_style,
)
from avsvt.synth.melody import PlannedNote, SongPlan, breaths, make_singer
from avsvt.synth.voice import render_vocals


def note(onset_s, offset_s, consonant="", vowel="a", melisma=False):
    return PlannedNote(onset_s, offset_s, 60, consonant, vowel, melisma, 0)


def plan_of(*notes, duration_s=4.0):
    singer = make_singer(np.random.default_rng(0))
    return SongPlan(duration_s, 100.0, 0, False, tuple(notes), singer)


def at(curve, time_s):
    return float(curve[int(round(time_s * CONTROL_FPS))])


def test_a_breath_falls_in_every_long_rest_and_ends_before_the_consonant():
    plan = plan_of(
        note(1.0, 1.5, "p"),  # rest of 1 s from the start: a breath
        note(1.8, 2.2, "l"),  # rest of 0.3 s: too short
        note(3.0, 3.5, "s"),  # rest of 0.8 s: a breath
    )
    found = breaths(plan)
    assert [b.before_note for b in found] == [0, 2]
    # 0.06 s of the "p" and 0.09 s of the "s" are unvoiced; a breath ends 80 ms before them
    assert found[0].end_s == pytest.approx(1.0 - 0.06 - 0.08)
    assert found[1].end_s == pytest.approx(3.0 - 0.09 - 0.08)
    assert all(b.length_s == pytest.approx(0.35) for b in found)


def test_a_rest_with_too_little_room_has_no_breath():
    # 0.4 s of rest before an "s": 0.4 - 0.15 - 0.09 = 0.16 s would fit; 0.36 s before a vowel
    # leaves 0.21 s; a rest of 0.2 s before anything: no breath at all
    plan = plan_of(note(0.4, 1.0, "s"), note(1.2, 1.6), duration_s=2.0)
    assert [b.before_note for b in breaths(plan)] == [0]
    assert breaths(plan)[0].length_s == pytest.approx(0.4 - 0.15 - 0.09)


def test_the_voice_breathes_where_the_plan_says():
    """The rendered vocals carry noise in each breath's span and none well before it."""
    plan = plan_of(note(1.2, 1.8, "l"), duration_s=2.2)
    (breath,) = breaths(plan)
    vocals = render_vocals(plan, np.random.default_rng(1)).astype(np.float64)

    def rms(start_s, end_s):
        return float(
            np.sqrt(np.mean(vocals[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)] ** 2))
        )

    middle_s = breath.end_s - breath.length_s / 2
    assert rms(middle_s - 0.05, middle_s + 0.05) > 10 * rms(0.05, 0.25)


def test_the_default_style_rests_at_the_rest_opening_and_ignores_breaths():
    plan = plan_of(note(1.0, 1.5, "l"), duration_s=2.0)
    opening, _ = articulation(plan, int(2.0 * CONTROL_FPS))
    (breath,) = breaths(plan)
    assert at(opening, breath.end_s - breath.length_s / 2) == pytest.approx(REST_OPENNESS)
    assert at(opening, 1.25) == pytest.approx(OPENNESS["a"])


def test_an_open_mouthed_breath_opens_the_mouth_and_closes_it_before_the_syllable():
    plan = plan_of(note(1.0, 1.5, "b"), duration_s=2.0)
    style = ArticulationStyle(rest_openness=0.0, breath_openness=0.5)
    opening, _ = articulation(plan, int(2.0 * CONTROL_FPS), style)
    (breath,) = breaths(plan)
    assert at(opening, breath.end_s - breath.length_s / 2) == pytest.approx(0.5, abs=0.03)
    assert at(opening, 0.2) == pytest.approx(0.0, abs=1e-6)
    # the "b" closes the lips after the breath and before the voiced vowel
    assert at(opening, 1.0 - 0.04) < 0.05
    assert at(opening, 1.25) == pytest.approx(OPENNESS["a"])


def test_a_rest_opening_holds_between_phrases():
    plan = plan_of(note(0.2, 0.6, "l"), note(1.6, 2.0, "l"), duration_s=2.4)
    opening, _ = articulation(plan, int(2.4 * CONTROL_FPS), ArticulationStyle(rest_openness=0.18))
    assert at(opening, 0.9) == pytest.approx(0.18)


def test_each_syllable_opens_its_own_way_and_a_melisma_keeps_it():
    plan = plan_of(
        note(0.2, 0.6, "l", "e"),
        note(0.6, 1.0, "", "e", melisma=True),
        note(1.3, 1.7, "l", "e"),
        note(2.0, 2.4, "l", "e"),
        duration_s=2.8,
    )
    style = ArticulationStyle(syllable_openness_sd=0.15)
    opening, _ = articulation(plan, int(2.8 * CONTROL_FPS), style, np.random.default_rng(4))
    syllables = [at(opening, t) for t in (0.4, 1.5, 2.2)]
    assert len({round(s, 6) for s in syllables}) == 3  # three syllables, three openings
    assert at(opening, 0.85) == pytest.approx(syllables[0])  # the melisma holds the first
    again, _ = articulation(plan, int(2.8 * CONTROL_FPS), style, np.random.default_rng(4))
    assert np.array_equal(opening, again)
    with pytest.raises(ValueError, match="generator"):
        articulation(plan, int(2.8 * CONTROL_FPS), style)


def rise_time_s(opening):
    """10-90 % rise time of the first opening of a closed mouth."""
    low, high = opening.min(), opening.max()
    above_10 = np.flatnonzero(opening > low + 0.1 * (high - low))[0]
    above_90 = np.flatnonzero(opening > low + 0.9 * (high - low))[0]
    return (above_90 - above_10) / CONTROL_FPS


def test_slower_lips_take_longer_to_open():
    plan = plan_of(note(0.5, 1.5, "b"), duration_s=2.0)
    fast, _ = articulation(plan, 400, ArticulationStyle(smoothing_s=0.015))
    slow, _ = articulation(plan, 400, ArticulationStyle(smoothing_s=0.045))
    # a Gaussian-smoothed step rises 10-90 % in 2.56 sigma
    assert rise_time_s(fast) == pytest.approx(2.56 * 0.015, abs=0.01)
    assert rise_time_s(slow) == pytest.approx(2.56 * 0.045, abs=0.01)


def test_drawn_styles_vary_around_the_fixed_one():
    styles = [draw_articulation_style(np.random.default_rng(s)) for s in range(200)]
    fixed = ArticulationStyle()
    for field in dataclasses.fields(ArticulationStyle):
        if field.name == "weak_onset_max":  # not a singer's trait: corpus.lips faces-weak's
            assert all(s.weak_onset_max == 0 for s in styles)
            continue
        values = np.array([getattr(s, field.name) for s in styles])
        assert values.std() > 0, field.name
        if field.name not in ("syllable_openness_sd", "breath_openness"):
            default = getattr(fixed, field.name)
            assert values.min() < default < values.max(), field.name
    assert all(s.breath_openness > 0 for s in styles)


def consonant_dips(consonant_cycle, n=24, weak_onset_max=0.0, seed=0):
    """The least opening before each syllable of ``n`` joined /a/ syllables of 0.3 s, whose
    consonants cycle through ``consonant_cycle``; nearly unsmoothed lips."""
    consonants = [consonant_cycle[i % len(consonant_cycle)] for i in range(n)]
    notes = [note(0.3 + 0.3 * i, 0.6 + 0.3 * i, c) for i, c in enumerate(consonants)]
    duration_s = 0.3 * n + 0.6
    style = ArticulationStyle(smoothing_s=0.001, weak_onset_max=weak_onset_max)
    rng = np.random.default_rng(seed) if weak_onset_max > 0 else None
    opening, _ = articulation(
        plan_of(*notes, duration_s=duration_s), int(duration_s * CONTROL_FPS), style, rng
    )
    dips = {}
    for i, c in enumerate(consonants[1:], start=1):  # after a vowel, not after the first rest
        onset_s = 0.3 + 0.3 * i
        window = opening[
            int(round((onset_s - 0.1) * CONTROL_FPS)) : int(round(onset_s * CONTROL_FPS))
        ]
        dips.setdefault(c, []).append(float(window.min()))
    return dips


def test_a_full_style_narrows_every_consonant_as_far_as_it_says():
    style = ArticulationStyle()
    dips = consonant_dips("tpfl")
    assert dips["t"] == pytest.approx([style.obstruent_openness] * len(dips["t"]), abs=1e-3)
    assert dips["f"] == pytest.approx([style.obstruent_openness] * len(dips["f"]), abs=1e-3)
    assert dips["l"] == pytest.approx([style.sonorant_openness] * len(dips["l"]), abs=1e-3)
    assert max(dips["p"]) < 1e-3


def test_weak_onsets_narrow_some_syllables_little_or_not_at_all_but_lips_still_close():
    style = ArticulationStyle()
    dips = consonant_dips("tpfl", n=120, weak_onset_max=1.0)
    for kind, full in (("t", style.obstruent_openness), ("l", style.sonorant_openness)):
        values = np.array(dips[kind])
        # between the full narrowing and the vowel's own opening (/a/: 1.0), spread over it
        assert values.min() >= full - 1e-3 and values.max() <= OPENNESS["a"] + 1e-3, kind
        assert (values < full + 0.2).any() and (values > OPENNESS["a"] - 0.2).any(), kind
    # the lips' own consonants are always shown: p closes, f narrows fully
    assert max(dips["p"]) < 1e-3
    assert dips["f"] == pytest.approx([style.obstruent_openness] * len(dips["f"]), abs=1e-3)
    # a vowel onset's narrowing weakens too, and the same generator gives the same lips
    vowel = np.array(consonant_dips([""], n=60, weak_onset_max=1.0)[""])
    assert vowel.min() < style.vowel_narrowing * OPENNESS["a"] + 0.1 < vowel.max()
    assert consonant_dips("tl", weak_onset_max=1.0, seed=3) == consonant_dips(
        "tl", weak_onset_max=1.0, seed=3
    )
    with pytest.raises(ValueError, match="generator"):
        articulation(plan_of(note(0.3, 0.6, "t")), 800, ArticulationStyle(weak_onset_max=0.5))
