"""``avsvt transcribe --video`` prints results, not mediapipe's C++ log lines (issue 15 item 20).

Those lines go straight to file descriptor 2, so the command runs in a subprocess here.
"""

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from avsvt.constants import SAMPLE_RATE
from avsvt.notes import Note
from avsvt.testing import synth_vocal
from videos import write_video

AVSVT = str(Path(sys.executable).with_name("avsvt"))
NOISE = ("w0000", "tensorflow lite", "absl", "warning", "feedback manager")


def _noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(w in line.lower() for w in NOISE)]


def test_video_transcription_is_quiet_and_verbose_lets_mediapipe_through(tmp_path):
    import torch

    from avsvt.models import Transcriber, preset, save_model

    torch.manual_seed(0)
    save_model(Transcriber(preset("tiny", "audio_visual")), tmp_path / "av.safetensors")
    sf.write(tmp_path / "a.wav", synth_vocal([Note(0.3, 1.2, 60)], 2 * SAMPLE_RATE), SAMPLE_RATE)
    # a face-free clip: mediapipe starts its graph (and logs) all the same
    write_video(tmp_path / "clip.mp4", np.full((50, 96, 128, 3), 128, np.uint8), fps=Fraction(25))
    base = [AVSVT, "transcribe", str(tmp_path / "a.wav"), "--video", str(tmp_path / "clip.mp4")]
    base += ["--model", str(tmp_path / "av.safetensors"), "--format", "csv"]

    quiet = subprocess.run(
        [*base, "-o", str(tmp_path / "quiet")], capture_output=True, text=True, timeout=300
    )
    assert quiet.returncode == 0, quiet.stderr
    assert _noise(quiet.stderr) == [], quiet.stderr
    assert "no face found; transcribed from audio only" in quiet.stdout  # said once, on stdout
    assert "notes" in quiet.stdout and (tmp_path / "quiet" / "a.csv").exists()

    verbose = subprocess.run(
        [AVSVT, "-v", *base[1:], "-o", str(tmp_path / "verbose")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verbose.returncode == 0, verbose.stderr
    assert "W0000" in verbose.stderr or "TensorFlow Lite" in verbose.stderr  # details with -v
    assert "no face found in any frame" in verbose.stderr  # avsvt's own DEBUG line
