"""Face-landmark geometry: gap filling, temporal smoothing, similarity alignment, crop transforms.

Pure numpy, after AV-HuBERT's ``align_mouth.py`` (reference-system.md section 9.1): interpolate
missing landmarks, smooth them with a moving mean, estimate a similarity transform from stable
points (eye corners, nose tip) to a reference face, and cut a square patch centred on the lips.

Landmarks are arrays of shape (T, N, 2) in pixel coordinates ``(x, y)``; a frame without a face is
all NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avsvt.constants import VIDEO_ROI_SIDE

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# mediapipe face mesh indices (the 468-point topology): outer and inner eye corners, nose tip.
STABLE_POINT_IDS: tuple[int, ...] = (33, 133, 362, 263, 1)
"""Right eye outer/inner corner, left eye inner/outer corner, nose tip (subject's right/left)."""

# Where the stable points go in the reference frame, in pixels of the crop scale: the outer eye
# corners 96 px apart on a horizontal line, inner corners 34 px apart, nose tip 48 px below the
# eye line. A typical mouth (about half the outer-corner distance wide) is then ~50 px wide in a
# 96x96 patch that runs from the nostrils to the chin, like AV-HuBERT's ROIs.
REFERENCE_STABLE_POINTS: FloatArray = np.array(
    [[-48.0, 0.0], [-17.0, 0.0], [17.0, 0.0], [48.0, 0.0], [0.0, 48.0]], dtype=np.float64
)


@dataclass(frozen=True)
class GapReport:
    """Frames where no usable face is available after short gaps are interpolated.

    Attributes:
        filled: (T, N, 2) landmarks with short gaps linearly interpolated (long gaps stay NaN).
        missing: (T,) True for frames inside a long gap (no landmarks).
        gaps_s: ``(start_s, end_s)`` per long gap: from the first missing frame's time to the
            next detected frame's time (or the end of the video).
    """

    filled: FloatArray
    missing: BoolArray
    gaps_s: list[tuple[float, float]]


def _runs(mask: BoolArray) -> list[tuple[int, int]]:
    """Half-open index ranges ``[start, stop)`` of the True runs of a 1-D mask."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def fill_gaps(
    landmarks: npt.ArrayLike,
    timestamps_s: npt.ArrayLike,
    *,
    max_gap_s: float = 0.5,
    end_s: float | None = None,
) -> GapReport:
    """Interpolate short runs of missing landmarks and report the long ones.

    A run of frames without a face lasts from its first frame's time to the time of the next
    detected frame (or ``end_s`` at the end of the video). Runs lasting at most ``max_gap_s`` are
    filled: linearly in time between the detections on both sides, or with the nearest detection
    at the start or end of the video (as AV-HuBERT does). Longer runs stay missing.

    Args:
        landmarks: (T, N, 2) landmarks, all-NaN rows for frames without a face.
        timestamps_s: (T,) increasing frame times in seconds.
        max_gap_s: Longest gap that is interpolated (s).
        end_s: End of the video (s); defaults to the last timestamp plus one frame interval.

    Returns:
        The filled landmarks, the missing-frame mask and the long gaps as time ranges.
    """
    points = np.array(landmarks, dtype=np.float64)
    times = np.asarray(timestamps_s, dtype=np.float64)
    if points.ndim != 3 or points.shape[0] != times.shape[0]:
        raise ValueError(f"landmarks {points.shape} do not match timestamps {times.shape}")
    n_frames = times.shape[0]
    if end_s is None:
        step_s = float(np.median(np.diff(times))) if n_frames > 1 else 0.0
        end_s = float(times[-1] + step_s) if n_frames else 0.0
    absent: BoolArray = np.asarray(np.isnan(points).any(axis=(1, 2)), dtype=bool)
    missing = np.zeros(n_frames, dtype=bool)
    gaps_s: list[tuple[float, float]] = []
    for start, stop in _runs(absent):
        gap_end_s = float(times[stop]) if stop < n_frames else end_s
        if gap_end_s - float(times[start]) > max_gap_s or (start == 0 and stop == n_frames):
            missing[start:stop] = True
            gaps_s.append((float(times[start]), gap_end_s))
        elif start == 0:
            points[start:stop] = points[stop]
        elif stop == n_frames:
            points[start:stop] = points[start - 1]
        else:
            t0, t1 = float(times[start - 1]), float(times[stop])
            if t1 > t0:
                weight = ((times[start:stop] - t0) / (t1 - t0))[:, None, None]
            else:  # repeated timestamps (a broken file): both sides are at once, take the middle
                weight = np.full((stop - start, 1, 1), 0.5)
            points[start:stop] = (1 - weight) * points[start - 1] + weight * points[stop]
    return GapReport(filled=points, missing=missing, gaps_s=gaps_s)


def smooth_landmarks(landmarks: npt.ArrayLike, window_frames: int) -> FloatArray:
    """Centred moving mean over ``window_frames`` frames, ignoring missing (NaN) frames.

    Frames that are missing stay missing, and the mean near a gap or an end uses the frames that
    exist inside the window (no padding, no lag).

    Args:
        landmarks: (T, N, 2) landmarks, all-NaN rows for missing frames.
        window_frames: Window length in frames (1 = no smoothing; even lengths reach one frame
            further into the past).

    Returns:
        (T, N, 2) smoothed landmarks.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if window_frames <= 1 or points.shape[0] == 0:
        return points.copy()
    present: BoolArray = np.asarray(~np.isnan(points).any(axis=(1, 2)), dtype=bool)
    values = np.where(present[:, None, None], points, 0.0)
    cumulative = np.concatenate([np.zeros((1, *points.shape[1:])), np.cumsum(values, axis=0)])
    counts = np.concatenate([[0], np.cumsum(present)])
    n_frames = points.shape[0]
    index = np.arange(n_frames)
    lo = np.clip(index - window_frames // 2, 0, n_frames)
    hi = np.clip(index - window_frames // 2 + window_frames, 0, n_frames)
    total = cumulative[hi] - cumulative[lo]
    count = (counts[hi] - counts[lo]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed: FloatArray = total / count[:, None, None]
    smoothed[~present] = np.nan
    return smoothed


def similarity_transform(source: npt.ArrayLike, target: npt.ArrayLike) -> FloatArray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping source to target.

    Umeyama's closed form (no reflection).

    Args:
        source: (N, 2) points, N >= 2.
        target: (N, 2) points.

    Returns:
        (2, 3) affine matrix ``A`` with ``target ~= source @ A[:, :2].T + A[:, 2]``.
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ sign @ vt
    variance = float((src_c**2).sum() / len(src))
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance > 0 else 1.0
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def apply_transform(matrix: npt.ArrayLike, points: npt.ArrayLike) -> FloatArray:
    """Apply a (2, 3) affine matrix to (..., 2) points."""
    affine = np.asarray(matrix, dtype=np.float64)
    xy = np.asarray(points, dtype=np.float64)
    result: FloatArray = xy @ affine[:, :2].T + affine[:, 2]
    return result


def crop_transform(
    landmarks: npt.ArrayLike,
    *,
    stable_ids: tuple[int, ...] = STABLE_POINT_IDS,
    reference: npt.ArrayLike = REFERENCE_STABLE_POINTS,
    lip_ids: tuple[int, ...],
    side: int = VIDEO_ROI_SIDE,
) -> FloatArray:
    """The affine map from one frame's pixels to its ``side x side`` mouth crop.

    The stable points are aligned to the reference by a similarity transform (so the face is
    upright and at a fixed scale), then shifted so that the mean of the lip landmarks lands at the
    crop centre ``(side / 2, side / 2)``.

    Args:
        landmarks: (N, 2) landmarks of one frame (pixels).
        stable_ids: Indices of the stable points.
        reference: (len(stable_ids), 2) reference positions of the stable points.
        lip_ids: Indices of the lip landmarks.
        side: Crop side in pixels.

    Returns:
        (2, 3) affine matrix from frame pixels to crop pixels (for ``cv2.warpAffine``).
    """
    points = np.asarray(landmarks, dtype=np.float64)
    matrix = similarity_transform(points[list(stable_ids)], reference)
    lip_centre = apply_transform(matrix, points[list(lip_ids)]).mean(axis=0)
    matrix[:, 2] += side / 2.0 - lip_centre
    return matrix
