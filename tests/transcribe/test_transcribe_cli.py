import numpy as np
import pytest
import soundfile as sf

from avsvt.cli import main
from avsvt.constants import SAMPLE_RATE
from avsvt.notefiles import read_notes
from avsvt.notes import Note

NOTES = [Note(0.5, 1.5, 60), Note(2.0, 2.6, 67)]


@pytest.fixture
def model_args(trained_audio_model):
    """``--model`` with a real checkpoint, trained by the stage-1 loop (tests/trained.py)."""
    return ["--model", str(trained_audio_model)]


def write_wav(path, seconds=3.0, rate=SAMPLE_RATE):
    sf.write(path, np.zeros(int(seconds * rate), np.float32), rate)


def write_tones(path, rate=SAMPLE_RATE):
    from avsvt.testing import synth_vocal

    sf.write(path, synth_vocal(NOTES, 3 * rate, sample_rate=rate), rate)


def test_transcribe_writes_every_format_and_refuses_to_overwrite(model_args, tmp_path, capsys):
    write_tones(tmp_path / "a.wav", rate=44100)
    args = ["transcribe", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out"), *model_args]
    assert main([*args, "--plot"]) == 0
    for suffix in ("mid", "csv", "json", "png"):
        assert (tmp_path / "out" / f"a.{suffix}").exists()
    found = read_notes(tmp_path / "out" / "a.csv")  # the trained model hears both tones
    assert len(found) == 2
    for est, ref in zip(found, NOTES, strict=True):
        assert abs(est.onset_s - ref.onset_s) <= 0.05
        assert abs(est.offset_s - ref.offset_s) <= 0.1
    json_notes = read_notes(tmp_path / "out" / "a.json")
    assert np.allclose([n.onset_s for n in json_notes], [n.onset_s for n in found], atol=1e-6)
    assert main(args) == 1
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
                *model_args,
            ]
        )
        == 0
    )


def test_one_bad_file_does_not_stop_the_others(model_args, tmp_path, capsys):
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
        *model_args,
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


def test_model_f0_runs_the_built_in_f0_tracker(tmp_path):
    from avsvt.testing import synth_vocal

    sung = [Note(0.3, 0.9, 57.0), Note(0.9, 1.6, 60.0)]
    sf.write(tmp_path / "s.wav", synth_vocal(sung, 2 * SAMPLE_RATE), SAMPLE_RATE)
    assert main(["transcribe", str(tmp_path / "s.wav"), "--format", "csv", "--model", "f0"]) == 0
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


def test_a_video_only_checkpoint_without_usable_video_stops_with_one_line(tmp_path, capsys):
    """Without video (or with a video in which no face is found) there is nothing to transcribe:
    the zero-logit fallback used to invent a C2 note at 0-0.02 s with exit 0."""
    from fractions import Fraction

    import torch

    from avsvt.models import Transcriber, preset, save_model
    from videos import write_video

    torch.manual_seed(0)
    save_model(Transcriber(preset("tiny", "video")), tmp_path / "v.safetensors")
    write_tones(tmp_path / "a.wav")
    blank = np.full((50, 120, 160, 3), 128, np.uint8)  # 2 s of grey: no face
    write_video(tmp_path / "blank.mp4", blank, fps=Fraction(25))
    model = ["--model", str(tmp_path / "v.safetensors"), "-o", str(tmp_path / "out")]
    assert main(["transcribe", str(tmp_path / "a.wav"), *model]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a.wav" in err[0] and "--video" in err[0]
    assert (
        main(
            ["transcribe", str(tmp_path / "a.wav"), "--video", str(tmp_path / "blank.mp4"), *model]
        )
        == 1
    )
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1 and "blank.mp4" in err[0] and "no face" in err[0]
    assert not (tmp_path / "out" / "a.csv").exists()


def test_an_a_system_checkpoint_ignores_video_and_says_so(tmp_path, capsys):
    """Stage 2's "A" system was trained on a zero video stream: giving it lips must not change
    its notes (it used to lower the demo A model's COnPOff from 0.750 to 0.694)."""
    import torch

    from avsvt.models import ModelConfig, Transcriber, preset, save_model

    torch.manual_seed(0)
    config = ModelConfig.from_dict(
        {**preset("tiny", "audio_visual").to_dict(), "takes_video": False}
    )
    save_model(Transcriber(config), tmp_path / "a_system.safetensors")
    write_tones(tmp_path / "a.wav")
    np.save(
        tmp_path / "lips.npy", np.random.default_rng(0).integers(0, 256, (150, 96, 96), np.uint8)
    )
    base = [
        "transcribe",
        str(tmp_path / "a.wav"),
        "--model",
        str(tmp_path / "a_system.safetensors"),
    ]
    assert main([*base, "-o", str(tmp_path / "plain"), "--format", "json"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                *base,
                "--video",
                str(tmp_path / "lips.npy"),
                "-o",
                str(tmp_path / "lips"),
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert "does not consume video" in capsys.readouterr().out
    plain, lips = (
        read_notes(tmp_path / "plain" / "a.json"),
        read_notes(tmp_path / "lips" / "a.json"),
    )
    assert plain == lips
