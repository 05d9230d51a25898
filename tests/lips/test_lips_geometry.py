import numpy as np
import pytest

from avsvt.lips.geometry import (
    REFERENCE_STABLE_POINTS,
    STABLE_POINT_IDS,
    apply_transform,
    crop_transform,
    fill_gaps,
    similarity_transform,
    smooth_landmarks,
)


def moving_points(n_frames: int, fps: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    times = np.arange(n_frames) / fps
    base = np.array([[10.0, 20.0], [30.0, 5.0], [50.0, 60.0]])
    velocity = np.array([[3.0, -2.0], [1.0, 4.0], [-5.0, 0.5]])
    return base + velocity * times[:, None, None], times


def test_a_short_gap_is_interpolated_linearly_in_time():
    truth, times = moving_points(25)
    points = truth.copy()
    points[5:9] = np.nan  # 0.20 .. 0.36 s: 0.16 s without a face
    report = fill_gaps(points, times, max_gap_s=0.5)
    np.testing.assert_allclose(report.filled, truth)
    assert not report.missing.any()
    assert report.gaps_s == []


def test_short_gaps_at_the_ends_take_the_nearest_detection():
    truth, times = moving_points(25)
    points = truth.copy()
    points[:3] = np.nan
    points[-2:] = np.nan
    report = fill_gaps(points, times, max_gap_s=0.5)
    np.testing.assert_allclose(report.filled[:3], np.repeat(truth[3:4], 3, axis=0))
    np.testing.assert_allclose(report.filled[-2:], np.repeat(truth[-3:-2], 2, axis=0))
    assert not report.missing.any()


def test_long_gaps_are_reported_as_time_ranges_and_masked():
    truth, times = moving_points(50)  # 2.0 s at 25 fps
    points = truth.copy()
    points[10:30] = np.nan  # 0.4 .. 1.2 s
    points[35:] = np.nan  # 1.4 s .. end (2.0 s)
    report = fill_gaps(points, times, max_gap_s=0.5)
    expected = np.zeros(50, dtype=bool)
    expected[10:30] = True
    expected[35:] = True
    np.testing.assert_array_equal(report.missing, expected)
    assert report.gaps_s == [pytest.approx((0.4, 1.2)), pytest.approx((1.4, 2.0))]
    assert np.isnan(report.filled[report.missing]).all()
    np.testing.assert_allclose(report.filled[~report.missing], truth[~report.missing])


def test_the_gap_limit_is_inclusive_and_configurable():
    truth, times = moving_points(50)
    points = truth.copy()
    points[10:20] = np.nan  # 0.4 s without a face (0.4 .. 0.8)
    assert not fill_gaps(points, times, max_gap_s=0.4).missing.any()
    assert fill_gaps(points, times, max_gap_s=0.3).missing.sum() == 10


def test_no_face_at_all_is_one_gap_over_the_whole_video():
    times = np.arange(10) / 25
    report = fill_gaps(np.full((10, 3, 2), np.nan), times, max_gap_s=100.0)
    assert report.missing.all()
    assert report.gaps_s == [pytest.approx((0.0, 0.4))]


def test_smoothing_keeps_linear_motion_in_the_interior_and_reduces_jitter(rng):
    truth, _ = moving_points(60)
    smoothed = smooth_landmarks(truth, 5)
    np.testing.assert_allclose(smoothed[2:-2], truth[2:-2])
    noisy = truth + rng.normal(0.0, 1.0, truth.shape)
    error_before = np.abs(noisy - truth)[5:-5].mean()
    error_after = np.abs(smooth_landmarks(noisy, 7) - truth)[5:-5].mean()
    assert error_after < 0.6 * error_before


def test_smoothing_does_not_spread_missing_frames():
    truth, _ = moving_points(20)
    points = np.full_like(truth, 5.0)
    points[8:12] = np.nan
    smoothed = smooth_landmarks(points, 7)
    assert np.isnan(smoothed[8:12]).all()
    np.testing.assert_allclose(smoothed[~np.isnan(points).any(axis=(1, 2))], 5.0)


def random_similarity(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(-np.pi, np.pi)
    scale = rng.uniform(0.3, 3.0)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, rng.uniform(-100, 100, (2, 1))])


def test_similarity_transform_recovers_a_known_transform(rng):
    for _ in range(20):
        matrix = random_similarity(rng)
        source = rng.uniform(0, 200, (5, 2))
        estimate = similarity_transform(source, apply_transform(matrix, source))
        np.testing.assert_allclose(estimate, matrix, atol=1e-8)


def test_similarity_transform_never_reflects(rng):
    source = rng.uniform(0, 200, (6, 2))
    mirrored = source * np.array([-1.0, 1.0])
    estimate = similarity_transform(source, mirrored)
    assert np.linalg.det(estimate[:, :2]) > 0


def synthetic_face(matrix: np.ndarray, lip_ids: tuple[int, ...]) -> np.ndarray:
    """468 landmarks: the reference stable points and a mouth 30 px below the nose, moved."""
    canonical = np.zeros((468, 2))
    canonical[list(STABLE_POINT_IDS)] = REFERENCE_STABLE_POINTS
    mouth = np.array([[-20.0, 80.0], [20.0, 80.0], [0.0, 72.0], [0.0, 90.0]])
    canonical[list(lip_ids)] = mouth
    return apply_transform(matrix, canonical)


def test_the_crop_transform_centres_the_lips_and_undoes_rotation_and_scale(rng):
    lip_ids = (61, 291, 0, 17)
    for _ in range(10):
        face = synthetic_face(random_similarity(rng), lip_ids)
        matrix = crop_transform(face, lip_ids=lip_ids, side=96)
        lips = apply_transform(matrix, face[list(lip_ids)])
        np.testing.assert_allclose(lips.mean(axis=0), [48.0, 48.0], atol=1e-6)
        # corners horizontal and 40 px apart: upright, at the reference scale
        np.testing.assert_allclose(lips[1] - lips[0], [40.0, 0.0], atol=1e-6)
