"""A normal file (stereo, 44.1 kHz) is transcribed quietly; the repairs are said with -v."""

import numpy as np
import soundfile as sf

from avsvt.cli import main
from avsvt.notes import Note
from avsvt.testing import synth_vocal


def test_stereo_44k_file_gives_no_warning_and_verbose_says_what_was_done(tmp_path, capsys):
    mono = synth_vocal([Note(0.3, 1.0, 60.0)], 2 * 44_100, sample_rate=44_100)
    sf.write(tmp_path / "song.wav", np.stack([mono, mono], axis=1), 44_100)
    args = ["transcribe", str(tmp_path / "song.wav"), "--format", "csv"]
    assert main([*args, "-o", str(tmp_path / "quiet")]) == 0
    err = capsys.readouterr().err
    assert "WARNING" not in err and "resampled" not in err and "downmixed" not in err
    assert main(["-v", *args, "-o", str(tmp_path / "verbose")]) == 0
    err = capsys.readouterr().err
    assert "resampled from 44100 Hz" in err and "2 channels downmixed" in err
