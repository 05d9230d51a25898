from pathlib import Path

import numpy as np
import pytest

from avsvt.constants import SAMPLE_RATE
from avsvt.transcribe.inputs import load_audio, load_video

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"  # beside the repository
GRID = SHARED_DATA / "grid" / "lbbc2a.mpg"


def test_npy_video_shorter_than_audio_is_padded_as_missing(tmp_path):
    np.save(tmp_path / "v.npy", np.full((100, 96, 96), 90, np.uint8))
    aligned = load_video(tmp_path / "v.npy", 3 * SAMPLE_RATE)
    assert aligned.crops.shape == (150, 96, 96)
    assert aligned.missing[:100].sum() == 0 and aligned.missing[100:].all()
    assert "ends 1.00 s before the audio" in aligned.messages[0]


def test_longer_video_is_cut_to_the_audio(tmp_path):
    np.save(tmp_path / "v.npy", np.full((200, 96, 96), 90, np.uint8))
    aligned = load_video(tmp_path / "v.npy", 2 * SAMPLE_RATE)
    assert aligned.crops.shape[0] == 100 and not aligned.messages


@pytest.mark.skipif(not GRID.exists(), reason=f"shared data not found at {GRID}")
def test_real_video_gives_aligned_crops_and_its_audio_track():
    audio = load_audio(GRID)
    aligned = load_video(GRID, len(audio))
    assert abs(len(audio) / SAMPLE_RATE - 2.98) < 0.1
    assert aligned.crops.shape == (round(len(audio) / SAMPLE_RATE * 50), 96, 96)
    assert not aligned.missing.any()


@pytest.mark.skipif(not GRID.exists(), reason=f"shared data not found at {GRID}")
def test_a_video_that_cuts_to_another_speaker_is_read_shot_by_shot(tmp_path):
    import json
    from fractions import Fraction

    from avsvt.lips import read_video_frames
    from avsvt.models import Transcriber, preset
    from avsvt.transcribe.api import transcribe_file
    from avsvt.transcribe.outputs import output_paths, write_outputs
    from videos import write_video

    frames = [read_video_frames(GRID.parent / f"{name}.mpg")[0] for name in ("lbbc2a", "sbwe5n")]
    audio = np.concatenate([load_audio(GRID.parent / f"{n}.mpg") for n in ("lbbc2a", "sbwe5n")])
    path = write_video(tmp_path / "two.mp4", np.concatenate(frames), fps=Fraction(25))
    cut_s = len(frames[0]) / 25
    aligned = load_video(path, len(audio))
    assert aligned.cuts == (round(cut_s * 50),)
    assert f"cuts to a new shot 1 time(s) (at {cut_s:.2f} s)" in aligned.messages[0]
    # a tiny untrained video-only model: what matters is where the shots are said to start
    import soundfile as sf

    sf.write(tmp_path / "two.wav", audio, SAMPLE_RATE)
    result = transcribe_file(tmp_path / "two.wav", path, model=Transcriber(preset("tiny", "video")))
    assert result.used_video and result.video_cuts_s == [pytest.approx(cut_s)]
    paths = output_paths(tmp_path / "two.wav", tmp_path, ["json"])
    write_outputs(result, paths)
    assert json.loads(paths["json"].read_text())["video_cuts_s"] == [pytest.approx(cut_s)]
