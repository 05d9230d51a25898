"""``avsvt transcribe`` on a symbolic link loop says so in one line (issue 15 item 19)."""

import os

import numpy as np
import soundfile as sf

from avsvt.cli import main
from avsvt.constants import SAMPLE_RATE

LOOP = "symbolic link loop"


def _loop(path):
    os.symlink(path.name, path)  # loop.wav -> loop.wav
    return path


def _errors(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_an_input_that_is_a_link_loop_is_one_line(tmp_path, capsys):
    loop = _loop(tmp_path / "loop.wav")
    assert main(["transcribe", str(loop)]) == 1
    err = _errors(capsys)
    assert len(err) == 1 and err[0].startswith("avsvt: error: ") and "loop.wav" in err[0]
    assert LOOP in err[0]
    assert "Traceback" not in err[0]


def test_a_loop_in_a_batch_is_reported_and_the_others_are_transcribed(tmp_path, capsys):
    loop = _loop(tmp_path / "loop.wav")
    sf.write(tmp_path / "good.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    out = tmp_path / "out"
    assert main(["transcribe", str(loop), str(tmp_path / "good.wav"), "-o", str(out)]) == 1
    err = _errors(capsys)
    assert len(err) == 2 and "loop.wav" in err[0] and LOOP in err[0]
    assert "1 of 2 file(s) failed" in err[1]
    assert (out / "good.csv").exists() and not (out / "loop.csv").exists()


def test_video_model_and_output_folder_loops_are_one_line(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    audio = str(tmp_path / "a.wav")
    loop = _loop(tmp_path / "loop.wav")
    folder_loop = _loop(tmp_path / "outloop")
    for extra, name in (
        (["--video", str(loop)], "loop.wav"),
        (["--model", str(loop)], "loop.wav"),
        (["-o", str(folder_loop)], "outloop"),
        (["-o", str(folder_loop / "sub")], "outloop/sub"),
    ):
        assert main(["transcribe", audio, *extra]) == 1, extra
        err = _errors(capsys)
        assert len(err) == 1 and name in err[0] and LOOP in err[0], (extra, err)
    assert main(["transcribe", audio, "--model", str(tmp_path)]) == 1
    assert "is a directory, not a file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.glob("a.*")) == ["a.wav"]  # nothing written


def test_file_identity_of_a_link_loop_does_not_raise(tmp_path):
    from avsvt.transcribe.outputs import file_identity

    loop = _loop(tmp_path / "loop.wav")
    assert file_identity(loop) == {"path": str(loop)}
