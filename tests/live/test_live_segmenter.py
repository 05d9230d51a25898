"""The live segmentation against the offline one (:func:`avsvt.f0notes.f0_notes`, the oracle).

f0 tracks drawn at random (steady notes, jitter, glides, one-frame glitches, rests) under
random settings, fed in random pieces: the note-offs must be the offline notes, bit for bit.
"""

import numpy as np
import pytest

from avsvt.f0 import F0Track
from avsvt.f0notes import F0NoteSettings, RunCutter, f0_notes
from avsvt.live.segmenter import LiveSegmenter

FPS = 100.0


def random_track(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """Hz per frame: pieces of rest, steady jittered pitch, glides and glitches."""
    hz = np.zeros(n_frames)
    position = 0
    while position < n_frames:
        length = int(rng.integers(1, 40))
        kind = rng.random()
        base = rng.uniform(-12, 12)
        if kind < 0.2:
            piece = np.zeros(length)
        elif kind < 0.45:
            piece = 440 * 2 ** ((base + np.linspace(0, rng.uniform(-3, 3), length)) / 12)  # glide
        else:
            piece = 440 * 2 ** ((base + rng.normal(0, rng.uniform(0.02, 1.0), length)) / 12)
        hz[position : position + length] = piece[: n_frames - position]
        position += length
    return hz


def random_settings(rng: np.random.Generator) -> F0NoteSettings:
    return F0NoteSettings(
        median_frames=int(rng.choice([1, 3, 5, 9])),
        split_semitones=float(rng.choice([0.3, 0.7, 1.5])),
        hold_frames=int(rng.integers(1, 10)),
        reference_frames=int(rng.choice([3, 10, 1000])),
        min_note_s=float(rng.choice([0.0, 0.03, 0.08, 0.2])),
        pitch_skip_s=float(rng.choice([0.0, 0.02])),
        onset_shift_s=float(rng.choice([0.0, -0.03, 0.02])),
    )


def feed(segmenter: LiveSegmenter, hz: np.ndarray, rng: np.random.Generator, most: int = 30):
    events, position = [], 0
    while position < len(hz):
        size = int(rng.integers(1, most))
        events += segmenter.push(hz[position : position + size], time_s=position / FPS)
        position += size
    return events + segmenter.close(time_s=len(hz) / FPS)


def check_pairs(events) -> None:
    """Early mode: each note-on is closed once, by its note-off or its note-cancel."""
    sounding: list[float] = []
    for event in events:
        if event.kind == "note_on":
            sounding.append(event.onset_s)
        else:
            assert event.onset_s in sounding, event
            sounding.remove(event.onset_s)
    assert not sounding
    stamps = [e.time_s for e in events]
    assert stamps == sorted(stamps)


def check_order(events) -> None:
    """Note-on, its note-off, next note-on...; stamps in order; a note-on's onset is final."""
    for k, event in enumerate(events):
        assert event.kind == ("note_on" if k % 2 == 0 else "note_off"), k
        if k % 2:
            assert event.onset_s == events[k - 1].onset_s
    stamps = [e.time_s for e in events]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("seed", range(6))
def test_live_notes_are_the_offline_notes_for_random_tracks_and_settings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(20):
        hz = random_track(rng, int(rng.integers(30, 1500)))
        settings = random_settings(rng)
        offline = f0_notes(F0Track(hz, np.zeros(len(hz)), FPS), settings)
        events = feed(LiveSegmenter(settings, FPS, max_note_s=1e4), hz, rng)
        check_order(events)
        assert [e.note for e in events if e.kind == "note_off"] == offline, settings


@pytest.mark.parametrize("seed", range(3))
def test_early_note_ons_leave_the_notes_the_offline_notes(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(20):
        hz = random_track(rng, int(rng.integers(30, 1500)))
        settings = random_settings(rng)
        offline = f0_notes(F0Track(hz, np.zeros(len(hz)), FPS), settings)
        early = LiveSegmenter(
            settings, FPS, max_note_s=1e4, early=True, early_frames=int(rng.integers(1, 6))
        )
        events = feed(early, hz, rng)
        check_pairs(events)
        assert [e.note for e in events if e.kind == "note_off"] == offline, settings


def test_early_note_ons_come_sooner_and_a_glitch_is_withdrawn() -> None:
    settings = F0NoteSettings(median_frames=1, min_note_s=0.08, hold_frames=8)
    glitch = np.concatenate([np.zeros(20), np.full(6, 220.0), np.zeros(20)])  # under 80 ms
    events = []
    segmenter = LiveSegmenter(settings, FPS, early=True, early_frames=3)
    for k in range(len(glitch)):
        events += [(k, e) for e in segmenter.push(glitch[k : k + 1], time_s=k / FPS)]
    assert [(k, e.kind) for k, e in events] == [(22, "note_on"), (26, "note_cancel")]


def test_the_split_rule_fed_in_pieces_cuts_where_it_cuts_at_once() -> None:
    rng = np.random.default_rng(5)
    for reference_frames in (1, 3, 10, 1000):
        settings = F0NoteSettings(reference_frames=reference_frames, hold_frames=3)
        midi = (
            60 + np.repeat(rng.integers(0, 5, 60), rng.integers(1, 12, 60)) + rng.normal(0, 0.3, 1)
        )
        midi = midi + rng.normal(0, 0.4, len(midi))
        whole = RunCutter(settings)
        whole.extend(midi.tolist())
        pieces = RunCutter(settings)
        position = 0
        while position < len(midi):
            size = int(rng.integers(1, 9))
            pieces.extend(midi[position : position + size].tolist())
            position += size
        assert pieces.cuts == whole.cuts and len(whole.cuts) > 5


def test_a_run_s_first_note_on_comes_once_the_run_has_lasted_min_note_s() -> None:
    settings = F0NoteSettings(median_frames=1, min_note_s=0.08, hold_frames=8)
    segmenter = LiveSegmenter(settings, FPS)
    hz = np.concatenate([np.zeros(20), np.full(100, 220.0)])
    events = []
    for k in range(len(hz)):
        for event in segmenter.push(hz[k : k + 1], time_s=(k + 1) / FPS):
            events.append((k, event))
    (k, on), *_ = events
    assert on.kind == "note_on" and on.onset_s == pytest.approx(0.2)
    assert k == 20 + 8 - 1  # the 8th voiced frame decides it


def test_a_note_held_past_max_note_s_is_closed_there_and_memory_stays_bounded() -> None:
    """Ten minutes of one held note: notes of at most max_note_s, end to end, bounded memory."""
    settings = F0NoteSettings()
    rng = np.random.default_rng(0)
    hz = 220 * 2 ** (rng.normal(0, 0.05, 60_000) / 12)
    segmenter = LiveSegmenter(settings, FPS, max_note_s=10.0)
    events, held = [], 0
    for start in range(0, len(hz), 500):
        events += segmenter.push(hz[start : start + 500], time_s=start / FPS)
        held = max(held, segmenter.frames_held)
    events += segmenter.close(time_s=600.0)
    notes = [e.note for e in events if e.kind == "note_off"]
    assert held <= 1000 + 500 + 10
    assert all(n.duration_s <= 10.0 + 1e-9 for n in notes) and len(notes) == 60
    assert notes[0].onset_s == 0.0 and notes[-1].offset_s == pytest.approx(600.0)
    assert all(a.offset_s == b.onset_s for a, b in zip(notes, notes[1:], strict=False))
    assert all(abs(n.pitch_midi - 57.0) < 0.02 for n in notes)


def test_memory_stays_bounded_over_ten_minutes_of_legato_singing() -> None:
    """One voiced run of 10 minutes (notes without rests): the held frames do not grow."""
    rng = np.random.default_rng(1)
    pitches = np.repeat(rng.uniform(50, 70, 1500), 40)  # 1500 notes of 0.4 s
    hz = 440 * 2 ** ((pitches + rng.normal(0, 0.1, len(pitches)) - 69) / 12)
    settings = F0NoteSettings()
    segmenter = LiveSegmenter(settings, FPS)
    events, held = [], []
    for start in range(0, len(hz), 100):
        events += segmenter.push(hz[start : start + 100], time_s=start / FPS)
        held.append(segmenter.frames_held)
    events += segmenter.close(time_s=len(hz) / FPS)
    assert max(held) < 300
    offline = f0_notes(F0Track(hz, np.zeros(len(hz)), FPS), settings)
    assert [e.note for e in events if e.kind == "note_off"] == offline
