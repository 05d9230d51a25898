import numpy as np
import pytest
import soundfile as sf

from avsvt.cli import main
from avsvt.constants import AUDIO_FPS, SAMPLE_RATE
from avsvt.labels import notes_to_labels
from avsvt.notefiles import read_notes
from avsvt.notes import Note
from avsvt.testing import oracle_logits
from avsvt.transcribe.chunking import total_frames

NOTES = [Note(0.5, 1.5, 60), Note(2.0, 2.6, 67)]


class Oracle:
    """Perfect posteriors for NOTES on any single-window input (files here are < 30 s)."""

    uses_video = False

    def predict(self, audio, video):
        labels = notes_to_labels(NOTES, total_frames(len(audio)), AUDIO_FPS)
        return oracle_logits(labels)


@pytest.fixture
def oracle(monkeypatch):
    monkeypatch.setattr("avsvt.transcribe.predictor.load_predictor", lambda model: Oracle())


def write_wav(path, seconds=3.0, rate=SAMPLE_RATE):
    sf.write(path, np.zeros(int(seconds * rate), np.float32), rate)


def test_transcribe_writes_every_format_and_refuses_to_overwrite(oracle, tmp_path, capsys):
    write_wav(tmp_path / "a.wav", rate=44100)
    assert main(["transcribe", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out"), "--plot"]) == 0
    for suffix in ("mid", "csv", "json", "png"):
        assert (tmp_path / "out" / f"a.{suffix}").exists()
    assert [n.pitch_midi for n in read_notes(tmp_path / "out" / "a.csv")] == [60.0, 67.0]
    assert main(["transcribe", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out")]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(
            [
                "transcribe",
                str(tmp_path / "a.wav"),
                "-o",
                str(tmp_path / "out"),
                "--overwrite",
                "--format",
                "csv",
            ]
        )
        == 0
    )


def test_one_bad_file_does_not_stop_the_others(oracle, tmp_path, capsys):
    write_wav(tmp_path / "good.wav")
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    sf.write(tmp_path / "empty.wav", np.zeros(0), SAMPLE_RATE)
    args = [
        "transcribe",
        str(tmp_path / "bad.wav"),
        str(tmp_path / "good.wav"),
        str(tmp_path / "empty.wav"),
        "--format",
        "csv",
    ]
    assert main(args) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "avsvt:" in line]
    assert len(err) == 3 and all(line.startswith("avsvt: ") for line in err)
    assert "bad.wav" in err[0] and "empty.wav" in err[1] and "2 of 3 file(s) failed" in err[2]
    assert (tmp_path / "good.csv").exists()


def test_bad_format_and_missing_model_are_clear_errors(tmp_path, capsys):
    write_wav(tmp_path / "a.wav")
    with pytest.raises(SystemExit):
        main(["transcribe", str(tmp_path / "a.wav"), "--format", "wav"])
    assert main(["transcribe", str(tmp_path / "a.wav"), "--model", str(tmp_path / "none.pt")]) == 1
    assert "model file not found" in capsys.readouterr().err


def test_without_model_the_built_in_f0_tracker_runs(tmp_path):
    from avsvt.testing import synth_vocal

    sung = [Note(0.3, 0.9, 57.0), Note(0.9, 1.6, 60.0)]
    sf.write(tmp_path / "s.wav", synth_vocal(sung, 2 * SAMPLE_RATE), SAMPLE_RATE)
    assert main(["transcribe", str(tmp_path / "s.wav"), "--format", "csv"]) == 0
    found = read_notes(tmp_path / "s.csv")
    assert [round(n.pitch_midi) for n in found] == [57, 60]
    assert abs(found[1].onset_s - 0.9) < 0.03


def test_an_f0_notes_model_file_from_the_recipe_is_a_model(tmp_path, capsys):
    from avsvt.f0notes import F0NoteSettings, f0_model_json
    from avsvt.testing import synth_vocal

    sf.write(tmp_path / "a.wav", synth_vocal(NOTES, 3 * SAMPLE_RATE), SAMPLE_RATE)
    (tmp_path / "model.json").write_text(f0_model_json(F0NoteSettings(), {}))
    (tmp_path / "long.json").write_text(f0_model_json(F0NoteSettings(min_note_s=2.0), {}))
    audio = str(tmp_path / "a.wav")
    assert (
        main(
            [
                "transcribe",
                audio,
                "--model",
                str(tmp_path / "model.json"),
                "-o",
                str(tmp_path / "x"),
            ]
        )
        == 0
    )
    assert [round(n.pitch_midi) for n in read_notes(tmp_path / "x" / "a.csv")] == [60, 67]
    assert (
        main(
            ["transcribe", audio, "--model", str(tmp_path / "long.json"), "-o", str(tmp_path / "y")]
        )
        == 0
    )
    assert read_notes(tmp_path / "y" / "a.csv") == []  # its settings are used: no note lasts 2 s
    (tmp_path / "bad.json").write_text("{}")
    assert (
        main(
            ["transcribe", audio, "--model", str(tmp_path / "bad.json"), "-o", str(tmp_path / "z")]
        )
        == 1
    )
    assert "bad.json: not an avsvt-f0notes model file" in capsys.readouterr().err
