"""From a video file to 96x96 grayscale mouth crops at 50 fps, aligned with the audio by time.

Steps (after AV-HuBERT's preparation, reference-system.md section 9.1):

1. decode the frames with their timestamps (:mod:`avsvt.lips.io`), find face-mesh landmarks on
   each (:mod:`avsvt.lips.landmarks`) and the cuts to a new shot (:mod:`avsvt.lips.cuts`);
2. within each shot, interpolate gaps up to ``max_gap_s`` linearly in time (longer gaps are
   reported and masked)
3. and smooth the landmarks with a centred moving mean of ``smooth_window_s``;
4. per frame, align the stable points (eye corners, nose tip) to a reference by a similarity
   transform and cut a ``96x96`` grayscale patch centred on the mean of the lip landmarks;
5. resample to 50 fps by time: output frame ``k`` (at ``k / 50`` s on the container axis, the axis
   of :func:`avsvt.lips.io.read_video_audio`) is the crop of the source frame whose timestamp is
   nearest (ties to the earlier frame; no blending, so every output crop is a real frame).

Frames are decoded twice (landmarks, then crops) so memory stays bounded for long videos.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import VIDEO_FPS, VIDEO_MEAN, VIDEO_ROI_SIDE
from avsvt.data.video import read_video
from avsvt.errors import DataError
from avsvt.lips.cuts import detect_cuts, frame_thumbnail, thumbnail_change
from avsvt.lips.geometry import (
    FloatArray,
    crop_transform,
    fill_gaps,
    smooth_landmarks,
)
from avsvt.lips.io import iter_video_frames, video_fps
from avsvt.lips.landmarks import FaceLandmarker, lip_landmark_ids
from avsvt.lips.timing import nearest_frame_indices, output_times_s, source_duration_s
from avsvt.utterances import shot_bounds

logger = logging.getLogger(__name__)

MISSING_GREY = round(VIDEO_MEAN * 255)  # 107: the dataset mean, so a missing crop is "neutral"
"""Pixel value of the crops of frames without a face."""

DEFAULT_MAX_GAP_S = 0.5
DEFAULT_SMOOTH_WINDOW_S = 0.24
"""AV-HuBERT averages 12 trailing frames (0.48 s at 25 fps); a centred window half as long does
not lag behind head movements and still removes the landmark jitter."""


@dataclass(frozen=True)
class LipTrack:
    """Mouth crops of one video at a fixed frame rate.

    Attributes:
        crops: (T, side, side) uint8 grayscale mouth crops; frame ``k`` is at ``k / fps`` s.
        missing: (T,) True where no face was available (those crops are uniform grey).
        gaps_s: ``(start_s, end_s)`` of every stretch without a face longer than the
            interpolation limit, in source time.
        face_found: False when no face was found in any frame (then every crop is missing, and a
            transcriber should fall back to audio only).
        source_fps: Nominal frame rate of the source (50.0 for pre-cropped ``.npy`` videos).
        fps: Frame rate of ``crops``.
        cuts: Crops (indices, sorted, each >= 1) at which a new shot starts
            (:mod:`avsvt.lips.cuts`); empty for a single shot.
    """

    crops: npt.NDArray[np.uint8]
    missing: npt.NDArray[np.bool_]
    gaps_s: tuple[tuple[float, float], ...]
    face_found: bool
    source_fps: float
    fps: float = VIDEO_FPS
    cuts: tuple[int, ...] = ()

    @property
    def n_frames(self) -> int:
        """Number of crops."""
        return int(self.crops.shape[0])

    @property
    def duration_s(self) -> float:
        """Length of the track (s)."""
        return self.n_frames / self.fps


@dataclass(frozen=True)
class VideoScan:
    """What one decoding pass over a video file finds (:func:`scan_video`).

    Attributes:
        landmarks: (T, 468, 2) pixel landmarks, NaN rows where no face was found.
        times_s: (T,) frame times on the container axis.
        fps: The nominal frame rate.
        cut_frames: Source frames (sorted, each >= 1) at which a new shot starts.
    """

    landmarks: FloatArray
    times_s: npt.NDArray[np.float64]
    fps: float
    cut_frames: tuple[int, ...]


def scan_video(path: str | Path, landmarker: FaceLandmarker | None = None) -> VideoScan:
    """Face-mesh landmarks and shot cuts of every frame of a video file, in one decoding pass.

    Args:
        path: A video file.
        landmarker: A reusable :class:`FaceLandmarker` (reset here); a new one when omitted.

    Raises:
        DataError: Unreadable file, no video stream or no frames.
    """
    path = Path(path)
    fps = video_fps(path)
    owned = landmarker is None
    detector = FaceLandmarker() if landmarker is None else landmarker
    detector.reset()
    points: list[FloatArray] = []
    times_s: list[float] = []
    changes: list[float] = []
    previous = None
    try:
        for frame, time_s in iter_video_frames(path):
            points.append(detector.landmarks(frame))
            times_s.append(time_s)
            thumb = frame_thumbnail(frame)
            changes.append(0.0 if previous is None else thumbnail_change(previous, thumb))
            previous = thumb
    finally:
        if owned:
            detector.close()
    if not points:
        raise DataError("the video stream has no frames", path=path)
    return VideoScan(
        np.stack(points),
        np.asarray(times_s, dtype=np.float64),
        fps,
        cut_frames=tuple(detect_cuts(changes)),
    )


def detect_face_landmarks(
    path: str | Path, landmarker: FaceLandmarker | None = None
) -> tuple[FloatArray, npt.NDArray[np.float64], float]:
    """Face-mesh landmarks of every frame of a video file (:func:`scan_video` without the cuts).

    Returns:
        ``(landmarks, timestamps_s, fps)``: (T, 468, 2) pixel landmarks (NaN rows where no face
        was found), (T,) frame times on the container axis, and the nominal frame rate.

    Raises:
        DataError: Unreadable file, no video stream or no frames.
    """
    scan = scan_video(path, landmarker)
    return scan.landmarks, scan.times_s, scan.fps


def mouth_crops_from_landmarks(
    frames: Iterable[npt.NDArray[np.uint8]],
    landmarks: npt.ArrayLike,
    timestamps_s: npt.ArrayLike,
    *,
    source_fps: float,
    fps: float = VIDEO_FPS,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    smooth_window_s: float = DEFAULT_SMOOTH_WINDOW_S,
    side: int = VIDEO_ROI_SIDE,
    lip_ids: tuple[int, ...] | None = None,
    cut_frames: Sequence[int] = (),
) -> LipTrack:
    """Mouth crops at ``fps`` from frames and their landmarks (steps 2-5 of the module doc).

    Args:
        frames: The source frames in order, (H, W, 3) RGB or (H, W) gray uint8; an iterable so
            they can be streamed from the decoder.
        landmarks: (T, N, 2) landmarks per frame (NaN rows where no face was found).
        timestamps_s: (T,) frame times on the container axis.
        source_fps: Nominal source frame rate (reported, and used for the smoothing window).
        fps: Output frame rate.
        max_gap_s: Longest stretch without a face that is interpolated.
        smooth_window_s: Length of the centred moving mean over landmarks.
        side: Crop side in pixels.
        lip_ids: Lip landmark indices; defaults to the face mesh's ``FACEMESH_LIPS``.
        cut_frames: Source frames at which a new shot starts (:class:`VideoScan`): short gaps
            are interpolated and the landmarks smoothed within each shot, and the track's
            ``cuts`` are the first crops of the shots that :func:`avsvt.utterances.shot_bounds`
            keeps (none under 0.5 s).

    Returns:
        The :class:`LipTrack`, with ``round(duration * fps)`` crops where the duration is the last
        timestamp plus one frame interval.
    """
    import cv2

    times = np.asarray(timestamps_s, dtype=np.float64)
    points = np.asarray(landmarks, dtype=np.float64)
    lips = lip_landmark_ids() if lip_ids is None else lip_ids
    face_found = bool((~np.isnan(points).any(axis=(1, 2))).any())
    duration_s = source_duration_s(times)
    if source_fps > 0:
        rate = source_fps
    elif times.size > 1:  # no nominal rate: use the median frame interval
        rate = 1.0 / max(float(np.median(np.diff(times))), 1e-3)
    else:
        rate = VIDEO_FPS
    shots = shot_bounds(cut_frames, len(times), rate, min_shot_s=0.0)  # every detected shot
    reports = [
        fill_gaps(
            points[a:b],
            times[a:b],
            max_gap_s=max_gap_s,
            end_s=float(times[b]) if b < len(times) else duration_s,
        )
        for a, b in zip(shots[:-1], shots[1:], strict=True)
    ]
    window = max(1, round(smooth_window_s * rate))
    smoothed = np.concatenate([smooth_landmarks(r.filled, window) for r in reports])
    missing_source = np.concatenate([r.missing for r in reports])

    out_times = output_times_s(duration_s, fps)
    source_index = nearest_frame_indices(times, out_times)
    # a shot's first crop: the first output frame shown from the shot's first source frame or later
    out_cuts = [int(np.searchsorted(source_index, c)) for c in shots[1:-1]]
    crops = np.full((out_times.size, side, side), MISSING_GREY, dtype=np.uint8)
    missing = missing_source[source_index]
    wanted = set(source_index[~missing].tolist())
    for index, frame in enumerate(frames):
        if index not in wanted:
            continue
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        matrix = crop_transform(smoothed[index], lip_ids=lips, side=side)
        crop = cv2.warpAffine(
            gray, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        crops[source_index == index] = crop
    return LipTrack(
        crops=crops,
        missing=missing,
        gaps_s=tuple(_joined(gap for r in reports for gap in r.gaps_s)),
        face_found=face_found,
        source_fps=float(source_fps),
        fps=float(fps),
        cuts=tuple(shot_bounds(out_cuts, out_times.size, fps)[1:-1]),
    )


def _joined(gaps_s: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Time ranges in order, those that touch (one ends where the next starts) made one."""
    joined: list[tuple[float, float]] = []
    for start_s, end_s in gaps_s:
        if joined and joined[-1][1] == start_s:
            joined[-1] = (joined[-1][0], end_s)
        else:
            joined.append((start_s, end_s))
    return joined


def mouth_crops_from_video(
    path: str | Path,
    *,
    fps: float = VIDEO_FPS,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    smooth_window_s: float = DEFAULT_SMOOTH_WINDOW_S,
    side: int = VIDEO_ROI_SIDE,
    landmarker: FaceLandmarker | None = None,
) -> LipTrack:
    """Grayscale mouth crops at ``fps`` from a raw video file, aligned with its audio by time.

    Crop ``k`` shows the face at ``k / fps`` s on the container axis, the same axis on which
    :func:`avsvt.lips.io.read_video_audio` places audio sample ``k * 16000 / fps``.

    Args:
        path: A video file (mp4, avi, mkv, mpg, ...).
        fps: Output frame rate (50 for the transcriber).
        max_gap_s: Longest stretch without a face that is interpolated; longer ones are reported
            in ``gaps_s`` and masked in ``missing``.
        smooth_window_s: Length of the centred moving mean over landmarks.
        side: Crop side in pixels.
        landmarker: A reusable :class:`FaceLandmarker`; a new one when omitted.

    Returns:
        The :class:`LipTrack`; ``face_found`` is False when no frame has a face (both that and
        the long gaps are logged at DEBUG only: the caller decides how to report them).

    Raises:
        DataError: Unreadable file, no video stream or no frames.
    """
    path = Path(path)
    scan = scan_video(path, landmarker)
    track = mouth_crops_from_landmarks(
        (frame for frame, _ in iter_video_frames(path)),
        scan.landmarks,
        scan.times_s,
        source_fps=scan.fps,
        fps=fps,
        max_gap_s=max_gap_s,
        smooth_window_s=smooth_window_s,
        side=side,
        cut_frames=scan.cut_frames,
    )
    # said at DEBUG only: the track carries it, and its user (``avsvt transcribe``) reports it
    if not track.face_found:
        logger.debug("%s: no face found in any frame; only the audio can be used", path)
    elif track.gaps_s:
        spans = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in track.gaps_s)
        logger.debug("%s: no face during %s (crops masked)", path, spans)
    return track


def lip_track_from_npy(path: str | Path) -> LipTrack:
    """A pre-cropped N20EMv2 mouth video (``video_50fps.npy``) as a :class:`LipTrack`.

    The stored crops are kept as they are (T, H, W) uint8 at 50 fps, with no frame missing.

    Raises:
        DataError: Missing or unreadable file, or not a (T, H>=88, W>=88) uint8 array.
    """
    crops = read_video(path)
    return LipTrack(
        crops=crops,
        missing=np.zeros(crops.shape[0], dtype=bool),
        gaps_s=(),
        face_found=True,
        source_fps=VIDEO_FPS,
        fps=VIDEO_FPS,
    )
