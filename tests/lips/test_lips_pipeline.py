import numpy as np
import pytest

from avsvt.constants import VIDEO_ROI_SIDE
from avsvt.errors import DataError
from avsvt.lips.geometry import REFERENCE_STABLE_POINTS, STABLE_POINT_IDS, apply_transform
from avsvt.lips.pipeline import (
    MISSING_GREY,
    LipTrack,
    lip_track_from_npy,
    mouth_crops_from_landmarks,
)
from avsvt.lips.strip import save_crop_strip
from avsvt.lips.timing import nearest_frame_indices

LIP_IDS = (61, 291, 0, 17)  # corners, top, bottom
MOUTH = np.array([[-20.0, 80.0], [20.0, 80.0], [0.0, 72.0], [0.0, 90.0]])


def face_landmarks(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    angle = np.deg2rad(angle_deg)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = np.hstack([rotation, np.array(shift)[:, None]])
    canonical = np.zeros((468, 2))
    canonical[list(STABLE_POINT_IDS)] = REFERENCE_STABLE_POINTS
    canonical[list(LIP_IDS)] = MOUTH
    return apply_transform(matrix, canonical)


def test_a_tilted_small_face_gives_an_upright_centred_mouth_crop():
    face = face_landmarks(angle_deg=25.0, scale=0.6, shift=(120.0, 70.0))
    frame = np.zeros((240, 320), dtype=np.uint8)
    for x, y in face[[61, 291]]:  # bright dots on the lip corners
        frame[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2] = 255
    n_frames = 5
    track = mouth_crops_from_landmarks(
        [frame] * n_frames,
        np.repeat(face[None], n_frames, axis=0),
        np.arange(n_frames) / 25,
        source_fps=25.0,
        lip_ids=LIP_IDS,
    )
    assert track.crops.shape == (10, VIDEO_ROI_SIDE, VIDEO_ROI_SIDE)
    crop = track.crops[0].astype(float)
    ys, xs = np.mgrid[:VIDEO_ROI_SIDE, :VIDEO_ROI_SIDE]
    for half, expected_x in ((xs < 48, 28.0), (xs >= 48, 68.0)):
        weight = crop * half
        centroid = (np.sum(weight * xs) / weight.sum(), np.sum(weight * ys) / weight.sum())
        # lips centred at (48, 48): corners 20 px either side, 0.5 px above the lip mean
        assert centroid == pytest.approx((expected_x, 47.5), abs=1.5)


def test_crops_follow_the_source_frames_by_time_and_long_gaps_are_grey():
    fps = 30.0
    start_s = 0.3
    n_frames = 60
    times = start_s + np.arange(n_frames) / fps
    face = face_landmarks(0.0, 0.8, (100.0, 60.0))
    landmarks = np.repeat(face[None], n_frames, axis=0)
    landmarks[20:40] = np.nan  # 0.967 .. 1.633 s: a long gap
    frames = [np.full((200, 200, 3), 10 + 3 * i, dtype=np.uint8) for i in range(n_frames)]
    track = mouth_crops_from_landmarks(
        iter(frames), landmarks, times, source_fps=fps, lip_ids=LIP_IDS, max_gap_s=0.5
    )
    duration_s = start_s + n_frames / fps
    assert track.n_frames == round(duration_s * 50)
    expected_source = nearest_frame_indices(times, np.arange(track.n_frames) / 50)
    expected_missing = (expected_source >= 20) & (expected_source < 40)
    np.testing.assert_array_equal(track.missing, expected_missing)
    assert track.gaps_s == (pytest.approx((times[20], times[40])),)
    assert track.face_found
    assert np.all(track.crops[track.missing] == MISSING_GREY)
    shown = track.crops[~track.missing].reshape(int((~track.missing).sum()), -1)
    np.testing.assert_array_equal(shown.min(axis=1), shown.max(axis=1))  # uniform frames
    np.testing.assert_array_equal(shown[:, 0], 10 + 3 * expected_source[~track.missing])


def test_no_landmarks_anywhere_means_no_face():
    n_frames = 10
    track = mouth_crops_from_landmarks(
        [np.zeros((64, 64), dtype=np.uint8)] * n_frames,
        np.full((n_frames, 468, 2), np.nan),
        np.arange(n_frames) / 25,
        source_fps=25.0,
        lip_ids=LIP_IDS,
    )
    assert not track.face_found
    assert track.missing.all()
    assert track.gaps_s == (pytest.approx((0.0, 0.4)),)
    assert np.all(track.crops == MISSING_GREY)


def test_a_pre_cropped_npy_becomes_a_full_track(tmp_path, rng):
    crops = rng.integers(0, 256, (30, 96, 96), dtype=np.uint8)
    np.save(tmp_path / "video_50fps.npy", crops)
    track = lip_track_from_npy(tmp_path / "video_50fps.npy")
    np.testing.assert_array_equal(track.crops, crops)
    assert track.face_found and not track.missing.any() and track.fps == 50.0
    assert track.duration_s == pytest.approx(0.6)
    np.save(tmp_path / "bad.npy", crops.astype(np.float32))
    with pytest.raises(DataError, match="bad.npy"):
        lip_track_from_npy(tmp_path / "bad.npy")


def test_the_crop_strip_is_a_png_with_one_panel_per_crop(tmp_path, rng):
    import matplotlib.image

    crops = rng.integers(0, 256, (40, 96, 96), dtype=np.uint8)
    missing = np.zeros(40, dtype=bool)
    missing[5:9] = True
    track = LipTrack(crops, missing, ((0.1, 0.18),), True, 25.0)
    save_crop_strip(track, tmp_path / "out" / "strip.png", n=6)
    image = matplotlib.image.imread(tmp_path / "out" / "strip.png")
    assert image.shape[1] == pytest.approx(6 * 1.2 * 100, abs=2)
    assert not list((tmp_path / "out").glob(".*tmp*"))
