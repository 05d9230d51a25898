"""``DataConfig.tails``: fading note ends with a drooping pitch, measured on the rendered audio."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from avsvt.f0 import yin
from avsvt.pitchnet.data import vary_plan
from avsvt.synth.melody import PlannedNote, Singer, SongPlan, plan_song
from avsvt.synth.voice import render_vocals_with_f0

SINGER = Singer(
    low_midi=45,
    high_midi=65,
    formant_scale=1.0,
    tilt=1.2,
    breathiness=0.0,
    vibrato_hz=5.0,
    vibrato_cents=0.0,
    jitter=0.002,
    shimmer=0.02,
)
ONSET_S, OFFSET_S, PITCH = 0.3, 1.5, 57


def _plan(singer: Singer, *, legato_next: bool = False) -> SongPlan:
    notes = [PlannedNote(ONSET_S, OFFSET_S, PITCH, "", "a", False, 0)]
    if legato_next:
        notes.append(PlannedNote(OFFSET_S, OFFSET_S + 0.6, PITCH + 2, "", "a", True, 0))
    return SongPlan(2.5, 100.0, 0, False, tuple(notes), singer)


def _level_db(audio: np.ndarray, start_s: float, end_s: float) -> float:
    piece = audio[int(start_s * 16000) : int(end_s * 16000)].astype(np.float64)
    return float(10 * np.log10(np.mean(piece**2) + 1e-20))


def _yin_midi(audio: np.ndarray, start_s: float, end_s: float) -> float:
    track = yin(audio)
    f0 = track.f0_hz[int(start_s * 100) : int(end_s * 100)]
    return float(np.median(69 + 12 * np.log2(f0[f0 > 0] / 440.0)))


@pytest.mark.parametrize("seed", range(3))
def test_a_fading_note_gets_quieter_and_droops_but_sounds_to_its_offset(seed: int) -> None:
    plain = render_vocals_with_f0(_plan(SINGER), np.random.default_rng(seed)).audio
    tailed_singer = dataclasses.replace(SINGER, fade_p=1.0, fall_cents=150.0)
    tailed = render_vocals_with_f0(_plan(tailed_singer), np.random.default_rng(seed)).audio
    middle, end = (0.7, 1.0), (OFFSET_S - 0.08, OFFSET_S - 0.035)
    # plain: the note holds its level until the 30-ms release; tailed: at least 6 dB down
    assert _level_db(plain, *end) - _level_db(plain, *middle) > -3.0
    drop_db = _level_db(tailed, *middle) - _level_db(tailed, *end)
    assert 4.0 < drop_db < 25.0
    # still sounding (well above the silence after the offset)
    assert _level_db(tailed, *end) - _level_db(tailed, OFFSET_S + 0.2, OFFSET_S + 0.4) > 20.0
    # YIN's pitch: steady in the middle, never above the note at the end
    assert abs(_yin_midi(tailed, *middle) - PITCH) < 0.2
    assert _yin_midi(tailed, OFFSET_S - 0.05, OFFSET_S - 0.03) < PITCH + 0.1


def test_a_note_sung_legato_into_the_next_never_fades() -> None:
    singer = dataclasses.replace(SINGER, fade_p=1.0, fall_cents=150.0)
    out = render_vocals_with_f0(_plan(singer, legato_next=True), np.random.default_rng(0)).audio
    before = _level_db(out, OFFSET_S - 0.3, OFFSET_S - 0.02)
    assert before - _level_db(out, 0.7, 1.0) > -3.0


def test_tails_add_the_note_end_draws_and_leave_the_singer_otherwise_the_same() -> None:
    # the note-end draws come after every other singer draw
    rng_a, rng_b = np.random.default_rng([3, 7]), np.random.default_rng([3, 7])
    plan = plan_song(rng_a, 4.0)
    plan_song(rng_b, 4.0)
    off = vary_plan(plan, rng_a)
    on = vary_plan(plan, rng_b, tails=True)
    assert off.singer.fade_p == 0.0 and off.singer.fall_cents == 0.0
    assert 0.3 <= on.singer.fade_p <= 0.9
    assert dataclasses.replace(on.singer, fade_p=0.0, fall_cents=0.0) == off.singer
