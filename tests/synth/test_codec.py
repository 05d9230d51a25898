"""The H.264 round trip the rendered faces can go through (avsvt.synth.codec)."""

from __future__ import annotations

import numpy as np
import pytest

from avsvt.synth.codec import CODED_SHARE, MAX_CRF, MIN_CRF, draw_crf, h264_round_trip


def moving_square(n_frames: int = 30, height: int = 71, width: int = 93) -> np.ndarray:
    """A smooth shaded background with a bright square that moves one pixel per frame."""
    y, x = np.mgrid[0:height, 0:width]
    base = (60 + 80 * (x / width) + 40 * (y / height)).astype(np.float64)
    frames = np.empty((n_frames, height, width, 3), dtype=np.uint8)
    for t in range(n_frames):
        image = base.copy()
        image[20:40, 10 + t : 30 + t] = 220.0
        frames[t] = np.clip(image, 0, 255).astype(np.uint8)[..., None]
    return frames


def test_round_trip_keeps_shape_and_frame_count_for_odd_sizes():
    frames = moving_square()
    out = h264_round_trip(frames, 25.0, 23)
    assert out.shape == frames.shape and out.dtype == np.uint8


def test_round_trip_is_deterministic():
    frames = moving_square()
    assert np.array_equal(h264_round_trip(frames, 30.0, 35), h264_round_trip(frames, 30.0, 35))


def test_a_high_rate_factor_loses_more_than_a_low_one():
    frames = moving_square().astype(np.int64)
    error = {
        crf: np.abs(h264_round_trip(frames.astype(np.uint8), 25.0, crf).astype(np.int64) - frames)
        for crf in (MIN_CRF, MAX_CRF)
    }
    assert error[MIN_CRF].mean() < 2.0  # nearly transparent: gray frames, smooth shading
    assert error[MAX_CRF].mean() > 1.5 * error[MIN_CRF].mean()
    # the moving square is still where it was drawn in the last frame at the low rate factor
    last = h264_round_trip(frames.astype(np.uint8), 25.0, MIN_CRF)[-1, ..., 0].astype(np.float64)
    assert last[25:35, 45:55].mean() > 200 and last[25:35, 5:15].mean() < 120


@pytest.mark.parametrize("seed", [0, 1])
def test_draw_crf_codes_about_the_stated_share_within_the_range(seed):
    rng = np.random.default_rng(seed)
    draws = [draw_crf(rng) for _ in range(2000)]
    coded = [d for d in draws if d is not None]
    assert abs(len(coded) / len(draws) - CODED_SHARE) < 0.05
    assert min(coded) == MIN_CRF and max(coded) == MAX_CRF
