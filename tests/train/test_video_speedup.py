"""Video speed-up: sped-up lips stay in step with their labels, and off means untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsvt.config import FieldError
from avsvt.data.n20em import load_songs
from avsvt.labels import LABEL_ONSET
from avsvt.notes import Note
from avsvt.train.datasets import VideoUtterances, sped_up
from avsvt.train.settings import VideoSpeedup

FPS = 50.0


def _clock_video(n: int) -> np.ndarray:
    """Frame k shows the number k (mod 256) everywhere: which crop a frame shows is readable."""
    return (np.arange(n) % 256).astype(np.uint8)[:, None, None].repeat(3, 1).repeat(3, 2)


@pytest.mark.parametrize("factor", [1.3, 1.75, 2.0])
def test_each_labelled_onset_shows_the_crop_of_that_onset(factor: float) -> None:
    # Oracle: onsets at known frames of the original video; in the sped-up utterance the frame
    # labelled as an onset must show (within one step) the original crop of that onset.
    onset_frames = [60, 83, 120, 151, 190]
    notes = [Note(f / FPS, (f + 12) / FPS, 60.0 + i) for i, f in enumerate(onset_frames)]
    video = _clock_video(250)
    labels, crops = sped_up(notes, video, slice(50, 150), FPS, factor)
    assert labels.shape == (100, 4) and crops.shape == (100, 3, 3)
    shown = crops[:, 0, 0].astype(int)
    assert shown[0] == 50 and np.all(np.diff(shown) >= 1)  # faster, never backwards
    labelled = np.flatnonzero(labels[:, LABEL_ONSET])
    in_view = [f for f in onset_frames if f <= shown[-1]]
    assert len(labelled) == len(in_view)  # every onset in view is labelled once
    for j, original in zip(labelled, in_view, strict=True):
        assert abs(int(shown[j]) - original) <= np.ceil(factor)


def test_past_the_songs_end_the_last_crop_holds() -> None:
    video = _clock_video(120)
    _, crops = sped_up([Note(2.1, 2.3, 60.0)], video, slice(70, 120), FPS, 2.0)
    shown = crops[:, 0, 0]
    assert shown[0] == 70 and shown[-1] == 119 and (shown[25:] == 119).all()


def test_off_and_on_in_the_dataset(tiny_root) -> None:
    songs = load_songs(tiny_root)
    plain = VideoUtterances(songs)
    off = VideoUtterances(songs, speedup=VideoSpeedup(probability=0.0))
    always = VideoUtterances(songs, speedup=VideoSpeedup(probability=1.0, factor=(2.0, 2.0)))
    for i in range(len(plain)):
        a, b, c = plain[i], off[i], always[i]
        assert torch.equal(a.video, b.video) and torch.equal(a.labels, b.labels)
        assert c.video.shape == a.video.shape and c.labels.shape == a.labels.shape
        # at twice the pace, frame j shows the original frame 2j of the utterance
        half = a.video.shape[0] // 2
        assert torch.equal(c.video[:half], a.video[: 2 * half : 2])
    again = VideoUtterances(songs, speedup=VideoSpeedup(probability=0.5, seed=3))
    other = VideoUtterances(songs, speedup=VideoSpeedup(probability=0.5, seed=3))
    for i in range(len(again)):
        assert torch.equal(again[i].video, other[i].video)  # the seed alone decides


@pytest.mark.parametrize(
    "changes", [{"probability": 1.5}, {"factor": (0.5, 2.0)}, {"factor": (2.0, 1.5)}]
)
def test_bad_settings_are_config_errors(changes: dict[str, object]) -> None:
    with pytest.raises(FieldError):
        VideoSpeedup(**changes)  # type: ignore[arg-type]
