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


# --- bad model files through the CLI (issue 15 items 9 and 14) ---------------------------------


@pytest.fixture
def song(tmp_path):
    import soundfile as sf

    path = tmp_path / "song.wav"
    sf.write(path, synth_vocal([Note(0.2, 0.7, 60.0)], SAMPLE_RATE), SAMPLE_RATE)
    return path


def model_text(**changes) -> str:
    """A valid model file's text with top-level entries changed (``settings`` merged)."""
    body = json.loads(f0_model_json(F0NoteSettings(), {"fitted_on": "x"}))
    body["settings"].update(changes.pop("settings", {}))
    body.update(changes)
    return json.dumps(body)


def refuses(capsys, args, path, *expected):
    """``avsvt ARGS`` exits 1 with one line naming ``path`` and saying each of ``expected``."""
    from avsvt.cli import main

    assert main([str(a) for a in args]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"avsvt: error: {path}: "), err
    for part in expected:
        assert part in err, (part, err)
    return err


def check_both_commands_refuse(capsys, song, path, *expected):
    out = path.parent / "out"
    refuses(capsys, ["transcribe", song, "--model", path, "-o", out], path, *expected)
    assert not any(out.glob("song.*")), "nothing is transcribed with a bad model"
    refuses(capsys, ["model", "inspect", path], path, *expected)


# One value outside its range for every field (and the cases): each would have changed
# the notes silently, allocated without bound (median_frames 1e9: 8.9 GB, then MemoryError) or
# overflowed (min_note_s 1e308: OverflowError).
OUT_OF_RANGE = [
    ("median_frames", 1_000_000_000, "settings.median_frames: 1000000000 is out of range"),
    ("median_frames", -5, "settings.median_frames: -5 is out of range (1 to 101 frames"),
    ("median_frames", 0, "settings.median_frames: 0 is out of range"),
    ("median_frames", 4, "settings.median_frames: 4 is even"),
    ("split_semitones", 0.0, "settings.split_semitones: 0.0 is out of range"),
    ("split_semitones", 1e300, "settings.split_semitones: 1e+300 is out of range"),
    ("hold_frames", 0, "settings.hold_frames: 0 is out of range"),
    ("hold_frames", 10**12, "settings.hold_frames: 1000000000000 is out of range"),
    ("reference_frames", -1, "settings.reference_frames: -1 is out of range"),
    ("min_note_s", 1e308, "settings.min_note_s: 1e+308 is out of range (0.0 to 10.0 s)"),
    ("min_note_s", -0.1, "settings.min_note_s: -0.1 is out of range"),
    ("pitch_skip_s", 1e200, "settings.pitch_skip_s: 1e+200 is out of range"),
    ("onset_shift_s", -1e308, "settings.onset_shift_s: -1e+308 is out of range"),
    ("max_aperiodicity", 0.0, "settings.max_aperiodicity: 0.0 is out of range"),
    ("max_aperiodicity", 5.0, "settings.max_aperiodicity: 5.0 is out of range"),
]


@pytest.mark.parametrize("name, value, expected", OUT_OF_RANGE)
def test_a_model_file_value_out_of_range_is_one_line_error(
    tmp_path, capsys, song, name, value, expected
):
    path = tmp_path / "model.json"
    path.write_text(model_text(settings={name: value}))
    check_both_commands_refuse(capsys, song, path, expected)


@pytest.mark.parametrize("name", ["split_semitones", "min_note_s", "max_aperiodicity"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_model_file_value_that_is_not_finite_is_one_line_error(
    tmp_path, capsys, song, name, value
):
    path = tmp_path / "model.json"
    path.write_text(model_text(settings={name: "@"}).replace('"@"', value))  # JSON extensions
    check_both_commands_refuse(capsys, song, path, f"settings.{name}: ", "not a finite number")


@pytest.mark.parametrize(
    "version, expected",
    [
        (99, "avsvt-f0notes model file of version 99: this avsvt reads version 1"),
        (0, "of version 0"),
        ("1", "of version '1'"),
        (True, "of version True"),
        (None, "of no version"),
    ],
)
def test_a_model_file_of_another_version_is_refused(tmp_path, capsys, song, version, expected):
    path = tmp_path / "model.json"
    body = json.loads(model_text())
    if version is None:
        del body["version"]
    else:
        body["version"] = version
    path.write_text(json.dumps(body))
    check_both_commands_refuse(capsys, song, path, expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        # 100 000 levels: Python's json module raises RecursionError
        ('{"kind": "avsvt-f0notes", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "too deeply"),
        ('{"settings": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001, "too deeply"),
        ('{"version": ' + "9" * 5000 + "}", "invalid JSON"),  # more digits than int() takes
        ("\udcff", "not UTF-8"),
    ],
)
def test_a_model_file_python_cannot_parse_is_one_line_error(tmp_path, capsys, song, text, expected):
    path = tmp_path / "model.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    check_both_commands_refuse(capsys, song, path, expected)


def test_a_model_file_that_is_huge_or_not_a_file_is_refused_before_reading(tmp_path, capsys, song):
    big = tmp_path / "big.json"
    big.write_text(model_text(fitted_on="x" * (2 << 20)))
    check_both_commands_refuse(capsys, song, big, "too large for an f0-notes model file")
    device = tmp_path / "zero.json"
    device.symlink_to("/dev/zero")  # read whole, it never ends
    check_both_commands_refuse(capsys, song, device, "is a character device")
    folder = tmp_path / "folder.json"
    folder.mkdir()
    out = tmp_path / "out"
    refuses(capsys, ["transcribe", song, "--model", folder, "-o", out], folder, "is a directory")


def test_every_value_in_its_range_and_the_fit_grid_is_accepted():
    from avsvt.f0notes import F0NOTE_GRID, F0NOTE_RANGES

    for name, (low, high, _) in F0NOTE_RANGES.items():
        F0NoteSettings(**{name: low})
        F0NoteSettings(**{name: high})
    for name, values in F0NOTE_GRID.items():
        for value in values:
            F0NoteSettings(**{name: value})
