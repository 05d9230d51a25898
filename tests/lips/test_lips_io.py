from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from avsvt.errors import DataError
from avsvt.lips.io import read_video_audio, read_video_frames
from videos import set_display_matrix


def moving_bar_frames(n_frames: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frame i has a white vertical bar at column 2 * i (decodes recognisably after mpeg4)."""
    frames = np.zeros((n_frames, height, width, 3), dtype=np.uint8)
    for index in range(n_frames):
        frames[index, :, 2 * index : 2 * index + 4] = 255
    return frames


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30000, 1001), Fraction(60)])
def test_frames_and_their_timestamps_come_from_the_stream(tmp_path, video_writer, fps):
    frames = moving_bar_frames(20)
    path = video_writer(tmp_path / "v.mp4", frames, fps=fps)
    decoded, times_s, nominal_fps = read_video_frames(path)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert nominal_fps == pytest.approx(float(fps), rel=1e-6)
    np.testing.assert_allclose(times_s, np.arange(20) / float(fps), atol=1e-4)
    # the bar of frame i is where it was written
    bar_columns = decoded.mean(axis=(1, 3)).argmax(axis=1)
    np.testing.assert_array_less(np.abs(bar_columns - (2 * np.arange(20) + 1.5)), 3)


ONE = 1 << 16  # 1.0 in the display matrix's 16.16 fixed point
W_ONE = 1 << 30  # 1.0 in its 2.30 column


def shown_as_defined(stored: np.ndarray, matrix: tuple[int, ...]) -> np.ndarray:
    """What the QuickTime/ISO BMFF display matrix shows: each stored pixel (x, y), taken at its
    centre, moves to (a x + c y + x_t, b x + d y + y_t) (the format's definition, pixel by
    pixel, rather than a rotation function)."""
    a, b, _, c, d, _, x_t, y_t, _ = (value / ONE for value in matrix)
    height, width = stored.shape[:2]
    shown_height = round(abs(b) * width + abs(d) * height)
    shown = np.zeros((shown_height, round(abs(a) * width + abs(c) * height)), stored.dtype)
    for y in range(height):
        for x in range(width):
            column = int(np.floor(a * (x + 0.5) + c * (y + 0.5) + x_t))
            row = int(np.floor(b * (x + 0.5) + d * (y + 0.5) + y_t))
            shown[row, column] = stored[y, x]
    return shown


@pytest.mark.parametrize(
    "name, matrix",
    [
        ("none", (ONE, 0, 0, 0, ONE, 0, 0, 0, W_ONE)),
        ("portrait (phone upright)", (0, ONE, 0, -ONE, 0, 0, 48 * ONE, 0, W_ONE)),
        ("upside down", (-ONE, 0, 0, 0, -ONE, 0, 64 * ONE, 48 * ONE, W_ONE)),
        ("portrait (phone upside down)", (0, -ONE, 0, ONE, 0, 0, 0, 64 * ONE, W_ONE)),
        ("mirrored (a front camera)", (-ONE, 0, 0, 0, ONE, 0, 64 * ONE, 0, W_ONE)),
        ("flipped top to bottom", (ONE, 0, 0, 0, -ONE, 0, 0, 48 * ONE, W_ONE)),
        ("mirrored across the diagonal", (0, ONE, 0, ONE, 0, 0, 0, 0, W_ONE)),
    ],
)
def test_frames_come_out_as_the_display_matrix_shows_them(tmp_path, video_writer, name, matrix):
    frames = np.zeros((5, 48, 64, 3), dtype=np.uint8)
    frames[:, 6:22, 8:24] = 255  # a square near the stored top-left corner
    frames[:, 30:40, 44:60] = 128  # and a grey bar near the bottom-right one
    path = set_display_matrix(video_writer(tmp_path / "v.mp4", frames), matrix)
    decoded, times_s, _ = read_video_frames(path)
    expected = shown_as_defined(frames[0, :, :, 0], matrix)
    assert decoded.shape[1:3] == expected.shape
    np.testing.assert_allclose(times_s, np.arange(5) / 25, atol=1e-4)
    for frame in decoded:
        # mpeg4 blurs the edges a little; the bulk of every pixel lands where the matrix says
        assert np.mean(np.abs(frame[..., 0].astype(float) - expected)) < 6.0


@pytest.mark.parametrize(
    "name, matrix",
    [
        ("all zeros (a broken header)", (0, 0, 0, 0, 0, 0, 0, 0, 0)),
        ("45 degrees", (46341, 46341, 0, -46341, 46341, 0, 0, 0, W_ONE)),
    ],
)
def test_a_matrix_that_is_no_quarter_turn_or_mirror_leaves_the_frames_as_stored(
    tmp_path, video_writer, name, matrix
):
    frames = np.zeros((5, 48, 64, 3), dtype=np.uint8)
    frames[:, 6:22, 8:24] = 255
    plain, _, _ = read_video_frames(video_writer(tmp_path / "plain.mp4", frames))
    path = set_display_matrix(video_writer(tmp_path / "v.mp4", frames), matrix)
    decoded, _, _ = read_video_frames(path)
    np.testing.assert_array_equal(decoded, plain)


def test_a_video_that_starts_after_the_audio_keeps_its_offset(tmp_path, video_writer):
    audio = np.zeros(44_100, dtype=np.float32)
    audio[22_050:] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(22_050) / 44_100)  # from 0.5 s
    path = video_writer(
        tmp_path / "v.mp4", moving_bar_frames(10), fps=Fraction(25), start_s=0.4, audio=audio
    )
    _, times_s, _ = read_video_frames(path)
    np.testing.assert_allclose(times_s, 0.4 + np.arange(10) / 25, atol=1e-4)
    sound = read_video_audio(path)
    assert sound.dtype == np.float32 and sound.ndim == 1
    onset_s = np.flatnonzero(np.abs(sound) > 0.1)[0] / 16_000
    assert onset_s == pytest.approx(0.5, abs=0.01)


def test_missing_and_garbage_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_video_frames(tmp_path / "absent.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    with pytest.raises(DataError, match="garbage.mp4"):
        read_video_frames(garbage)
    with pytest.raises(DataError, match="garbage.mp4"):
        read_video_audio(garbage)


def test_an_audio_only_file_has_no_video_stream(tmp_path):
    path = tmp_path / "only_audio.wav"
    sf.write(path, np.zeros(16_000, dtype=np.float32), 16_000)
    with pytest.raises(DataError, match="no video stream"):
        read_video_frames(path)
    assert read_video_audio(path).shape == (16_000,)


def test_a_silent_video_has_no_audio_stream(tmp_path, video_writer):
    path = video_writer(tmp_path / "mute.mp4", moving_bar_frames(5))
    with pytest.raises(DataError, match="no audio stream"):
        read_video_audio(path)
