from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avsvt.lips.timing import nearest_frame_indices, output_times_s, source_duration_s


def brute_force_is_nearest(source: np.ndarray, wanted: np.ndarray, index: np.ndarray) -> bool:
    distance = np.abs(source[None, :] - wanted[:, None])
    return bool(np.all(np.abs(source[index] - wanted) <= distance.min(axis=1) + 1e-6))


def test_25_to_50_fps_shows_every_frame_twice():
    source = np.arange(75) / 25
    times = output_times_s(source_duration_s(source), 50.0)
    assert times.size == 150
    index = nearest_frame_indices(source, times)
    np.testing.assert_array_equal(index, np.repeat(np.arange(75), 2))


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(30000, 1001), Fraction(60)])
def test_other_rates_take_the_nearest_frame_in_time(fps):
    n_frames = int(10 * fps)
    source = np.arange(n_frames) / float(fps)
    duration_s = source_duration_s(source)
    assert duration_s == pytest.approx(n_frames / float(fps))
    times = output_times_s(duration_s, 50.0)
    assert times.size == round(duration_s * 50)
    index = nearest_frame_indices(source, times)
    assert brute_force_is_nearest(source, times, index)
    # within the source span never further than half a source frame; monotone
    inside = times <= source[-1]
    assert np.all(np.abs(source[index] - times)[inside] <= 0.5 / float(fps) + 1e-9)
    assert np.all(index[~inside] == n_frames - 1)
    assert np.all(np.diff(index) >= 0)


def test_60_fps_drops_one_frame_in_six():
    source = np.arange(120) / 60
    index = nearest_frame_indices(source, output_times_s(2.0, 50.0))
    # output k at k/50 s = frame 1.2 k: nearest is round(1.2 k)
    np.testing.assert_array_equal(index, np.round(np.arange(100) * 1.2).astype(int))
    assert len(set(index.tolist())) == 100


def test_a_start_offset_keeps_frames_at_their_time():
    start_s = 0.5
    source = start_s + np.arange(50) / 25
    times = output_times_s(source_duration_s(source), 50.0)
    assert times.size == round((start_s + 2.0) * 50)
    index = nearest_frame_indices(source, times)
    # before the first frame: the first frame is held
    assert np.all(index[times < start_s] == 0)
    # output frame at start_s + j / 25 s shows source frame j, not frame j + offset
    for j in (0, 7, 49):
        k = round((start_s + j / 25) * 50)
        assert index[k] == j


@settings(max_examples=50, deadline=None)
@given(
    intervals=st.lists(st.floats(0.005, 0.2), min_size=1, max_size=80),
    start_s=st.floats(0.0, 2.0),
)
def test_variable_frame_rate_takes_the_nearest_frame(intervals, start_s):
    source = start_s + np.concatenate([[0.0], np.cumsum(intervals)])
    times = output_times_s(source_duration_s(source), 50.0)
    index = nearest_frame_indices(source, times)
    assert brute_force_is_nearest(source, times, index)


def test_no_source_frames_is_an_error():
    with pytest.raises(ValueError):
        nearest_frame_indices(np.array([]), np.array([0.0]))
