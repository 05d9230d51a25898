import json

import numpy as np
import pytest

from avsvt.constants import SAMPLE_RATE
from avsvt.errors import CheckpointError
from avsvt.f0 import F0Track, yin
from avsvt.f0notes import (
    F0NoteSettings,
    _merge_short,
    f0_model_json,
    f0_notes,
    f0_settings_from_json,
    fit_f0_notes,
    transcribe_f0,
)
from avsvt.notes import Note
from avsvt.testing import synth_vocal

FPS = 100.0


def midi_to_hz(midi):
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def track_from_midi(midi: list[float]) -> F0Track:
    """An f0 track with these frame pitches (NaN = unvoiced) at 100 fps."""
    values = np.array(midi, dtype=np.float64)
    hz = np.where(np.isfinite(values), midi_to_hz(np.nan_to_num(values)), 0.0)
    return F0Track(f0_hz=hz, aperiodicity=np.zeros(len(hz)), fps=FPS)


NO_FILTER = F0NoteSettings(median_frames=1, hold_frames=3, min_note_s=0.05)


def test_notes_with_gaps_and_legato_changes_come_out_as_sung():
    notes = [Note(0.2, 0.7, 57.0), Note(0.7, 1.1, 60.0), Note(1.4, 2.0, 64.0)]
    audio = synth_vocal(notes, int(2.3 * SAMPLE_RATE))
    found = transcribe_f0(audio)
    assert len(found) == 3
    for got, want in zip(found, notes, strict=True):
        assert abs(got.onset_s - want.onset_s) < 0.03
        assert abs(got.offset_s - want.offset_s) < 0.04  # YIN's 64 ms window hears the tail
        assert abs(got.pitch_midi - want.pitch_midi) < 0.1  # fractional MIDI, not rounded


def test_vibrato_stays_one_note_and_a_detuned_pitch_is_kept_fractional():
    t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
    midi = 60.3 + 0.45 * np.sin(2 * np.pi * 5.5 * t)  # +-45 cents around 60.3
    phase = 2 * np.pi * np.cumsum(midi_to_hz(midi)) / SAMPLE_RATE
    audio = (0.3 * np.sin(phase) + 0.1 * np.sin(2 * phase)).astype(np.float32)
    (note,) = transcribe_f0(np.pad(audio, SAMPLE_RATE // 5))
    assert abs(note.pitch_midi - 60.3) < 0.1
    assert abs(note.onset_s - 0.2) < 0.03 and abs(note.offset_s - 1.7) < 0.04


def test_a_departure_must_hold_to_cut_and_the_cut_is_where_it_began():
    glitch = [60.0] * 20 + [62.0] * 2 + [60.0] * 20  # 2 frames: no cut (hold 3)
    assert len(f0_notes(track_from_midi(glitch), NO_FILTER)) == 1
    change = [60.0] * 20 + [62.0] * 20
    first, second = f0_notes(track_from_midi(change), NO_FILTER)
    assert first.offset_s == pytest.approx(0.2) and second.onset_s == pytest.approx(0.2)
    assert (first.pitch_midi, second.pitch_midi) == pytest.approx((60.0, 62.0))


def test_short_fragments_join_a_neighbour_in_the_run_or_vanish_alone():
    glide = [60.0] * 20 + [61.0] * 3 + [62.0] * 20  # a 30 ms step between two notes
    notes = f0_notes(track_from_midi(glide), NO_FILTER)
    assert len(notes) == 2 and notes[0].offset_s == notes[1].onset_s
    assert notes[1].offset_s - notes[0].onset_s == pytest.approx(0.43)
    lonely = [np.nan] * 10 + [60.0] * 3 + [np.nan] * 10
    assert f0_notes(track_from_midi(lonely), NO_FILTER) == []


def test_merge_short_removes_shortest_fragments_first():
    assert _merge_short([0, 10, 12, 30], 5) == [0, 12, 30]  # 2-frame middle joins shorter side
    assert _merge_short([0, 2, 30], 5) == [0, 30]
    assert _merge_short([0, 10, 30], 5) == [0, 10, 30]


def test_onset_shift_moves_only_run_starts():
    change = [np.nan] * 10 + [60.0] * 20 + [62.0] * 20
    shifted = F0NoteSettings(median_frames=1, hold_frames=3, onset_shift_s=-0.02)
    first, second = f0_notes(track_from_midi(change), shifted)
    assert first.onset_s == pytest.approx(0.08) and second.onset_s == pytest.approx(0.3)


def test_note_pitch_is_the_conversion_of_its_steady_f0_and_gaps_are_unvoiced():
    hz = np.concatenate([np.zeros(5), np.full(20, 440.0), np.zeros(5), np.full(20, 466.0)])
    track = F0Track(f0_hz=hz, aperiodicity=np.zeros(len(hz)), fps=FPS)
    notes = f0_notes(track, NO_FILTER)
    # the expression f0_notes used before issue 14 item 6 (unvoiced frames never enter a note)
    legacy = [69 + 12 * np.log2(np.array([f]) / 440.0)[0] for f in (440.0, 466.0)]
    assert [n.pitch_midi for n in notes] == legacy
    times = [t for n in notes for t in (n.onset_s, n.offset_s)]
    assert times == pytest.approx([0.05, 0.25, 0.30, 0.50])


def test_silence_gives_no_notes():
    assert transcribe_f0(np.zeros(SAMPLE_RATE, dtype=np.float32)) == []


def test_yin_in_blocks_equals_yin_at_once():
    notes = [Note(0.1, 0.6, 55.0), Note(0.7, 1.2, 67.0)]
    audio = synth_vocal(notes, int(1.3 * SAMPLE_RATE))
    whole, blocked = yin(audio), yin(audio, block_frames=7)
    np.testing.assert_array_equal(whole.f0_hz, blocked.f0_hz)
    np.testing.assert_array_equal(whole.aperiodicity, blocked.aperiodicity)


def short_note_songs():
    """Two songs of 0.2 s notes with 0.1 s rests: a 0.3 s minimum note length drops every one."""
    songs = []
    for first in (57, 62):
        notes = [Note(0.3 + 0.3 * i, 0.5 + 0.3 * i, first + (i % 3)) for i in range(6)]
        songs.append((synth_vocal(notes, 16000 * 3), notes))
    return songs


def test_fitting_chooses_the_best_grid_point_and_the_earlier_one_on_ties():
    songs = short_note_songs()
    audio, refs = [a for a, _ in songs], [n for _, n in songs]
    fit = fit_f0_notes(audio, refs, {"min_note_s": (0.3, 0.08)})
    assert fit.settings.min_note_s == 0.08 and fit.n_candidates == 2
    assert fit.scores.COnP.f1 == 1.0
    assert fit_f0_notes(audio, refs, {"min_note_s": (0.08, 0.05)}).settings.min_note_s == 0.08
    assert fit_f0_notes(audio, refs, {"min_note_s": (0.05, 0.08)}).settings.min_note_s == 0.05


def test_the_model_file_round_trips_and_bad_files_are_one_line_errors():
    settings = F0NoteSettings(split_semitones=1.0, hold_frames=3)
    text = f0_model_json(settings, {"fitted_on": "somewhere"})
    assert f0_settings_from_json(text, source="m.json") == settings
    body = json.loads(text)
    bad = {
        "not json": "{",
        "wrong kind": json.dumps({**body, "kind": "other"}),
        "unknown setting": json.dumps({**body, "settings": {"split_semitone": 1.0}}),
        "wrong type": json.dumps({**body, "settings": {"hold_frames": "many"}}),
        "no settings": json.dumps({"kind": body["kind"]}),
    }
    for name, text in bad.items():
        with pytest.raises(CheckpointError) as info:
            f0_settings_from_json(text, source="m.json")
        assert str(info.value).startswith("m.json: ") and "\n" not in str(info.value), name
