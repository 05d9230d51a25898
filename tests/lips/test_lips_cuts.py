"""Shot cuts: the adaptive content rule on known change series and on synthetic frames."""

import numpy as np
import pytest

from avsvt.lips.cuts import MIN_CHANGE, detect_cuts, frame_thumbnail, thumbnail_change
from avsvt.lips.pipeline import mouth_crops_from_landmarks


def changes_of(frames: np.ndarray) -> list[float]:
    thumbs = [frame_thumbnail(f) for f in frames]
    return [0.0] + [thumbnail_change(a, b) for a, b in zip(thumbs[:-1], thumbs[1:], strict=True)]


def textured(rng: np.random.Generator, height: int = 96, width: int = 128) -> np.ndarray:
    """A smooth random RGB picture (blocks of 16 px), so that small shifts change it little."""
    blocks = rng.integers(0, 256, (height // 16, width // 16, 3)).astype(np.uint8)
    return np.repeat(np.repeat(blocks, 16, axis=0), 16, axis=1)


def test_a_jump_over_a_quiet_stretch_is_a_cut_and_frame_0_is_not_listed():
    changes = [0.0, 1.0, 0.8, 1.2, 20.0, 0.9, 1.1, 1.0, 0.7]
    assert detect_cuts(changes) == [4]


def test_a_jump_under_the_floor_is_not_a_cut_however_quiet_its_neighbours():
    changes = [0.0, 0.1, 0.1, MIN_CHANGE - 0.5, 0.1, 0.1]
    assert detect_cuts(changes) == []
    assert detect_cuts(changes, min_change=MIN_CHANGE - 1.0) == [3]


def test_a_camera_that_moves_all_the_time_does_not_cut():
    # every frame changes by 12-15 grey levels (a pan), one by 20: not 5x its neighbours
    changes = [0.0] + [12.0 + 3.0 * (k % 2) for k in range(30)]
    changes[15] = 20.0
    assert detect_cuts(changes) == []


def test_two_jumps_closer_than_a_shot_keep_only_the_first():
    changes = [0.0] + [1.0] * 20
    changes[6], changes[8], changes[15] = 30.0, 30.0, 30.0
    assert detect_cuts(changes, min_shot_frames=5) == [6, 15]
    assert detect_cuts(changes, min_shot_frames=2) == [6, 8, 15]


def test_frames_of_two_shots_cut_exactly_where_the_second_starts(rng):
    shot_a, shot_b = textured(rng), textured(rng)
    noise = lambda n: rng.normal(0.0, 2.0, (n, *shot_a.shape))  # noqa: E731 (sensor noise)
    frames = np.concatenate(
        [
            np.clip(shot_a + noise(12), 0, 255),
            np.clip(shot_b + noise(9), 0, 255),
        ]
    ).astype(np.uint8)
    assert detect_cuts(changes_of(frames)) == [12]


def test_a_slow_pan_over_one_picture_is_one_shot(rng):
    wide = np.concatenate([textured(rng, width=256)] * 2, axis=1)
    frames = np.stack([wide[:, 2 * k : 2 * k + 128] for k in range(40)])  # 2 px per frame
    assert detect_cuts(changes_of(frames)) == []


def test_the_track_cuts_map_to_crops_and_each_shot_is_smoothed_alone(rng):
    # 25 fps source, 60 frames; landmarks of a face that jumps 40 px to the right at frame 30
    n, cut = 60, 30
    base = np.stack(
        [rng.uniform(40.0, 90.0, 468), rng.uniform(30.0, 70.0, 468)], axis=1
    )  # (468, 2) x, y
    points = np.repeat(base[None], n, axis=0)
    points[cut:, :, 0] += 40.0
    times = np.arange(n) / 25.0
    frames = [textured(rng, 128, 192) for _ in range(n)]
    whole = mouth_crops_from_landmarks(frames, points, times, source_fps=25.0, cut_frames=[cut])
    assert whole.cuts == (2 * cut,)  # the 50 fps crop shown from source frame 30 on
    # each shot alone gives the same crops as the track cut there: no landmark of one shot
    # reaches the other through the smoothing window
    first = mouth_crops_from_landmarks(frames[:cut], points[:cut], times[:cut], source_fps=25.0)
    second = mouth_crops_from_landmarks(
        frames[cut:], points[cut:], times[cut:] - times[cut], source_fps=25.0
    )
    np.testing.assert_array_equal(whole.crops[: 2 * cut], first.crops)
    np.testing.assert_array_equal(whole.crops[2 * cut :], second.crops)
    uncut = mouth_crops_from_landmarks(frames, points, times, source_fps=25.0)
    assert uncut.cuts == ()
    assert not np.array_equal(uncut.crops[2 * cut - 2 : 2 * cut], first.crops[-2:])


@pytest.mark.parametrize("bad", [0, -3, 40, 99])
def test_cuts_outside_the_video_are_ignored(rng, bad):
    points = np.repeat(rng.uniform(30.0, 90.0, (1, 468, 2)), 40, axis=0)
    frames = [textured(rng, 128, 192) for _ in range(40)]
    track = mouth_crops_from_landmarks(
        frames, points, np.arange(40) / 25.0, source_fps=25.0, cut_frames=[bad]
    )
    assert track.cuts == ()


def test_at_30_fps_a_cut_starts_at_the_first_crop_that_shows_the_new_shot(rng):
    points = np.repeat(rng.uniform(30.0, 90.0, (1, 468, 2)), 90, axis=0)
    frames = [textured(rng, 128, 192) for _ in range(90)]
    track = mouth_crops_from_landmarks(
        frames, points, np.arange(90) / 30.0, source_fps=30.0, cut_frames=[31]
    )
    # crop 50 (1.00 s) shows source frame 30 (1.000 s); crop 51 (1.02 s) is nearest to frame 31
    # (1.033 s, against frame 30 at 1.000 s)
    assert track.cuts == (51,)


def test_a_face_lost_across_a_cut_is_filled_from_its_own_shot(rng):
    n, cut = 60, 30
    base = np.stack([rng.uniform(40.0, 90.0, 468), rng.uniform(30.0, 70.0, 468)], axis=1)
    points = np.repeat(base[None], n, axis=0)
    points[cut:, :, 0] += 40.0
    points[cut - 2 : cut + 3] = np.nan  # 0.2 s without a face, 2 frames before the cut, 3 after
    times = np.arange(n) / 25.0
    frames = [textured(rng, 128, 192) for _ in range(n)]
    track = mouth_crops_from_landmarks(frames, points, times, source_fps=25.0, cut_frames=[cut])
    assert not track.missing.any() and track.gaps_s == ()
    first = mouth_crops_from_landmarks(frames[:cut], points[:cut], times[:cut], source_fps=25.0)
    second = mouth_crops_from_landmarks(
        frames[cut:], points[cut:], times[cut:] - times[cut], source_fps=25.0
    )
    np.testing.assert_array_equal(track.crops, np.concatenate([first.crops, second.crops]))


def test_a_shot_without_any_face_is_a_gap_and_the_shot_before_keeps_its_short_loss_filled(rng):
    n, cut = 60, 30
    points = np.repeat(rng.uniform(30.0, 90.0, (1, 468, 2)), n, axis=0)
    points[24:] = np.nan  # the face is lost 6 frames before the cut and never found again
    frames = [textured(rng, 128, 192) for _ in range(n)]
    track = mouth_crops_from_landmarks(
        frames, points, np.arange(n) / 25.0, source_fps=25.0, cut_frames=[cut]
    )
    # the first shot's last 0.24 s are a short loss at its end (held, as at a video's end);
    # the second shot has no face at all: it is missing, from the cut to the end
    assert track.gaps_s == (pytest.approx((1.2, 2.4)),)
    assert not track.missing[:60].any() and track.missing[60:].all()
    uncut = mouth_crops_from_landmarks(frames, points, np.arange(n) / 25.0, source_fps=25.0)
    assert uncut.gaps_s == (pytest.approx((0.96, 2.4)),)
