from pathlib import Path

import pytest

from avsvt.errors import DataError
from avsvt.notefiles import read_notes, write_notes
from avsvt.notes import Note

NOTES = [Note(0.25, 0.75, 60.0), Note(0.8, 1.3, 61.5), Note(1.5, 2.25, 72.25)]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".mid"])
def test_round_trip_keeps_times_and_fractional_pitch(tmp_path, suffix):
    path = tmp_path / f"song{suffix}"
    write_notes(path, NOTES)
    back = read_notes(path)
    assert len(back) == len(NOTES)
    for a, b in zip(NOTES, back, strict=True):
        assert b.onset_s == pytest.approx(a.onset_s, abs=2e-3)
        assert b.offset_s == pytest.approx(a.offset_s, abs=2e-3)
        assert b.pitch_midi == pytest.approx(a.pitch_midi, abs=0.01)


def test_csv_header_and_midi_tempo(tmp_path):
    write_notes(tmp_path / "a.csv", NOTES)
    assert (tmp_path / "a.csv").read_text().splitlines()[0] == "onset_s,offset_s,pitch_midi"
    from avsvt.notefiles import write_midi_notes

    write_midi_notes(tmp_path / "slow.mid", NOTES, tempo_bpm=60)
    import pretty_midi

    assert pretty_midi.PrettyMIDI(str(tmp_path / "slow.mid")).get_tempo_changes()[1][
        0
    ] == pytest.approx(60)
    assert read_notes(tmp_path / "slow.mid")[1].onset_s == pytest.approx(0.8, abs=2e-3)


def test_headerless_csv_flavours_are_told_apart(tmp_path):
    (tmp_path / "voc.csv").write_text("0.5,261.63,0.25\n1.0,440.0,0.5\n")
    (tmp_path / "ours.csv").write_text("0.5,0.75,60\n1.0,1.5,69\n")
    voc, ours = read_notes(tmp_path / "voc.csv"), read_notes(tmp_path / "ours.csv")
    assert [round(n.pitch_midi, 2) for n in voc] == [60.0, 69.0]
    assert [n.offset_s for n in voc] == [0.75, 1.5]
    assert [(n.offset_s, n.pitch_midi) for n in ours] == [(0.75, 60.0), (1.5, 69.0)]


def test_real_vocadito_annotation_reads(tmp_path):
    path = (
        Path(__file__).resolve().parents[2]
        / "shared"
        / "data"
        / "vocadito"
        / "vocadito_1_notesA1.csv"
    )
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    notes = read_notes(path)
    assert len(notes) == 59
    assert all(40 < n.pitch_midi < 60 and n.duration_s > 0 for n in notes)  # a low male voice


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("bad.csv", "onset_s,offset_s,pitch_midi\n1.0,0.5,60\n", "not after onset"),
        ("bad2.csv", "onset_s,offset_s,pitch_midi\n0.1,0.5,abc\n", "not a number"),
        ("bad3.csv", "onset_s,offset_s,pitch_midi\n-1,0.5,60\n", "negative onset"),
        ("bad4.csv", "foo,bar\n1,2\n", "unknown CSV header"),
        ("bad.json", "[[0, 1]]", r"expected \[onset_s, offset_s, pitch\]"),
        ("bad2.json", "{not json", "cannot read JSON"),
        ("bad.mid", "MThd garbage", "not a readable MIDI file"),
        ("notes.txt", "0,1,60", "unknown note file type"),
        ("nan.csv", "0,nan,60\n", "non-finite"),
    ],
)
def test_malformed_files_raise_data_error_naming_the_file(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=problem) as info:
        read_notes(path)
    assert name in str(info.value)
