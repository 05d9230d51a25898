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
